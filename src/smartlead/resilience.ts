/**
 * Resilience policy of the Smartlead client: what happens around each HTTP attempt (transport.ts sends it).
 *
 * Per call: retried with exponential backoff and jitter on 5xx, timeouts and network errors, and after the server's
 * Retry-After on 429; 4xx other than 429 are never retried. Per attempt, in this order: the key's local throttle
 * (in-process spacing, and a 429's Retry-After holding back every call with the key; the shared budget is told too,
 * so every other process holds back as well) → the circuit breaker of the
 * organization → the key's shared rate budget (rateBudget.ts: a slot reserved right before sending, shared by every
 * process) → the per-attempt timeout → send.
 *
 * Process-wide registries shared by every SmartleadClient:
 *
 *  - one rate limiter per Smartlead API key (Smartlead limits per key, so two clients holding the same key, e.g.
 *    a sync activity and a pause activity running at once, must share one budget), plus the key's
 *    "blocked until" instant set by a 429's Retry-After;
 *  - one circuit breaker per organization (`limiterKey`), so a Smartlead outage seen by one activity makes every
 *    other call of that organization fail fast instead of piling on.
 *
 * Keys of the maps are hashes: the raw API key is never used as a map key (heap dumps, debug printing).
 */
import { createHash } from 'node:crypto';
import Bottleneck from 'bottleneck';
import {
  CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  DelegateBackoff,
  TaskCancelledError,
  TimeoutPolicy,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  retry,
  timeout,
} from 'cockatiel';
import { recordSmartleadCall, reportCircuitBreakersWith } from '../lib/metrics';
import { SmartleadError, SmartleadRateLimitedError, SmartleadUnavailableError } from './errors';
import { type RateBudget, sleep, waitForBudget } from './rateBudget';

export { sleep } from './rateBudget';

export interface RateLimitOptions {
  /** Requests allowed per window (Smartlead documents 10 per 2 s per key). */
  maxRequests: number;
  perMs: number;
  /**
   * Extra spacing added between two requests, to absorb timer and network jitter so that no window on
   * Smartlead's side ever sees more than `maxRequests`. Default 5 ms.
   */
  safetyMarginMs?: number;
}

/** Subset of winston's Logger the client uses. */
export interface SmartleadLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

export const silentLogger: SmartleadLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface RetryOptions {
  /** Total HTTP attempts per call, first one included. Default 5. */
  maxAttempts?: number;
  /** First backoff delay (5xx/timeout/network). Default 500 ms. */
  initialDelayMs?: number;
  /** Backoff ceiling. Default 20 s. */
  maxDelayMs?: number;
  /**
   * Longest Retry-After the client waits for in-process. A longer one fails the call at once with a
   * SmartleadRateLimitedError carrying `retryAfterMs` (the caller, e.g. a Temporal activity, reschedules).
   * Default 60 s.
   */
  maxRetryAfterMs?: number;
}

export interface BreakerOptions {
  /** Consecutive 5xx/timeout/network failures that open the circuit. Default 5. */
  consecutiveFailures?: number;
  /** How long the circuit stays open before one trial request is let through. Default 30 s. */
  halfOpenAfterMs?: number;
}

export const DEFAULT_RATE_LIMIT: Required<RateLimitOptions> = { maxRequests: 10, perMs: 2000, safetyMarginMs: 5 };
export const DEFAULT_BREAKER: Required<BreakerOptions> = { consecutiveFailures: 5, halfOpenAfterMs: 30_000 };

export function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The per-key budget: requests are spaced evenly (`perMs / maxRequests` + margin), never in bursts. */
export class KeyThrottle {
  readonly limiter: Bottleneck;
  readonly settings: Required<RateLimitOptions>;
  readonly minTimeMs: number;
  private blockedUntilMs = 0;

