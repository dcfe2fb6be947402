/**
 * A production worker process for the end-to-end scenario: exactly what `node dist/src/workers/worker.js` runs
 * (startWorkerComponent with the settings parsed from the environment), plus the relay's instrumentation callbacks,
 * whose per-process totals it reports over IPC so the bench can tell which process did relay work.
 */
import { config } from '../src/config';
import { relaySignals } from '../src/lib/metrics';
import { startWorkerComponent } from '../src/workers/components';
import { runMain } from '../src/workers/main';
import { externalSettings } from '../src/workers/settings';

export interface WorkerStats {
  pid: number;
  /** Events this process's relay counted into the window counters. */
  counted: number;
  /** Bounces and failures this process's relay signalled. */
  signalledEvents: number;
  /** Signals it sent (drason_relay_signals_total{outcome="delivered"}). */
  signals: number;
}

export type FromWorker = { type: 'ready' } | { type: 'stats'; stats: WorkerStats };

const stats: WorkerStats = { pid: process.pid, counted: 0, signalledEvents: 0, signals: 0 };

runMain('bench-worker', async () => {
  const handle = await startWorkerComponent(externalSettings(config()), {
    relay: {
      onCounted: (received) => {
        stats.counted += received.length;
      },
      onSignalled: (received) => {
        stats.signalledEvents += received.length;
      },
    },
  });
  process.send?.({ type: 'ready' } satisfies FromWorker);
  return handle;
});

process.on('message', (m: { type: string }) => {
  if (m.type !== 'stats') return;
  void relaySignals.get().then((metric) => {
    stats.signals = metric.values.filter((v) => v.labels.outcome === 'delivered').reduce((n, v) => n + v.value, 0);
    process.send?.({ type: 'stats', stats } satisfies FromWorker);
  });
});
// The bench went away (or is done with us): stop in order, as on SIGTERM. A second SIGTERM must not cut that
// short (runMain listens once), so one more listener keeps Node's default (exit at once) away.
process.on('SIGTERM', () => undefined);
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
