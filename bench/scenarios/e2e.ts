/**
 * Scenario 3, end to end with several worker processes: the API in this process, N worker processes (bench/
 * workerProcess.ts: the production worker plus relay counters) on one task queue, one database and one Temporal.
 * 100,000 mixed events (sends, ~5% hard bounces, ~2% delivery failures over 1,000 mailboxes) are posted in batches,
 * and the clock stops when the relay's queues are empty and every mailbox workflow's snapshot holds exactly the
 * bounces and failures sent to it. Then the books are checked: counters = acknowledged events (in total and per
 * type), workflows received each bounce and failure once and no more, and every worker process did relay work.
 * Baseline: the same with ONE worker process.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type pg from 'pg';
import { connectClient } from '../../src/temporal/connection';
import { startApiComponent } from '../../src/workers/components';
import { mailboxWorkflowId } from '../../src/workflows/ids';
import { snapshotQuery } from '../../src/workflows/mailboxWorkflow';
import { CpuMeter, describeSplit, RssSampler, type CpuSplit } from '../cpu';
import { LoadClientProcess, type LoadResult } from '../load';
import { fmt, type Row, type ScenarioReport } from '../report';
import { backlog, checkClient, Cleanup, createOrganization, startInfra, startWorkerProcess, type WorkerHandle } from '../stack';
import { forEachConcurrently, sleep } from '../stats';
import { mailboxOf, totalsOf, type Totals, type WorkloadSpec } from '../workload';
import type { WorkerStats } from '../workerProcess';

export interface E2EOptions {
  events: number;
  batch: number;
  concurrency: number;
  /** Longest wait for the whole run (posting + draining + workflows). */
  timeoutMs: number;
  mailboxes: number;
}

export const E2E_DEFAULTS: E2EOptions = { events: 100_000, batch: 500, concurrency: 4, timeoutMs: 600_000, mailboxes: 1000 };

/** Each mailbox's `snapshot.received`; a mailbox without a workflow (never signalled) received nothing. */
async function received(client: Client, organizationId: string, mailboxes: string[]): Promise<Map<string, Totals>> {
  const out = new Map<string, Totals>();
  await forEachConcurrently(mailboxes.length, 16, async (i) => {
    const mailbox = mailboxes[i]!;
    try {
      const s = await client.workflow.getHandle(mailboxWorkflowId(organizationId, mailbox)).query(snapshotQuery);
      out.set(mailbox, { sent: 0, hardBounces: s.received.hardBounces, failures: s.received.failures });
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
      out.set(mailbox, { sent: 0, hardBounces: 0, failures: 0 });
    }
  });
  return out;
}

const same = (a: Totals | undefined, b: Totals | undefined): boolean =>
  (a?.hardBounces ?? 0) === (b?.hardBounces ?? 0) && (a?.failures ?? 0) === (b?.failures ?? 0);

interface RunOutcome {
  workers: number;
  load: LoadResult;
  acked: number;
  expected: Totals;
  /** From the first request to the last condition met (undefined: not within the timeout). */
  totalMs?: number;
  ingestMs: number;
  counters: Totals;
  snapshots: Totals;
  mailboxesChecked: number;
  mailboxesMismatched: number;
  auditedEvents: number;
  storedEvents: number;
  perWorker: WorkerStats[];
  cpu: CpuSplit;
  peakRssMiB: Record<string, number>;
  checks: { counters: boolean; perType: boolean; workflowsExactlyOnce: boolean; auditOnce: boolean; everyWorkerRelayed: boolean; relayCountsAddUp: boolean };
}