  constructor(settings: Required<RateLimitOptions>) {
    this.settings = settings;
    this.minTimeMs = Math.ceil(settings.perMs / settings.maxRequests) + settings.safetyMarginMs;
    this.limiter = new Bottleneck({ minTime: this.minTimeMs });
    this.limiter.on('error', () => undefined);
  }

  get blockedUntil(): number {
    return this.blockedUntilMs;
  }

  isBlocked(now = Date.now()): boolean {
    return now < this.blockedUntilMs;
  }

  /** Smartlead said "retry after": nothing is sent with this key before then. */
  block(ms: number): void {
    this.blockedUntilMs = Math.max(this.blockedUntilMs, Date.now() + Math.max(0, ms));
  }

  async waitUntilUnblocked(signal?: AbortSignal): Promise<void> {
    for (let now = Date.now(); now < this.blockedUntilMs; now = Date.now()) {
      await sleep(this.blockedUntilMs - now, signal);
    }
  }
}

/** An organization's circuit breaker, with the bookkeeping cockatiel does not expose (when it opened). */
export class OrgBreaker {
  readonly policy: CircuitBreakerPolicy;
  readonly settings: Required<BreakerOptions>;
  private openedAtMs = 0;
  private settleWaiters: (() => void)[] = [];

  constructor(settings: Required<BreakerOptions>) {
    this.settings = settings;
    this.policy = circuitBreaker(
      handleWhen((e) => e instanceof SmartleadError && ['unavailable', 'timeout', 'network'].includes(e.code)),
      { breaker: new ConsecutiveBreaker(settings.consecutiveFailures), halfOpenAfter: settings.halfOpenAfterMs },
    );
    this.policy.onStateChange((state) => {
      if (state === CircuitState.Open) this.openedAtMs = Date.now();
      if (state !== CircuitState.HalfOpen) {
        const waiters = this.settleWaiters;
        this.settleWaiters = [];
        for (const w of waiters) w();
      }
    });
  }

  get state(): CircuitState {
    return this.policy.state;
  }

  /** Open and still inside its cool-down: a call now must not reach Smartlead. */
  isOpenNow(now = Date.now()): boolean {
    return this.policy.state === CircuitState.Open && now - this.openedAtMs < this.settings.halfOpenAfterMs;
  }

  /** Milliseconds until a trial request will be allowed (0 when not open). */
  remainingOpenMs(now = Date.now()): number {
    return this.isOpenNow(now) ? this.settings.halfOpenAfterMs - (now - this.openedAtMs) : 0;
  }

  /** Resolves once a half-open trial has settled (closed or re-opened). */
  waitForTrial(): Promise<void> {
    if (this.policy.state !== CircuitState.HalfOpen) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }
}

const throttles = new Map<string, KeyThrottle>();
const breakers = new Map<string, OrgBreaker>();

/** The shared throttle of an API key (first caller's settings win for the life of the process). */
export function throttleFor(baseUrl: string, apiKey: string, settings: Required<RateLimitOptions>): KeyThrottle {
  const key = fingerprint('throttle', baseUrl, apiKey);
  let t = throttles.get(key);
  if (t === undefined) {
    t = new KeyThrottle(settings);
    throttles.set(key, t);
  }
  return t;
}

/** The shared breaker of an organization (first caller's settings win for the life of the process). */
export function breakerFor(registryKey: string, settings: Required<BreakerOptions>): { breaker: OrgBreaker; created: boolean } {
  let b = breakers.get(registryKey);
  if (b === undefined) {
    b = new OrgBreaker(settings);
    breakers.set(registryKey, b);
    return { breaker: b, created: true };
  }
  return { breaker: b, created: false };
}

/** Forget every throttle and breaker (tests; or after an organization's credentials change). */
export function resetSmartleadRegistries(): void {
  for (const t of throttles.values()) void t.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  throttles.clear();
  breakers.clear();
}

// ---------------------------------------------------------------------------------------------------------
// The policy around each call
// ---------------------------------------------------------------------------------------------------------

