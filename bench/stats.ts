/** Small numeric helpers shared by the load client and the scenarios. */

export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Nearest-rank percentiles of `values` (not modified), rounded to 0.01. */
export function distribution(values: ArrayLike<number>): Distribution {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const at = (p: number): number => sorted[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, p50: round2(at(50)), p90: round2(at(90)), p99: round2(at(99)), max: round2(sorted[n - 1]!), mean: round2(sum / n) };
}

/** A growable list of numbers that never holds more than `cap` (later values are counted but not kept). */
export class Samples {
  private values: number[] = [];
  dropped = 0;
  constructor(private readonly cap = 5_000_000) {}
  push(v: number): void {
    if (this.values.length < this.cap) this.values.push(v);
    else this.dropped += 1;
  }
  pushAll(vs: Iterable<number>): void {
    for (const v of vs) this.push(v);
  }
  get length(): number {
    return this.values.length;
  }
  summary(): Distribution {
    return distribution(this.values);
  }
  clear(): void {
    this.values = [];
    this.dropped = 0;
  }
}

/** Calls `each(0 … count-1)`, each index once, with at most `concurrency` calls in flight. */
export async function forEachConcurrently(count: number, concurrency: number, each: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) await each(i);
    }),
  );
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, timeoutMs: number, everyMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}