async function runOnce(o: E2EOptions, workerCount: number): Promise<RunOutcome> {
  const cleanup = new Cleanup();
  try {
    const infra = await startInfra(cleanup);
    const check = await checkClient(infra, cleanup);
    const api = await startApiComponent(infra.settings);
    cleanup.add('API', () => api.stop());
    const workers: WorkerHandle[] = [];
    // One at a time: each bundles the workflow code on start, which takes both cores for a while.
    for (let i = 1; i <= workerCount; i += 1) workers.push(await startWorkerProcess(infra, i, cleanup));
    const temporal = await connectClient(infra.settings.temporal);
    cleanup.add('Temporal client', () => temporal.connection.close());
    const { key, organizationId } = await createOrganization(api.url);
    const client = await LoadClientProcess.start();
    cleanup.add('load client', () => client.stop());
    const workerPids = Object.fromEntries(workers.map((w, i) => [`worker ${i + 1}`, w.child.pid]));
    const rss = new RssSampler(() => ({ API: process.pid, ...workerPids }));
    cleanup.add('RSS sampler', async () => void rss.stop());
    const meter = new CpuMeter(() => ({
      API: [process.pid],
      ...Object.fromEntries(Object.entries(workerPids).map(([name, pid]) => [name, [pid ?? -1]])),
      postgres: [infra.postgresPid() ?? -1],
      temporal: [infra.temporal.process.pid ?? -1],
      'load client': [client.pid],
    }));

    const spec: WorkloadSpec = { runId: `e2e-${workerCount}w`, mailboxes: o.mailboxes, hardBounceRate: 0.05, failureRate: 0.02 };
    meter.start();
    const started = performance.now();
    const load = await client.run({
      kind: 'closed',
      target: { url: `${api.url}/v1/events`, headers: { authorization: `Bearer ${key}` } },
      workload: spec,
      firstEvent: 0,
      eventsPerRequest: o.batch,
      concurrency: o.concurrency,
      totalEvents: o.events,
      durationMs: o.timeoutMs,
      retries: 3,
    });
    const ingestMs = performance.now() - started;

    // What was acknowledged: every event of a request answered 2xx (a request never acknowledged may still have been
    // stored; the counter check would then show more than acknowledged, and fail).
    const unacked = new Set<number>();
    for (const [first, count] of load.unacked) for (let n = first; n < first + count; n += 1) unacked.add(n);
    const ackedEvents = function* (): Generator<number> {
      for (let n = load.firstEvent; n < load.endEvent; n += 1) if (!unacked.has(n)) yield n;
    };
    const expected = totalsOf(spec, ackedEvents());
    const acked = expected.all.sent + expected.all.hardBounces + expected.all.failures;
    const mailboxes = [...new Set(Array.from(ackedEvents(), (n) => mailboxOf(spec, n)))];

    // Done when the queues are empty and every mailbox's workflow holds what was sent to it. Polled cheaply first:
    // a workflow writes its audit row after taking a batch into its snapshot, so once the audit rows cover every
    // bounce and failure, the snapshots are queried (again only where they did not yet match).
    const deadline = started + o.timeoutMs;
    const confirmed = new Map<string, Totals>();
    const bouncesAndFailures = expected.all.hardBounces + expected.all.failures;
    let totalMs: number | undefined;
    while (performance.now() < deadline) {
      const b = await backlog(check);
      if (b.toCount === 0 && b.toSignal === 0 && (await sums(check, organizationId)).audited >= bouncesAndFailures) {
        const doneAt = performance.now();
        const pending = mailboxes.filter((m) => !confirmed.has(m));
        for (const [m, got] of await received(temporal.client, organizationId, pending)) {
          if (same(got, expected.byMailbox.get(m))) confirmed.set(m, got);
        }
        if (confirmed.size === mailboxes.length) {
          totalMs = doneAt - started;
          break;
        }
      }
      await sleep(250);
    }
    const cpu = meter.stop();

    // The books.
    const final = await received(temporal.client, organizationId, mailboxes);
    const snapshots: Totals = { sent: 0, hardBounces: 0, failures: 0 };
    let mismatched = 0;
    for (const m of mailboxes) {
      const got = final.get(m);
      snapshots.hardBounces += got?.hardBounces ?? 0;
      snapshots.failures += got?.failures ?? 0;
      if (!same(got, expected.byMailbox.get(m))) mismatched += 1;
    }
    const counters = await sums(check, organizationId);
    const perWorker = await Promise.all(workers.map((w) => w.stats()));
    const checks = {
      counters: counters.sent + counters.hardBounces + counters.failures === acked,
      perType: counters.sent === expected.all.sent && counters.hardBounces === expected.all.hardBounces && counters.failures === expected.all.failures,
      workflowsExactlyOnce:
        mismatched === 0 && snapshots.hardBounces === expected.all.hardBounces && snapshots.failures === expected.all.failures,
      auditOnce: counters.audited === expected.all.hardBounces + expected.all.failures,
      everyWorkerRelayed: perWorker.every((w) => w.counted > 0 || w.signalledEvents > 0),
      relayCountsAddUp: perWorker.reduce((n, w) => n + w.counted, 0) === acked,
    };
    return {
      workers: workerCount,
      load,
      acked,
      expected: expected.all,
      ...(totalMs === undefined ? {} : { totalMs }),
      ingestMs,
      counters: { sent: counters.sent, hardBounces: counters.hardBounces, failures: counters.failures },
      snapshots,
      mailboxesChecked: mailboxes.length,
      mailboxesMismatched: mismatched,
      auditedEvents: counters.audited,
      storedEvents: counters.stored,
      perWorker,
      cpu,
      peakRssMiB: rss.stop(),
      checks,
    };
  } finally {
    await cleanup.run();
  }
}

async function sums(check: pg.Client, organizationId: string): Promise<Totals & { audited: number; stored: number }> {
  const { rows } = await check.query<{ sent: string; hard_bounces: string; failures: string; audited: string; stored: string }>(
    `select coalesce(sum(sent), 0) as sent, coalesce(sum(hard_bounces), 0) as hard_bounces, coalesce(sum(failures), 0) as failures,
            (select coalesce(sum((a.trigger -> 'sequences' ->> 'count')::int), 0) from audit_log a
              where a.organization_id = $1 and a.action = 'events_observed') as audited,
            (select count(*) from events e where e.organization_id = $1) as stored
       from entity_counters where organization_id = $1 and entity_type = 'mailbox'`,
    [organizationId],
  );
  const r = rows[0]!;
  return { sent: Number(r.sent), hardBounces: Number(r.hard_bounces), failures: Number(r.failures), audited: Number(r.audited), stored: Number(r.stored) };
}

