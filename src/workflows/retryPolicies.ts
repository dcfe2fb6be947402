/** Activity retry policies shared by workflows (pure: safe to bundle into workflow code). */
import type { RetryPolicy } from '@temporalio/common';

/** Smartlead failure types that retrying cannot fix (see src/activities/smartlead.ts for the safe path of each). */
export const SMARTLEAD_NON_RETRYABLE = [
  'SmartleadNotConfigured',
  'SmartleadIntegrationBroken',
  'SmartleadAuthError',
  'SmartleadNotFoundError',
  'SmartleadBadRequestError',
  'SmartleadResponseError',
];

/** Smartlead calls: back off from 5 s to 5 min; a 429's Retry-After overrides the next delay. */
export const smartleadRetry: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '5 minutes',
  maximumAttempts: 8,
  nonRetryableErrorTypes: SMARTLEAD_NON_RETRYABLE,
};

/**
 * The mailbox engine's one action per decision (src/activities/mailboxEngine.ts): retried until it is carried out,
 * 5 s doubling to 1 min, a 429's Retry-After first. The cap is short on purpose: a pause is protective, so after a
 * Smartlead outage it goes through within a minute of Smartlead answering again (with a 5-minute cap, a minute of
 * failures left the next attempt up to 5 minutes away). One attempt a minute per mailbox is far inside Smartlead's
 * budget of 10 requests per 2 s. No attempt limit: the activity is exactly-once by decision id,
 * and what retrying cannot fix (no Smartlead link, a broken integration, an account gone) it records as `impossible`
 * instead of failing. The Smartlead client inside sends each request once, so retries live in this one layer.
 */
export const mailboxActionRetry: RetryPolicy = {
  initialInterval: '5 seconds',
  backoffCoefficient: 2,
  maximumInterval: '1 minute',
  nonRetryableErrorTypes: SMARTLEAD_NON_RETRYABLE,
};
