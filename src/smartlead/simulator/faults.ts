/**
 * Fault injection and the simulator's own rate limit.
 *
 * A fault applies to the next `count` API requests matching its (optional) method and path pattern; the oldest
 * matching fault is consumed first. Paths are matched against the API path without the `/api/v1` prefix and
 * without query string, e.g. `/campaigns/1001/leads`. A string pattern is a regular expression source.
 *
 * `drop_after_commit` is the fault behind double-adds: the request is processed (Smartlead commits it) and then
 * its answer is lost, the way a gateway 502, a reset connection or a client timeout loses it. A retrying client
 * sends again something that already happened.
 */

export type FaultKind = 'rate_limit' | 'server_error' | 'hang' | 'latency' | 'malformed' | 'drop_after_commit';

const FAULT_KINDS: readonly FaultKind[] = ['rate_limit', 'server_error', 'hang', 'latency', 'malformed', 'drop_after_commit'];

export interface FaultSpec {
  kind: FaultKind;
  /** How many matching requests it applies to (default 1); `'always'` until cleared. */
  count?: number | 'always';
  /** Only requests whose path matches (RegExp, or a RegExp source string). */
  path?: string | RegExp;
  /** Only this HTTP method. */
  method?: string;
  /** rate_limit: Retry-After in seconds (default 1). */
  retryAfterSeconds?: number;
  /** rate_limit: send Retry-After as an HTTP date instead of seconds. */
  retryAfterAsDate?: boolean;
  /**
   * server_error: status (default 500).
   * drop_after_commit: answer this status (e.g. 502) instead of the real response; unset: reset the connection.
   */
  status?: number;
  /**
   * latency: added delay; hang: respond 504 after this long (default: never, until the client gives up);
   * drop_after_commit: hold the lost response this long first (longer than the client's timeout: it times out).
   */
  delayMs?: number;
  /** server_error / malformed: raw response body to send instead of the default. */
  body?: string;
}

export interface ActiveFault extends Required<Pick<FaultSpec, 'kind'>> {
  id: number;
  spec: FaultSpec;
  remaining: number;
  matcher: RegExp | null;
  hits: number;
}

export class FaultInjector {
  private readonly faults: ActiveFault[] = [];
  private nextId = 1;

  /** Queue a fault. Returns its id (for `remove`). */
  inject(spec: FaultSpec): number {
    if (!FAULT_KINDS.includes(spec.kind)) throw new Error(`unknown fault kind ${String(spec.kind)}`);
    const count = spec.count ?? 1;
    const remaining = count === 'always' ? Number.POSITIVE_INFINITY : Math.floor(count);
    if (!(remaining >= 1)) throw new Error('fault count must be >= 1 or "always"');
    const matcher = spec.path === undefined ? null : spec.path instanceof RegExp ? spec.path : new RegExp(spec.path);
    const id = this.nextId++;
    this.faults.push({ id, kind: spec.kind, spec: { ...spec }, remaining, matcher, hits: 0 });
    return id;
  }

  /** Shorthands. */
  rateLimit(count: number | 'always' = 1, opts: Omit<FaultSpec, 'kind' | 'count'> = {}): number {
    return this.inject({ kind: 'rate_limit', count, ...opts });
  }
  serverError(count: number | 'always' = 1, opts: Omit<FaultSpec, 'kind' | 'count'> = {}): number {
    return this.inject({ kind: 'server_error', count, ...opts });
  }
  hang(count: number | 'always' = 1, opts: Omit<FaultSpec, 'kind' | 'count'> = {}): number {
    return this.inject({ kind: 'hang', count, ...opts });
  }
  latency(delayMs: number, count: number | 'always' = 1, opts: Omit<FaultSpec, 'kind' | 'count' | 'delayMs'> = {}): number {
    return this.inject({ kind: 'latency', count, delayMs, ...opts });
  }
  /** Process the request, then lose the answer (`status`: answer that instead; unset: reset the connection). */
  dropAfterCommit(count: number | 'always' = 1, opts: Omit<FaultSpec, 'kind' | 'count'> = {}): number {
    return this.inject({ kind: 'drop_after_commit', count, ...opts });
  }

  remove(id: number): boolean {
    const i = this.faults.findIndex((f) => f.id === id);
    if (i < 0) return false;
    this.faults.splice(i, 1);
    return true;
  }

  clear(): void {
    this.faults.length = 0;
  }

  list(): { id: number; kind: FaultKind; remaining: number | 'always'; hits: number; path?: string; method?: string }[] {
    return this.faults.map((f) => ({
      id: f.id,
      kind: f.kind,
      remaining: Number.isFinite(f.remaining) ? f.remaining : 'always',
      hits: f.hits,
      ...(f.matcher !== null ? { path: f.matcher.source } : {}),
      ...(f.spec.method !== undefined ? { method: f.spec.method.toUpperCase() } : {}),
    }));
  }

  /** Consume the first fault matching this request, if any. */
  take(method: string, path: string): ActiveFault | undefined {
    for (let i = 0; i < this.faults.length; i += 1) {
      const f = this.faults[i];
      if (f === undefined) continue;
      if (f.spec.method !== undefined && f.spec.method.toUpperCase() !== method.toUpperCase()) continue;
      if (f.matcher !== null) {
        f.matcher.lastIndex = 0;
        if (!f.matcher.test(path)) continue;
      }
      f.remaining -= 1;
      f.hits += 1;
      if (f.remaining <= 0) this.faults.splice(i, 1);
      return f;
    }
    return undefined;
  }
}

export interface SimRateLimit {
  maxRequests: number;
  perMs: number;
}

/**
 * Sliding-window limiter per API key: a request is over the limit when `maxRequests` requests with the same key
 * already arrived in the preceding `perMs` milliseconds. Every arrival counts (including those answered 429),
 * which is how a client that ignores 429s stays locked out.
 */
export class SlidingWindowLimiter {
  private readonly arrivals = new Map<string, number[]>();

  constructor(public config: SimRateLimit | null) {}

  /** Record an arrival; returns whether it is over the limit and, if so, how long until a slot frees up. */
  arrive(key: string, at: number): { over: boolean; inWindow: number; retryAfterMs: number; remaining: number; resetAt: number } {
    const cfg = this.config;
    const list = this.arrivals.get(key) ?? [];
    if (cfg === null) {
      return { over: false, inWindow: 0, retryAfterMs: 0, remaining: Number.MAX_SAFE_INTEGER, resetAt: at };
    }
    const from = at - cfg.perMs;
    let drop = 0;
    while (drop < list.length && (list[drop] ?? 0) <= from) drop += 1;
    if (drop > 0) list.splice(0, drop);
    const inWindow = list.length;
    const over = inWindow >= cfg.maxRequests;
    const oldest = list[0] ?? at;
    list.push(at);
    this.arrivals.set(key, list);
    const retryAfterMs = over ? Math.max(1, (list[list.length - cfg.maxRequests] ?? oldest) + cfg.perMs - at) : 0;
    return {
      over,
      inWindow,
      retryAfterMs,
      remaining: Math.max(0, cfg.maxRequests - inWindow - 1),
      resetAt: oldest + cfg.perMs,
    };
  }

  reset(): void {
    this.arrivals.clear();
  }
}