const REQUEUE = Symbol('requeue');

export interface SharedBudgetOptions {
  store: RateBudget;
  /** Longest wait for a slot before the attempt fails as rate limited (retryable). Default 5 s, under the shortest heartbeat timeout. */
  maxWaitMs?: number;
}

export interface PolicyOptions {
  throttle: KeyThrottle;
  breaker: OrgBreaker;
  budget?: SharedBudgetOptions;
  /** Names the key in the shared budget (see RateBudget.reserve). */
  keyFingerprint: string;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  logger: SmartleadLogger;
  limiterKey?: string;
}

/** What the policy needs to know of a request: where it goes and how to cancel it. */
export interface Attempt {
  method: string;
  path: string;
  signal?: AbortSignal;
}

export class ResiliencePolicy {
  private readonly timeoutPolicy: TimeoutPolicy;

  constructor(private readonly o: PolicyOptions) {
    this.timeoutPolicy = timeout(o.timeoutMs, TimeoutStrategy.Aggressive);
  }

  get breaker(): OrgBreaker {
    return this.o.breaker;
  }

  /** Runs `send` under the policy: retries, throttle, breaker, shared budget, timeout. */
  async execute<T>(request: Attempt, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const rs = this.o.retry;
    const policy = retry(
      handleWhen((e) => this.isRetryable(e)),
      {
        maxAttempts: rs.maxAttempts - 1,
        backoff: new DelegateBackoff((ctx) => {
          const err = 'error' in ctx.result ? ctx.result.error : undefined;
          if (err instanceof SmartleadRateLimitedError) {
            // The key is blocked until Retry-After anyway; a little jitter keeps waiters from aligning.
            return err.retryAfterMs + Math.floor(Math.random() * Math.min(250, this.o.throttle.minTimeMs));
          }
          const ceiling = Math.min(rs.maxDelayMs, rs.initialDelayMs * 2 ** (ctx.attempt - 1));
          return Math.round(ceiling / 2 + Math.random() * (ceiling / 2)); // "equal jitter"
        }),
      },
    );
    policy.onRetry((event) => {
      const err = 'error' in event ? event.error : undefined;
      this.o.logger.warn('Smartlead call failed, retrying', {
        method: request.method,
        path: request.path,
        code: err instanceof SmartleadError ? err.code : undefined,
        status: err instanceof SmartleadError ? err.status : undefined,
        attempt: event.attempt,
        delayMs: event.delay,
        ...(this.o.limiterKey !== undefined ? { limiterKey: this.o.limiterKey } : {}),
      });
    });
    let attempts = 0;
    const run = policy.execute(() => {
      attempts += 1;
      return this.attempt(request, send);
    }, request.signal);
    try {
      // cockatiel's backoff sleep ignores the signal: race it so a cancelled call settles at once
      // (the retry loop then stops at its next attempt without sending anything).
      return await raceAbort(run, request.signal);
    } catch (err) {
      if (err instanceof SmartleadError) err.attempts = attempts;
      throw err;
    }
  }

  private isRetryable(e: Error): boolean {
    if (!(e instanceof SmartleadError) || !e.retryable) return false;
    if (e.code === 'circuit_open') return false; // fail fast: retrying cannot help before the cool-down
    if (e instanceof SmartleadRateLimitedError && e.retryAfterMs > this.o.retry.maxRetryAfterMs) return false;
    return true;
  }

