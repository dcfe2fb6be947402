/**
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
  circuitBreaker,
  handleWhen,
} from 'cockatiel';
import { SmartleadError } from './errors';

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
