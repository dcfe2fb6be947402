/**
 * Smartlead client options for tests against the local simulator: a tight budget (5 per 500 ms) so limits are
 * exercised quickly, short backoffs, and a breaker that stays closed. The 40 ms margin absorbs event-loop jitter:
 * client and simulator share one busy process.
 */
export const FAST_SMARTLEAD_CLIENT = {
  rateLimit: { maxRequests: 5, perMs: 500, safetyMarginMs: 40 },
  timeoutMs: 2000,
  retry: { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 2000 },
  breaker: { consecutiveFailures: 50, halfOpenAfterMs: 200 },
};
