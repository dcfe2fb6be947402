/**
 * The shared rate budget of a Smartlead API key (decision 016): one budget per key for every worker process,
 * kept outside the process (PostgreSQL, `drason_smartlead_take_budget`, migration 014). The client reserves a slot
 * right before each HTTP attempt (retries included), waits until that slot, then sends.
 *
 * The budget is a set of sliding windows, e.g. Smartlead's standard plan: 60 per 60 s and 10 per 1 s. A slot is the
 * earliest instant at which every window still has room counting every earlier slot of the key, so no window of
 * Smartlead's (or the simulator's) sees more than its limit, however many processes share the key.
 *
 * This module knows nothing of PostgreSQL: the store is a `RateBudget` handed in by the caller
 * (src/activities/smartlead.ts builds it on the organization's tenant transaction).
 */
import { SmartleadRateLimitedError } from './errors';

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** At most `maxRequests` in any window of `perMs` milliseconds. */
export interface RateWindow {
  maxRequests: number;
  perMs: number;
}

/** An integration's budget as the API takes it: Smartlead's own terms. */
export interface RequestsPerMinute {
  requestsPerMinute: number;
  /** Requests in any one second. */
  burst: number;
}

/** Smartlead's standard plan (60 a minute, bursts of 10 a second): the default of an integration that sets none. */
export const SMARTLEAD_STANDARD_PLAN: Readonly<RequestsPerMinute> = Object.freeze({ requestsPerMinute: 60, burst: 10 });

export function windowsOf(budget: RequestsPerMinute): RateWindow[] {
  return [
    { maxRequests: budget.requestsPerMinute, perMs: 60_000 },
    { maxRequests: budget.burst, perMs: 1000 },
  ];
}

export type BudgetWaitOutcome = 'granted' | 'refused' | 'cancelled';

/** Where the slots of one key are kept. */
export interface RateBudget {
  /**
   * Reserve the next slot for one request with the key `keyFingerprint` names (a hash of base URL and key, so a
   * rotated key starts with a fresh budget): `granted` with how long until it (0 = now), or not granted when the slot
   * is more than `maxWaitMs` away (nothing is reserved then; `waitMs` says how far it is).
   */
  reserve(keyFingerprint: string, maxWaitMs: number): Promise<{ granted: boolean; waitMs: number }>;
  /**
   * Smartlead answered 429: no slot of the key is granted for `holdMs` from now, in any process (a longer hold
   * already recorded stands). Optional: a store without it leaves the hold to the process that saw the 429.
   */
  hold?(keyFingerprint: string, holdMs: number): Promise<void>;
  /** Told once per request how long it waited and how that ended (metrics). */
  observe?(waitedMs: number, outcome: BudgetWaitOutcome): void;
}

/**
 * Waits for this request's slot. Refused (the slot is over `maxWaitMs` away): SmartleadRateLimitedError carrying
 * the wait, so the caller (the retry policy, or Temporal) comes back then. Cancelled with `signal`: its reason.
 */
export async function waitForBudget(
  budget: RateBudget,
  keyFingerprint: string,
  request: { method: string; path: string },
  maxWaitMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (signal?.aborted) throw signal.reason;
  const started = Date.now();
  const slot = await budget.reserve(keyFingerprint, maxWaitMs);
  if (!slot.granted) {
    budget.observe?.(Date.now() - started, 'refused');
    throw new SmartleadRateLimitedError(
      `Smartlead ${request.method} ${request.path} not sent: Drason's shared rate budget for this API key has no slot in the next ` +
        `${Math.ceil(maxWaitMs / 1000)}s (next in ${Math.ceil(slot.waitMs / 1000)}s)`,
      Math.ceil(slot.waitMs),
      request,
    );
  }
  try {
    if (slot.waitMs > 0) await sleep(slot.waitMs, signal);
  } catch (err) {
    budget.observe?.(Date.now() - started, 'cancelled');
    throw err;
  }
  budget.observe?.(Date.now() - started, 'granted');
}
