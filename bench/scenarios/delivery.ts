/**
 * Scenario 2, delivery at a fixed offered rate: single-event requests on an open-loop schedule (default 1,000/s for
 * 20 s, 5% bounces and failures over 1,000 mailboxes). Measures, per event:
 * - commit → counted: the relay's `onCounted` (counted at − received_at);
 * - commit → handled by the mailbox workflow: after the run, from the database — the `events_observed` audit row of
 *   the event's mailbox whose trigger.sequences range covers the event's id (audit.at − events.received_at);
 * and signals sent per second beside events per second (the old design signalled every event: that is the baseline).
 * If the offered rate is more than the system takes, the same is measured again at half the rate it achieved, so
 * the report tells overload apart from the relay's own delay.
 */
import pg from 'pg';
import { relaySignals } from '../../src/lib/metrics';
import { startApiComponent, startWorkerComponent } from '../../src/workers/components';
import { CpuMeter, describeSplit, type CpuSplit } from '../cpu';
import { LoadClientProcess, type LoadResult } from '../load';
import { fmt, type Row, type ScenarioReport } from '../report';
import { checkClient, Cleanup, createOrganization, primeMailboxWorkflows, startInfra, startWorkerProcess, waitDrained, type WorkerHandle } from '../stack';
import { Samples, waitFor, type Distribution } from '../stats';
import { describeWaits, WaitSampler, type WaitProfile } from '../waits';

export interface DeliveryOptions {
  rate: number;
  durationMs: number;
  warmupMs: number;
  mailboxes: number;
}

export const DELIVERY_DEFAULTS: DeliveryOptions = { rate: 1000, durationMs: 20_000, warmupMs: 2_000, mailboxes: 1000 };

const TARGET_LAG_P99_MS = 2000;

async function deliveredSignals(): Promise<number> {
  const metric = await relaySignals.get();
  return metric.values.filter((v) => v.labels.outcome === 'delivered').reduce((n, v) => n + v.value, 0);
}

/** For each bounce or failure of the run: when it was stored, and when the audit row covering it was written. */
async function handledTimes(check: pg.Client, organizationId: string, runId: string): Promise<{ receivedMs: number; handledMs: number | null }[]> {
  const { rows } = await check.query<{ received_ms: string; handled_ms: string | null }>(
    `select extract(epoch from e.received_at) * 1000 as received_ms, extract(epoch from a.at) * 1000 as handled_ms
       from events e
       join mailboxes m on m.organization_id = e.organization_id and m.id = e.mailbox_id
       left join lateral (
         select a.at from audit_log a
          where a.organization_id = e.organization_id and a.entity_type = 'mailbox' and a.entity_id = lower(m.email::text)
            and a.action = 'events_observed'
            and (a.trigger -> 'sequences' ->> 'first')::bigint <= e.id and (a.trigger -> 'sequences' ->> 'last')::bigint >= e.id
          order by a.at limit 1) a on true
      where e.organization_id = $1 and e.type in ('HardBounce', 'DeliveryFailure') and e.idempotency_key like $2`,
    [organizationId, `${runId}-%`],
  );
  return rows.map((r) => ({ receivedMs: Number(r.received_ms), handledMs: r.handled_ms === null ? null : Number(r.handled_ms) }));
}

interface PhaseResult {
  rate: number;
  load: LoadResult;
  cpu: CpuSplit;
  waits: WaitProfile;
  lagMs: { counted: Distribution; signalled: Distribution; handled: Distribution };
  unhandled: number;
  bouncesAndFailures: number;
  signals: number;
  signalRounds: number;
  drainMs?: number;
}

