/**
 * Concurrent calls with the same key share the call already in flight instead of starting another: under load,
 * many requests carry the same API key or webhook token, and one lookup answers them all. Nothing is cached: the
 * next call after the shared one settles looks up afresh, so a revocation reaches every request that starts after
 * the lookup in flight (at most that one lookup's round trip late).
 */
export class SingleFlight<T> {
  private readonly inFlight = new Map<string, Promise<T>>();

  run(key: string, call: () => Promise<T>): Promise<T> {
    const shared = this.inFlight.get(key);
    if (shared !== undefined) return shared;
    const started = call().finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, started);
    return started;
  }
}
