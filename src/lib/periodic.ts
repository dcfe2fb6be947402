/**
 * A background pass run every `intervalMs` in the worker process: passes never overlap (each waits for the
 * previous), a failed pass is logged and the next one runs anyway, and `stop()` waits for the pass in flight.
 */
import type { Logger } from 'winston';

export interface Periodic {
  stop(): Promise<void>;
}

export function startPeriodic(name: string, intervalMs: number, pass: () => Promise<unknown>, log: Logger): Periodic {
  let stopped = false;
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(pass).catch((error: unknown) => log.warn(`${name} pass failed`, { error: String(error) }));
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
