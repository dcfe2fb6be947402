/** Smartlead integration: typed client, errors, response/webhook schemas. The simulator lives in ./simulator. */
export * from './client';
export * from './errors';
export * from './schemas';
export { DEFAULT_BREAKER, DEFAULT_RATE_LIMIT, resetSmartleadRegistries } from './resilience';
export { SMARTLEAD_STANDARD_PLAN, windowsOf } from './rateBudget';
export type { BudgetWaitOutcome, RateBudget, RateWindow, RequestsPerMinute } from './rateBudget';
export type { BreakerOptions, RateLimitOptions } from './resilience';
