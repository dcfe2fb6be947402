/**
 * Scenario `temporal-store`: what one bounce costs the embedded Temporal dev server, by how its SQLite file is
 * journaled (docs/decisions/018-temporal-sqlite-wal.md). For each store, a fresh dev server and a worker running
 * `signalCycleWorkflow` (a signal, one local activity in that workflow task, wait again: Temporal's part of a mailbox
 * workflow taking a bounce) on 1,000 workflows; then N signals from 32 callers, and the clock stops when the worker has
 * handled every one. Stores, run in turn, `rounds` times each (the machine's run-to-run spread is wide):
 *   - the file journaled write-ahead, as `npm start` runs it (`SQLITE_PRAGMAS`): the value;
 *   - the file with SQLite's default rollback journal, as `npm start` ran it before: the baseline;
 *   - in memory, as the tests run it: for reference.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { SQLITE_PRAGMAS, startEmbeddedTemporal } from '../../../src/embedded/temporal';
import { freePort } from '../../../test/support/ports';
import { CpuMeter } from '../../cpu';
import { fmt, type Row, type ScenarioReport } from '../../report';
import type { Cleanup } from '../../stack';
import { forEachConcurrently, waitFor } from '../../stats';

export interface TemporalStoreOptions {
  signals: number;
  workflows: number;
  callers: number;
  rounds: number;
}

export const TEMPORAL_STORE_DEFAULTS: TemporalStoreOptions = { signals: 2000, workflows: 1000, callers: 32, rounds: 2 };

type Store = 'wal' | 'rollback' | 'memory';
const STORES: { store: Store; name: string }[] = [
  { store: 'rollback', name: 'file, rollback journal (SQLite default; `npm start` before)' },
  { store: 'wal', name: 'file, write-ahead log (`npm start` now)' },
  { store: 'memory', name: 'in memory (the tests)' },
];

interface Measured {
  store: Store;
  /** Signals acknowledged per second while they were sent. */
  signalsPerSecond: number;
  /** Signals handled per second, first signal sent to last local activity run. */
  cyclesPerSecond: number;
  temporalCpuMsPerCycle: number;
  workerCpuMsPerCycle: number;
}