export async function runE2E(o: E2EOptions): Promise<ScenarioReport> {
  const one = await runOnce(o, 1);
  const two = await runOnce(o, 2);
  const seconds = (r: RunOutcome): number => (r.totalMs ?? Number.NaN) / 1000;
  const rate = (r: RunOutcome): number => r.acked / seconds(r);
  const t = (r: RunOutcome): string => (r.totalMs === undefined ? `not done in ${o.timeoutMs / 1000} s` : fmt.s(seconds(r)));
  const yes = (b: boolean): string => (b ? 'yes' : 'NO');
  const checkRow = (metric: string, pick: (r: RunOutcome) => boolean, detail: (r: RunOutcome) => string): Row => ({
    metric,
    value: `${yes(pick(two))}: ${detail(two)}`,
    baseline: `${yes(pick(one))}: ${detail(one)}`,
    ratio: '—',
    target: 'yes',
    met: pick(two) && pick(one),
  });
  const perType = (x: Totals): string => `${fmt.int(x.sent)} / ${fmt.int(x.hardBounces)} / ${fmt.int(x.failures)}`;
  return {
    scenario: 'e2e',
    title: `End to end: ${fmt.int(o.events)} mixed events, two worker processes relaying at once`,
    measuredAt: new Date().toISOString(),
    workload:
      `${fmt.int(o.events)} events (sends, ~5% hard bounces, ~2% delivery failures) over ${o.mailboxes} mailboxes, POST /v1/events in batches of ${o.batch} from ` +
      `${o.concurrency} clients; API in the bench process, worker processes (bench/workerProcess.ts = src/workers/worker.ts plus relay counters) on one task queue. ` +
      'Time: first request → relay queues empty and every mailbox workflow holding exactly its bounces and failures.',
    baseline: 'the same events with ONE worker process (fresh database and Temporal for each run). Ratio: 2 workers ÷ 1 worker, events/s.',
    rows: [
      { metric: 'Time to done', value: t(two), baseline: t(one), ratio: fmt.ratio(seconds(two) / seconds(one)), target: '—' },
      { metric: 'End-to-end throughput', value: `${fmt.int(rate(two))} events/s`, baseline: `${fmt.int(rate(one))} events/s`, ratio: fmt.ratio(rate(two) / rate(one)), target: '—' },
      {
        metric: 'Posting alone (acknowledged)',
        value: `${fmt.s(two.ingestMs / 1000)} (${fmt.int(two.load.eventsPerSecond)} events/s)`,
        baseline: `${fmt.s(one.ingestMs / 1000)} (${fmt.int(one.load.eventsPerSecond)} events/s)`,
        ratio: fmt.ratio(two.load.eventsPerSecond / one.load.eventsPerSecond),
        target: '—',
      },
      checkRow('Counters sum to the acknowledged count', (r) => r.checks.counters, (r) => `${fmt.int(r.counters.sent + r.counters.hardBounces + r.counters.failures)} = ${fmt.int(r.acked)}`),
      checkRow('Per type (sent / hard bounces / failures)', (r) => r.checks.perType, (r) => `${perType(r.counters)}`),
      checkRow(
        'Workflows received each bounce and failure once, no more',
        (r) => r.checks.workflowsExactlyOnce,
        (r) => `${fmt.int(r.snapshots.hardBounces + r.snapshots.failures)} = ${fmt.int(r.expected.hardBounces + r.expected.failures)}, ${r.mailboxesMismatched} of ${r.mailboxesChecked} mailboxes off`,
      ),
      checkRow('Audit rows cover each bounce and failure once', (r) => r.checks.auditOnce, (r) => fmt.int(r.auditedEvents)),
      checkRow(
        'Every worker process relayed (events counted / signalled)',
        (r) => r.checks.everyWorkerRelayed && r.checks.relayCountsAddUp,
        (r) => r.perWorker.map((w) => `${fmt.int(w.counted)} / ${fmt.int(w.signalledEvents)}`).join(' + '),
      ),
    ],
    notes: [
      `Acknowledged: ${fmt.int(two.acked)} (2 workers) and ${fmt.int(one.acked)} (1 worker) of ${fmt.int(o.events)}; stored ${fmt.int(two.storedEvents)} / ${fmt.int(one.storedEvents)}; ` +
        `failed requests after 3 retries: ${two.load.failed} / ${one.load.failed}.`,
      `Signals sent per worker process (2 workers): ${two.perWorker.map((w) => fmt.int(w.signals)).join(' + ')}; (1 worker): ${fmt.int(one.perWorker[0]?.signals ?? 0)}.`,
      `CPU over the run, 2 workers: ${describeSplit(two.cpu)}.`,
      `CPU over the run, 1 worker: ${describeSplit(one.cpu)}.`,
      `Peak RSS (MiB), 2 workers: ${Object.entries(two.peakRssMiB).map(([p, m]) => `${p} ${m}`).join(', ')}; 1 worker: ${Object.entries(one.peakRssMiB).map(([p, m]) => `${p} ${m}`).join(', ')}.`,
    ],
    data: { options: o, oneWorker: one, twoWorkers: two },
  };
}