export async function runDelivery(o: DeliveryOptions): Promise<ScenarioReport> {
  const cleanup = new Cleanup();
  try {
    const infra = await startInfra(cleanup);
    const check = await checkClient(infra, cleanup);
    const countedLag = new Samples();
    const signalledLag = new Samples();
    let recording = false;
    let signalRounds = 0;
    const worker = await startWorkerComponent(infra.settings, {
      relay: {
        onCounted: (received, at) => {
          if (recording) for (const r of received) countedLag.push(at - r);
        },
        onSignalled: (received, at) => {
          if (!recording) return;
          signalRounds += 1;
          for (const r of received) signalledLag.push(at - r);
        },
      },
    });
    let workerStopped: Promise<void> | undefined;
    const stopWorker = (): Promise<void> => (workerStopped ??= worker.stop());
    cleanup.add('worker', stopWorker);
    // Set for the last phase: the worker in a process of its own (production topology); its relay reports over IPC.
    const topology: { separate?: WorkerHandle } = {};
    const signalsSoFar = async (): Promise<number> => (topology.separate === undefined ? deliveredSignals() : (await topology.separate.stats()).signals);
    const api = await startApiComponent(infra.settings);
    cleanup.add('API', () => api.stop());
    const { key, organizationId } = await createOrganization(api.url);
    const client = await LoadClientProcess.start();
    cleanup.add('load client', () => client.stop());
    const sampler = new pg.Client({ connectionString: infra.checkUrl, application_name: 'drason-bench-waits' });
    await sampler.connect();
    cleanup.add('wait sampler connection', () => sampler.end());

    const run = (runId: string, rate: number, durationMs: number): Promise<LoadResult> =>
      client.run({
        kind: 'open',
        target: { url: `${api.url}/v1/events`, headers: { authorization: `Bearer ${key}` } },
        workload: { runId, mailboxes: o.mailboxes, hardBounceRate: 0.025, failureRate: 0.025 },
        firstEvent: 0,
        eventsPerRequest: 1,
        durationMs,
        ratePerSecond: rate,
        connections: 64,
        maxInFlight: 50_000,
      });

    const phase = async (runId: string, rate: number): Promise<PhaseResult> => {
      countedLag.clear();
      signalledLag.clear();
      signalRounds = 0;
      recording = true;
      const signalsBefore = await signalsSoFar();
      const meter = new CpuMeter(() => ({
        'API+worker': [process.pid, ...(topology.separate?.child.pid === undefined ? [] : [topology.separate.child.pid])],
        postgres: [infra.postgresPid() ?? -1],
        temporal: [infra.temporal.process.pid ?? -1],
        'load client': [client.pid],
      }));
      const waitSampler = new WaitSampler(sampler, ['drason']);
      meter.start();
      const load = await run(runId, rate, o.durationMs);
      const cpu = meter.stop();
      const waits = await waitSampler.stop();
      const drainMs = await waitDrained(check, 120_000);
      // Every bounce and failure handled: each has an audit row covering it (bounded wait).
      const handled = await waitFor('every bounce and failure to be audited by its mailbox workflow', 120_000, 250, async () => {
        const times = await handledTimes(check, organizationId, runId);
        return times.every((t) => t.handledMs !== null) ? times : undefined;
      }).catch(async () => handledTimes(check, organizationId, runId));
      const signals = (await signalsSoFar()) - signalsBefore;
      recording = false;
      const handledLag = new Samples();
      for (const t of handled) if (t.handledMs !== null) handledLag.push(t.handledMs - t.receivedMs);
      return {
        rate,
        load,
        cpu,
        waits,
        lagMs: { counted: countedLag.summary(), signalled: signalledLag.summary(), handled: handledLag.summary() },
        unhandled: handled.filter((t) => t.handledMs === null).length,
        bouncesAndFailures: handled.length,
        signals,
        signalRounds,
        ...(drainMs === undefined ? {} : { drainMs }),
      };
    };

    // Warm-up, not measured: every mailbox's workflow running (steady state), then JIT and pools.
    await primeMailboxWorkflows(api.url, key, check, organizationId, o.mailboxes);
    await run('warmup', o.rate, o.warmupMs);
    await waitDrained(check, 60_000);
    const main = await phase('delivery', o.rate);
    const achieved = main.load.eventsAcked / (main.load.durationMs / 1000);
    const overloaded = achieved < 0.95 * o.rate;
    const sustainable = overloaded ? await phase('delivery-half', Math.max(1, Math.floor(achieved / 2))) : undefined;
    // The production topology: the same load with the worker (relay, Temporal worker) in a process of its own. Its
    // workflow cache starts cold, so every mailbox's workflow is taken up by it first (one bounce each, not measured).
    await stopWorker();
    topology.separate = await startWorkerProcess(infra, 1, cleanup);
    await primeMailboxWorkflows(api.url, key, check, organizationId, o.mailboxes, 'prime-separate');
    await run('warmup-separate', o.rate, o.warmupMs);
    await waitDrained(check, 60_000);
    const production = await phase('delivery-separate', o.rate);

    const lagRows = (p: PhaseResult, label: string, withTargets: boolean): Row[] => {
      const target = (met: boolean): Pick<Row, 'target' | 'met'> =>
        withTargets ? { target: `≤ ${fmt.int(TARGET_LAG_P99_MS)} ms`, met } : { target: '—' };
      const name = (text: string): string => (label === '' ? `${text[0]!.toUpperCase()}${text.slice(1)}` : `${label}${text}`);
      return [
        { metric: name('commit → counted, p50'), value: fmt.ms(p.lagMs.counted.p50), baseline: '—', ratio: '—', target: '—' },
        { metric: name('commit → counted, p99'), value: fmt.ms(p.lagMs.counted.p99), baseline: '—', ratio: '—', ...target(p.lagMs.counted.count > 0 && p.lagMs.counted.p99 <= TARGET_LAG_P99_MS) },
        { metric: name('commit → signal sent (relay), p50 / p99'), value: `${fmt.ms(p.lagMs.signalled.p50)} / ${fmt.ms(p.lagMs.signalled.p99)}`, baseline: '—', ratio: '—', target: '—' },
        { metric: name('commit → handled by the workflow (audit row), p50'), value: fmt.ms(p.lagMs.handled.p50), baseline: '—', ratio: '—', target: '—' },
        {
          metric: name('commit → handled by the workflow (audit row), p99'),
          value: fmt.ms(p.lagMs.handled.p99),
          baseline: '—',
          ratio: '—',
          ...target(p.unhandled === 0 && p.lagMs.handled.count > 0 && p.lagMs.handled.p99 <= TARGET_LAG_P99_MS),
        },
      ];
    };
    const seconds = main.load.durationMs / 1000;
    const eventsPerS = main.load.eventsAcked / seconds;
    const rows: Row[] = [
      {
        metric: 'Events acknowledged (achieved rate)',
        value: `${fmt.int(main.load.eventsAcked)} of ${fmt.int(main.load.open?.scheduled ?? 0)} offered (${fmt.int(eventsPerS)}/s)`,
        baseline: '—',
        ratio: '—',
        target: `all, at ${fmt.int(o.rate)}/s`,
        met: main.load.failed === 0 && main.load.eventsAcked === (main.load.open?.scheduled ?? -1) && !overloaded,
      },
      { metric: 'Request latency p50 / p99 (from the scheduled send)', value: `${fmt.ms(main.load.latencyMs.p50)} / ${fmt.ms(main.load.latencyMs.p99)}`, baseline: '—', ratio: '—', target: '—' },
      ...lagRows(main, '', true),
      { metric: 'Bounces + failures', value: `${fmt.int(main.bouncesAndFailures)} (${fmt.int(main.bouncesAndFailures / seconds)}/s)`, baseline: '—', ratio: '—', target: '—' },
      {
        metric: 'Signals sent to workflows vs events (old design: one signal per event)',
        value: `${fmt.int(main.signals)} signals (${fmt.int(main.signals / seconds)}/s)`,
        baseline: `${fmt.int(main.load.eventsAcked)} signals (${fmt.int(eventsPerS)}/s)`,
        ratio: fmt.ratio(main.signals / Math.max(1, main.load.eventsAcked)),
        target: '≤ bounces + failures',
        met: main.signals <= main.bouncesAndFailures,
      },
    ];
    rows.push(
      {
        metric: 'Production topology (worker in its own process): acknowledged, request p50 / p99',
        value: `${fmt.int(production.load.eventsAcked)} of ${fmt.int(production.load.open?.scheduled ?? 0)}; ${fmt.ms(production.load.latencyMs.p50)} / ${fmt.ms(production.load.latencyMs.p99)}`,
        baseline: '—',
        ratio: '—',
        target: '—',
      },
      { metric: 'Production topology: commit → handled by the workflow (audit row), p50', value: fmt.ms(production.lagMs.handled.p50), baseline: '—', ratio: '—', target: '—' },
      {
        metric: 'Production topology: commit → handled by the workflow (audit row), p99',
        value: fmt.ms(production.lagMs.handled.p99),
        baseline: '—',
        ratio: '—',
        target: `≤ ${fmt.int(TARGET_LAG_P99_MS)} ms`,
        met: production.unhandled === 0 && production.lagMs.handled.count > 0 && production.lagMs.handled.p99 <= TARGET_LAG_P99_MS,
      },
      {
        metric: 'Production topology: signals vs events',
        value: `${fmt.int(production.signals)} for ${fmt.int(production.bouncesAndFailures)} bounces + failures`,
        baseline: `${fmt.int(production.load.eventsAcked)}`,
        ratio: fmt.ratio(production.signals / Math.max(1, production.load.eventsAcked)),
        target: '—',
      },
    );
    if (sustainable !== undefined) {
      const s = sustainable;
      rows.push(
        {
          metric: `Diagnostic at ${fmt.int(s.rate)}/s (half the achieved rate): acknowledged, latency p50 / p99`,
          value: `${fmt.int(s.load.eventsAcked)} of ${fmt.int(s.load.open?.scheduled ?? 0)}; ${fmt.ms(s.load.latencyMs.p50)} / ${fmt.ms(s.load.latencyMs.p99)}`,
          baseline: '—',
          ratio: '—',
          target: '—',
        },
        ...lagRows(s, `Diagnostic at ${fmt.int(s.rate)}/s: `, false),
        {
          metric: `Diagnostic at ${fmt.int(s.rate)}/s: signals vs events`,
          value: `${fmt.int(s.signals)} for ${fmt.int(s.bouncesAndFailures)} bounces + failures`,
          baseline: `${fmt.int(s.load.eventsAcked)}`,
          ratio: fmt.ratio(s.signals / Math.max(1, s.load.eventsAcked)),
          target: '—',
        },
      );
    }
    const notesOf = (p: PhaseResult, label: string): string[] => [
      `${label}: lags per event — ${fmt.int(p.lagMs.counted.count)} counted, ${fmt.int(p.lagMs.signalled.count)} signalled, ${fmt.int(p.lagMs.handled.count)} handled ` +
        `(${p.unhandled} never audited within 120 s); max counted ${fmt.ms(p.lagMs.counted.max)}, handled ${fmt.ms(p.lagMs.handled.max)}. ` +
        `${fmt.int(p.signals)} signals in ${fmt.int(p.signalRounds)} relay rounds. Queues drained ${p.drainMs === undefined ? 'NOT within 120 s' : fmt.s(p.drainMs / 1000)} after the load stopped.`,
      `${label}: CPU — ${describeSplit(p.cpu)}. Postgres — ${describeWaits(p.waits)}. Client send lag p99 ${fmt.ms(p.load.open?.sendLagMs.p99 ?? 0)}.`,
    ];
    return {
      scenario: 'delivery',
      title: `Delivery at ${fmt.int(o.rate)} events/s offered`,
      measuredAt: new Date().toISOString(),
      workload:
        `Open loop: single-event POST /v1/events at ${fmt.int(o.rate)}/s for ${o.durationMs / 1000} s (after a ${o.warmupMs / 1000} s warm-up), ` +
        `5% bounces (half HardBounce, half DeliveryFailure) over ${o.mailboxes} mailboxes whose workflows are already running (one bounce each beforehand, not measured, as in steady production), 64 keep-alive connections (requests due while all are busy queue in the client, and that wait counts); ` +
        'API and worker in one process as `npm start` runs them; then the same load with the worker in a process of its own (bench/workerProcess.ts, its workflow cache warmed the same way), as in production.' +
        (sustainable === undefined ? '' : ` The system took less than offered, so the same was measured again at ${fmt.int(sustainable.rate)}/s.`),
      baseline: 'the old design signalled every event (sends included) to its workflow: one signal per event, so its signals/s equalled events/s.',
      rows,
      notes: [
        'received_at is the ingest transaction\'s start, within a millisecond of its commit; signals/s and events/s are over the same window (first request sent to last answer).',
        ...notesOf(main, `At ${fmt.int(o.rate)}/s`),
        ...(sustainable === undefined ? [] : notesOf(sustainable, `At ${fmt.int(sustainable.rate)}/s`)),
        ...notesOf(production, `Worker in its own process, at ${fmt.int(o.rate)}/s (its relay's counted and signalled lags are not reported across the process boundary)`),
      ],
      data: { options: o, main, sustainable, production },
    };
  } finally {
    await cleanup.run();
  }
}