async function measure(store: Store, bundle: WorkflowBundleWithSourceMap, o: TemporalStoreOptions, cleanup: Cleanup): Promise<Measured> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-bench-temporal-'));
  cleanup.add(`temporary folder (${store})`, async () => fs.rmSync(dir, { recursive: true, force: true }));
  const temporal = await startEmbeddedTemporal({
    port: await freePort(),
    namespace: 'default',
    headless: true,
    ...(store === 'memory' ? {} : { dataDir: dir, sqlitePragmas: store === 'wal' ? SQLITE_PRAGMAS : [] }),
  });
  try {
    const connection = await NativeConnection.connect({ address: temporal.address });
    let handled = 0;
    const worker = await Worker.create({
      connection,
      taskQueue: 'temporal-store',
      workflowBundle: bundle,
      activities: { handled: async (n: number) => void (handled += n) },
    });
    const running = worker.run();
    try {
      const client = new Client({ connection });
      const ids = Array.from({ length: o.workflows }, (_, i) => `cycle-${i}`);
      await forEachConcurrently(o.workflows, o.callers, (i) => client.workflow.start('signalCycleWorkflow', { taskQueue: 'temporal-store', workflowId: ids[i]! }));
      // Each workflow's first signal, not measured: steady state, every workflow running and cached.
      await forEachConcurrently(o.workflows, o.callers, (i) => client.workflow.getHandle(ids[i]!).signal('tick', -1));
      await waitFor('the warm-up signals to be handled', 120_000, 20, async () => (handled >= o.workflows ? true : undefined));
      handled = 0;

      const meter = new CpuMeter(() => ({ temporal: [temporal.process.pid!], worker: [process.pid] }));
      meter.start();
      const began = performance.now();
      await forEachConcurrently(o.signals, o.callers, (i) => client.workflow.getHandle(ids[i % o.workflows]!).signal('tick', i));
      const sentMs = performance.now() - began;
      await waitFor('every signal to be handled', 300_000, 5, async () => (handled >= o.signals ? true : undefined));
      const doneMs = performance.now() - began;
      const cpu = meter.stop();
      return {
        store,
        signalsPerSecond: (o.signals * 1000) / sentMs,
        cyclesPerSecond: (o.signals * 1000) / doneMs,
        temporalCpuMsPerCycle: ((cpu.seconds.temporal ?? 0) * 1000) / o.signals,
        workerCpuMsPerCycle: ((cpu.seconds.worker ?? 0) * 1000) / o.signals,
      };
    } finally {
      worker.shutdown();
      await running;
      await connection.close();
    }
  } finally {
    await temporal.stop(); // its folder goes with the scenario's cleanup
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runTemporalStore(o: TemporalStoreOptions, cleanup: Cleanup): Promise<ScenarioReport> {
  const bundle = await bundleWorkflowCode({ workflowsPath: require.resolve('./workflow'), logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} } });
  const runs: Measured[] = [];
  for (let round = 0; round < o.rounds; round += 1) {
    for (const { store } of STORES) {
      runs.push(await measure(store, bundle, o, cleanup));
      process.stdout.write(`  ${store} (round ${round + 1}): ${JSON.stringify(runs[runs.length - 1])}\n`);
    }
  }
  const of = (store: Store, key: keyof Omit<Measured, 'store'>): number[] => runs.filter((r) => r.store === store).map((r) => r[key]);
  const both = (xs: number[], f: (x: number) => string): string => xs.map(f).join(' / ');
  const msf = (x: number): string => `${x.toFixed(2)} ms`;
  const rate = (x: number): string => `${fmt.int(x)}/s`;
  const rows: Row[] = [];
  for (const [key, label, f, lowerIsBetter] of [
    ['cyclesPerSecond', 'Signals handled per second (signal → workflow task → local activity)', rate, false],
    ['signalsPerSecond', 'Signals acknowledged per second', rate, false],
    ['temporalCpuMsPerCycle', 'Temporal server CPU per handled signal', msf, true],
    ['workerCpuMsPerCycle', 'This process\'s CPU (worker and the callers) per handled signal', msf, true],
  ] as const) {
    const value = median(of('wal', key));
    const baseline = median(of('rollback', key));
    rows.push({
      metric: `${label}; each round`,
      value: both(of('wal', key), f),
      baseline: both(of('rollback', key), f),
      ratio: fmt.ratio(lowerIsBetter ? baseline / value : value / baseline),
      target: '—',
    });
  }
  const memory = (key: keyof Omit<Measured, 'store'>, f: (x: number) => string): string => both(of('memory', key), f);
  return {
    scenario: 'temporal-store',
    title: 'Temporal dev server: what a bounce costs, by how its SQLite file is journaled',
    measuredAt: new Date().toISOString(),
    workload: `For each store, a fresh dev server and one worker on ${fmt.int(o.workflows)} running workflows (each already handled one signal); then ${fmt.int(o.signals)} signals from ${o.callers} callers, each handled by a workflow task that runs one local activity (a mailbox workflow taking a bounce, less Drason's own work). The clock stops when the last one is handled. ${o.rounds} rounds, the stores in turn; each round is shown, the ratio is of the medians (for CPU: baseline ÷ value, so above 1 is better).`,
    baseline: `${STORES[0]!.name}. Value: ${STORES[1]!.name}.`,
    rows,
    notes: [
      `${STORES[2]!.name}: ${memory('cyclesPerSecond', rate)} handled; Temporal CPU ${memory('temporalCpuMsPerCycle', msf)} per handled signal.`,
      'The worker and the callers share this process, and the machine\'s cores with the dev server, as under `npm start`.',
    ],
    data: { options: o, runs },
  };
}
