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