  /** One HTTP attempt: wait for the key's local throttle, pass the breaker, take the shared budget's slot, send under the timeout. */
  private async attempt<T>(request: Attempt, send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const { method, path, signal } = request;
    const { throttle, breaker, budget } = this.o;
    for (;;) {
      if (breaker.isOpenNow()) throw this.circuitOpenError(method, path);
      await throttle.waitUntilUnblocked(signal);
      const outcome = await throttle.limiter.schedule(async (): Promise<T | typeof REQUEUE> => {
        // Decided at the moment of sending, not of queueing.
        if (throttle.isBlocked()) return REQUEUE;
        if (signal?.aborted) throw signal.reason;
        if (breaker.isOpenNow()) throw this.circuitOpenError(method, path);
        if (breaker.state === CircuitState.HalfOpen) return REQUEUE; // one trial at a time
        if (budget !== undefined) {
          // Last step before sending, so the slot is the moment the request leaves (every attempt takes one).
          await waitForBudget(budget.store, this.o.keyFingerprint, { method, path }, budget.maxWaitMs ?? 5000, signal);
          if (throttle.isBlocked() || breaker.isOpenNow() || (breaker.state as CircuitState) === CircuitState.HalfOpen) return REQUEUE; // slot spent unused: conservative
        }
        try {
          return await breaker.policy.execute(async () => {
            try {
              return await this.timeoutPolicy.execute(({ signal: attemptSignal }) => observedCall(method, path, () => send(attemptSignal)), signal);
            } catch (err) {
              // Mapped inside the breaker so that timeouts count as failures.
              // (cockatiel 3.2.1's isTaskCancelledError() is broken: test the class.)
              if (err instanceof TaskCancelledError && signal?.aborted !== true) {
                throw new SmartleadUnavailableError(`Smartlead ${method} ${path} timed out after ${this.o.timeoutMs} ms`, 'timeout', { method, path });
              }
              throw err;
            }
          }, signal);
        } catch (err) {
          if (isBrokenCircuitError(err)) throw this.circuitOpenError(method, path);
          if (signal?.aborted === true) throw signal.reason;
          if (err instanceof SmartleadRateLimitedError && err.status === 429) {
            // A 429 holds back every call made with this key until Retry-After: in this process at once, and in every
            // process through the shared budget. If recording it there fails, this process's hold still stands.
            throttle.block(err.retryAfterMs);
            await budget?.store.hold?.(this.o.keyFingerprint, err.retryAfterMs).catch((holdError: unknown) =>
              this.o.logger.warn('Smartlead 429: recording the hold in the shared budget failed', { method, path, error: String(holdError) }),
            );
          }
          throw err;
        }
      });
      if (outcome !== REQUEUE) return outcome;
      if (breaker.state === CircuitState.HalfOpen) await breaker.waitForTrial();
    }
  }

  private circuitOpenError(method: string, path: string): SmartleadUnavailableError {
    const { breaker } = this.o;
    const seconds = Math.ceil(breaker.remainingOpenMs() / 1000);
    return new SmartleadUnavailableError(
      `Smartlead ${method} ${path} not sent: Smartlead failed ${breaker.settings.consecutiveFailures} times in a row, ` +
        `so calls are paused (circuit open) for about ${seconds}s more`,
      'circuit_open',
      { method, path },
    );
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  promise.catch(() => undefined); // settled later by the retry loop; never unhandled
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Every HTTP request the client sends passes through here (one attempt; the rate-limit wait is not timed):
 * its method, endpoint template, status (or error code) and latency go to drason_smartlead_calls_total and
 * drason_smartlead_call_duration_seconds (src/lib/metrics.ts).
 */
export async function observedCall<T>(method: string, path: string, send: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    const result = await send();
    recordSmartleadCall(method, path, 200, seconds());
    return result;
  } catch (err) {
    // No answer: `aborted` is the attempt's timeout (or the caller cancelling).
    recordSmartleadCall(method, path, err instanceof SmartleadError ? (err.status ?? err.code) : 'aborted', seconds());
    throw err;
  }
}

function breakerStateCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const b of breakers.values()) {
    const state = b.state === CircuitState.Open ? 'open' : b.state === CircuitState.HalfOpen ? 'half_open' : b.state === CircuitState.Isolated ? 'isolated' : 'closed';
    counts[state] = (counts[state] ?? 0) + 1;
  }
  return counts;
}
reportCircuitBreakersWith(breakerStateCounts);
