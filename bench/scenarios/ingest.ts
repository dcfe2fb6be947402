/**
 * Scenario 1, ingest: single-event `POST /v1/events` requests against the running system (API + worker with its relay
 * in one process, as `npm start` runs them, embedded PostgreSQL and Temporal), 32 closed-loop clients for 15 s; then
 * an open loop at half the measured peak. Baseline, same run, same client, same bodies: a bare Express endpoint doing
 * one INSERT of the body into the same PostgreSQL.
 */
import pg from 'pg';
import { createDb } from '../../src/db/knex';
import { ingestEvents } from '../../src/db/repositories/events';
import { resolveApiKey } from '../../src/db/repositories/organizations';
import { startApiComponent, startWorkerComponent } from '../../src/workers/components';
import { CpuMeter, describeSplit, memoryOf, RssSampler, type CpuSplit } from '../cpu';
import { LoadClientProcess, type LoadResult, type LoadTarget } from '../load';
import { fmt, type Row, type ScenarioReport } from '../report';
import { backlog, checkClient, Cleanup, createOrganization, primeMailboxWorkflows, startBaselineServer, startInfra, waitDrained, type Infra } from '../stack';
import { describeWaits, WaitSampler, type WaitProfile } from '../waits';
import { eventTypeOf, mailboxOf, type WorkloadSpec } from '../workload';

export interface IngestOptions {
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  openDurationMs: number;
  mailboxes: number;
  /** Length of each direct-to-database run (no HTTP), which shows where the time goes. */
  directDurationMs: number;
}

export const INGEST_DEFAULTS: IngestOptions = { concurrency: 32, durationMs: 15_000, warmupMs: 2_000, openDurationMs: 10_000, mailboxes: 1000, directDurationMs: 5_000 };

const TARGET_EVENTS_PER_S = 1000;
const TARGET_RATIO = 0.7;
const TARGET_OPEN_P99_MS = 25;

interface Phase {
  load: LoadResult;
  cpu: CpuSplit;
  waits: WaitProfile;
  /** Relay rounds that counted something during the phase, and the events they counted. */
  relay: { rounds: number; events: number };
}

/** CPU milliseconds per acknowledged request, per process group. */
function cpuPerRequest(p: Phase): Record<string, number> {
  return Object.fromEntries(
    Object.entries(p.cpu.seconds)
      .filter(([g]) => g !== 'other')
      .map(([g, s]) => [g, Math.round((100 * 1000 * s) / Math.max(1, p.load.ok)) / 100]),
  );
}

interface DirectResult {
  callsPerSecond: number;
  cpu: CpuSplit;
  waits: WaitProfile;
  /** Postgres CPU per call, ms. */
  postgresMsPerCall: number;
}

/**
 * Where the time goes without HTTP: `concurrency` loops in this process call the database directly for `durationMs`
 * through a pool of Drason's size — Drason's two round trips per request (API-key lookup + drason_ingest_events) vs
 * the baseline's one INSERT. The gap between these and the HTTP numbers is the cost of the API.
 */
async function direct(infra: Infra, cleanup: Cleanup, organizationId: string, key: string, concurrency: number, durationMs: number): Promise<{ drason: DirectResult; baseline: DirectResult }> {
  const db = createDb({ url: infra.pg.appUrl, poolMax: infra.settings.poolMax });
  cleanup.add('direct-call pool (Drason)', () => db.destroy());
  const pool = new pg.Pool({ connectionString: infra.pg.ownerUrl, max: infra.settings.poolMax, application_name: 'drason-bench-baseline' });
  cleanup.add('direct-call pool (baseline)', () => pool.end());
  const sampler = new pg.Client({ connectionString: infra.checkUrl, application_name: 'drason-bench-waits' });
  await sampler.connect();
  cleanup.add('wait sampler connection', () => sampler.end());
  const spec: WorkloadSpec = { runId: 'direct', mailboxes: 1000, hardBounceRate: 0.025, failureRate: 0.025 };
  const run = async (applicationName: string, call: (n: number) => Promise<unknown>): Promise<DirectResult> => {
    const meter = new CpuMeter(() => ({ bench: [process.pid], postgres: [infra.postgresPid() ?? -1] }));
    const waits = new WaitSampler(sampler, [applicationName]);
    let n = 0;
    meter.start();
    const end = performance.now() + durationMs;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (performance.now() < end) await call(n++);
      }),
    );
    const cpu = meter.stop();
    return { callsPerSecond: Math.round(n / cpu.wallSeconds), cpu, waits: await waits.stop(), postgresMsPerCall: Math.round((100 * 1000 * (cpu.seconds.postgres ?? 0)) / Math.max(1, n)) / 100 };
  };
  const event = (n: number, prefix: string): { id: string; type: string; mailbox: string } => ({ id: `${prefix}-${n}`, type: eventTypeOf(spec, n), mailbox: mailboxOf(spec, n) });
  const baseline = await run('drason-bench-baseline', (n) =>
    pool.query('insert into bench_baseline (body) values ($1)', [{ events: [{ ...event(n, 'direct-baseline'), occurredAt: new Date().toISOString() }] }]),
  );
  const drason = await run('drason', async (n) => {
    await resolveApiKey(db, key);
    const e = event(n, 'direct-drason');
    await ingestEvents(db, organizationId, [{ idempotencyKey: e.id, type: e.type, source: 'api', occurredAt: new Date(), mailbox: e.mailbox, campaignId: String(1000 + (n % 7)) }]);
  });
  return { drason, baseline };
}

export async function runIngest(o: IngestOptions): Promise<ScenarioReport> {
  const cleanup = new Cleanup();
  try {
    const infra = await startInfra(cleanup);
    const check = await checkClient(infra, cleanup);
    // Relay rounds that counted something, and the events they counted (how hard the relay works under load).
    const relay = { rounds: 0, events: 0 };
    const worker = await startWorkerComponent(infra.settings, {
      relay: {
        onCounted: (received) => {
          relay.rounds += 1;
          relay.events += received.length;
        },
      },
    });
    let workerStopped: Promise<void> | undefined;
    const stopWorker = (): Promise<void> => (workerStopped ??= worker.stop());
    cleanup.add('worker', stopWorker);
    const api = await startApiComponent(infra.settings);
    cleanup.add('API', () => api.stop());
    const rssAfterStart = memoryOf(process.pid)!.rssMiB;
    const { key, organizationId } = await createOrganization(api.url);
    const baselineServer = await startBaselineServer(infra, cleanup);
    const client = await LoadClientProcess.start();
    cleanup.add('load client', () => client.stop());
    const rss = new RssSampler(() => ({ bench: process.pid }));
    cleanup.add('RSS sampler', async () => void rss.stop());

    const groups = (): Record<string, number[]> => ({
      'API+worker': [process.pid],
      postgres: [infra.postgresPid() ?? -1],
      temporal: [infra.temporal.process.pid ?? -1],
      'load client': [client.pid],
    });
    const headers = { authorization: `Bearer ${key}` };
    const drason: LoadTarget = { url: `${api.url}/v1/events`, headers };
    // The same headers (and so the same bytes on the wire); the baseline ignores them.
    const baseline: LoadTarget = { url: baselineServer.url, headers };
    const workload = (runId: string): WorkloadSpec => ({ runId, mailboxes: o.mailboxes, hardBounceRate: 0.025, failureRate: 0.025 });
    const sampler = new pg.Client({ connectionString: infra.checkUrl, application_name: 'drason-bench-waits' });
    await sampler.connect();
    cleanup.add('wait sampler connection', () => sampler.end());
    const measured = async (target: LoadTarget, run: () => Promise<LoadResult>): Promise<Phase> => {
      const meter = new CpuMeter(groups);
      const waits = new WaitSampler(sampler, [target === baseline ? 'drason-bench-baseline' : 'drason']);
      const before = { ...relay };
      meter.start();
      const load = await run();
      const cpu = meter.stop();
      return { load, cpu, waits: await waits.stop(), relay: { rounds: relay.rounds - before.rounds, events: relay.events - before.events } };
    };
    const closed = async (name: string, target: LoadTarget): Promise<Phase> => {
      const base = { kind: 'closed' as const, target, firstEvent: 0, eventsPerRequest: 1, concurrency: o.concurrency };
      await client.run({ ...base, workload: workload(`${name}-warmup`), durationMs: o.warmupMs });
      await waitDrained(check, 60_000);
      return measured(target, () => client.run({ ...base, workload: workload(`${name}-peak`), durationMs: o.durationMs }));
    };
    const open = (name: string, target: LoadTarget, ratePerSecond: number): Promise<Phase> =>
      measured(target, () =>
        client.run({ kind: 'open', target, workload: workload(`${name}-open`), firstEvent: 0, eventsPerRequest: 1, durationMs: o.openDurationMs, ratePerSecond, connections: 64, maxInFlight: 20_000 }),
      );

    // Steady state: every mailbox's workflow already running, as in production (not measured).
    await primeMailboxWorkflows(api.url, key, check, organizationId, o.mailboxes);
    const basePeak = await closed('baseline', baseline);
    const drasonPeak = await closed('drason', drason);
    const relayAtPeak = drasonPeak.relay;
    const backlogAfterPeak = await backlog(check);
    const drainAfterPeakMs = await waitDrained(check, 120_000);
    const rate = Math.max(1, Math.floor(drasonPeak.load.eventsPerSecond / 2));
    const drasonOpen = await open('drason', drason, rate);
    const drainAfterOpenMs = await waitDrained(check, 120_000);
    const baseOpen = await open('baseline', baseline, rate);
    const peakRss = rss.stop().bench ?? 0;
    // Diagnostics with the worker (relay, Temporal worker) stopped: the API alone over HTTP, then the database alone.
    await stopWorker();
    // The request path as the baseline measures it (an endpoint with no background work), same duration as its peak.
    const apiOnly = await measured(drason, () =>
      client.run({ kind: 'closed', target: drason, workload: workload('api-only'), firstEvent: 0, eventsPerRequest: 1, concurrency: o.concurrency, durationMs: o.durationMs }),
    );
    const apiRate = Math.max(1, Math.floor(apiOnly.load.eventsPerSecond / 2));
    const apiOpen = await open('api-only', drason, apiRate);
    const baseApiOpen = await open('baseline-at-api-rate', baseline, apiRate);
    const db = await direct(infra, cleanup, organizationId, key, o.concurrency, o.directDurationMs);

    const d = drasonPeak.load;
    const b = basePeak.load;
    const ratio = d.eventsPerSecond / Math.max(1, b.eventsPerSecond);
    const failed = [drasonPeak, drasonOpen, apiOnly, apiOpen].reduce((n, p) => n + p.load.failed, 0);
    const versus = (metric: string, value: (p: Phase) => number, dp: Phase, bp: Phase, show: (x: number) => string, target = '—', met?: boolean): Row => ({
      metric,
      value: show(value(dp)),
      baseline: show(value(bp)),
      ratio: fmt.ratio(value(dp) / value(bp)),
      target,
      ...(met === undefined ? {} : { met }),
    });
    const perRequest = (p: Phase): string =>
      Object.entries(cpuPerRequest(p))
        .map(([g, ms]) => `${g} ${ms}`)
        .join(' · ');
    const events = (x: number): string => `${fmt.int(x)} events/s`;
    return {
      scenario: 'ingest',
      title: 'Ingest: single-event POST /v1/events',
      measuredAt: new Date().toISOString(),
      workload:
        `One event per request (5% bounces and failures over ${o.mailboxes} mailboxes), ${o.concurrency} keep-alive clients in a separate process, ` +
        `${o.durationMs / 1000} s after a ${o.warmupMs / 1000} s warm-up; then an open loop at half Drason's peak (${fmt.int(rate)}/s) for ${o.openDurationMs / 1000} s. ` +
        'Drason: API and worker (relay counting and signalling meanwhile) in one process, as `npm start` runs them; every mailbox\'s workflow already running (one bounce each beforehand, not measured), as in steady production.',
      baseline: 'a bare Express app (express.json, one INSERT of the body into a table of the same PostgreSQL through a pg pool of 10), same client, same bodies, same concurrency and duration.',
      rows: [
        versus(`All in one (API and worker in one process, as npm start), peak, ${o.concurrency} clients`, (p) => p.load.eventsPerSecond, drasonPeak, basePeak, events, `≥ ${fmt.int(TARGET_EVENTS_PER_S)}/s and ≥ ${TARGET_RATIO}×`, d.eventsPerSecond >= TARGET_EVENTS_PER_S && ratio >= TARGET_RATIO),
        versus('All in one, peak: latency p50', (p) => p.load.latencyMs.p50, drasonPeak, basePeak, fmt.ms),
        versus('All in one, peak: latency p99', (p) => p.load.latencyMs.p99, drasonPeak, basePeak, fmt.ms),
        versus(`All in one, open loop at ${fmt.int(rate)}/s: achieved`, (p) => p.load.eventsPerSecond, drasonOpen, baseOpen, events),
        versus(`All in one, open loop at ${fmt.int(rate)}/s: latency p50`, (p) => p.load.latencyMs.p50, drasonOpen, baseOpen, fmt.ms),
        versus(`All in one, open loop at ${fmt.int(rate)}/s: latency p99`, (p) => p.load.latencyMs.p99, drasonOpen, baseOpen, fmt.ms, `≤ ${TARGET_OPEN_P99_MS} ms`, drasonOpen.load.latencyMs.p99 <= TARGET_OPEN_P99_MS),
        { metric: 'Failed requests (all phases)', value: fmt.int(failed), baseline: fmt.int(basePeak.load.failed + baseOpen.load.failed), ratio: '—', target: '0', met: failed === 0 },
        { metric: 'All in one, peak: CPU ms per request', value: perRequest(drasonPeak), baseline: perRequest(basePeak), ratio: '—', target: '—' },
        versus(
          `Request path (API; worker and relay stopped, as the baseline has none), peak, ${o.concurrency} clients`,
          (p) => p.load.eventsPerSecond,
          apiOnly,
          basePeak,
          events,
          `≥ ${fmt.int(TARGET_EVENTS_PER_S)}/s and ≥ ${TARGET_RATIO}×`,
          apiOnly.load.eventsPerSecond >= TARGET_EVENTS_PER_S && apiOnly.load.eventsPerSecond / Math.max(1, b.eventsPerSecond) >= TARGET_RATIO,
        ),
        versus('Request path, peak: latency p50', (p) => p.load.latencyMs.p50, apiOnly, basePeak, fmt.ms),
        versus('Request path, peak: latency p99', (p) => p.load.latencyMs.p99, apiOnly, basePeak, fmt.ms),
        versus(`Request path, open loop at ${fmt.int(apiRate)}/s: latency p50`, (p) => p.load.latencyMs.p50, apiOpen, baseApiOpen, fmt.ms),
        versus(`Request path, open loop at ${fmt.int(apiRate)}/s: latency p99`, (p) => p.load.latencyMs.p99, apiOpen, baseApiOpen, fmt.ms, `≤ ${TARGET_OPEN_P99_MS} ms`, apiOpen.load.latencyMs.p99 <= TARGET_OPEN_P99_MS),
        { metric: 'Request path, CPU ms per request', value: perRequest(apiOnly), baseline: perRequest(basePeak), ratio: '—', target: '—' },
        {
          metric: `Diagnostic: database alone (no HTTP, relay stopped), ${o.concurrency} loops on a pool of ${infra.settings.poolMax}`,
          value: `${fmt.int(db.drason.callsPerSecond)} events/s (key lookup + drason_ingest_events)`,
          baseline: `${fmt.int(db.baseline.callsPerSecond)} events/s (INSERT)`,
          ratio: fmt.ratio(db.drason.callsPerSecond / Math.max(1, db.baseline.callsPerSecond)),
          target: '—',
        },
        {
          metric: 'Diagnostic: database alone, Postgres CPU ms per event',
          value: fmt.ms(db.drason.postgresMsPerCall),
          baseline: fmt.ms(db.baseline.postgresMsPerCall),
          ratio: fmt.ratio(db.drason.postgresMsPerCall / Math.max(0.001, db.baseline.postgresMsPerCall)),
          target: '—',
        },
        { metric: 'RSS of the API + worker process: after start / peak', value: `${rssAfterStart} / ${peakRss} MiB`, baseline: '—', ratio: '—', target: '—' },
      ],
      notes: [
        `CPU during the peak runs (share of ${drasonPeak.cpu.cores} cores × wall time): Drason — ${describeSplit(drasonPeak.cpu)}; baseline — ${describeSplit(basePeak.cpu)}.`,
        `Threads of the API + worker process during Drason's peak (CPU s): ${Object.entries(drasonPeak.cpu.benchProcessThreads)
          .map(([t, sec]) => `${t} ${sec}`)
          .join(', ')}.`,
        `Postgres backends during the peak runs (pg_stat_activity samples): Drason — ${describeWaits(drasonPeak.waits)}; baseline — ${describeWaits(basePeak.waits)}.`,
        `CPU during the open loops: Drason — ${describeSplit(drasonOpen.cpu)}; baseline — ${describeSplit(baseOpen.cpu)}.`,
        `Relay during Drason's peak: ${fmt.int(relayAtPeak.rounds)} rounds counted ${fmt.int(relayAtPeak.events)} events ` +
          `(${fmt.int(relayAtPeak.rounds / (d.durationMs / 1000))} rounds/s, ${(relayAtPeak.events / Math.max(1, relayAtPeak.rounds)).toFixed(1)} events per round).`,
        `API alone (worker stopped): ${describeSplit(apiOnly.cpu)}; Postgres: ${describeWaits(apiOnly.waits)}.`,
        `Database alone (worker stopped): Drason — ${describeSplit(db.drason.cpu)}; ${describeWaits(db.drason.waits)}. Baseline — ${describeSplit(db.baseline.cpu)}; ${describeWaits(db.baseline.waits)}.`,
        `Relay during Drason's peak: ${fmt.int(backlogAfterPeak.toCount)} events still to count and ${fmt.int(backlogAfterPeak.toSignal)} to signal when the load stopped; ` +
          `drained ${drainAfterPeakMs === undefined ? 'NOT within 120 s' : `in ${fmt.s(drainAfterPeakMs / 1000)}`}` +
          ` (after the open loop: ${drainAfterOpenMs === undefined ? 'not within 120 s' : fmt.s(drainAfterOpenMs / 1000)}).`,
        `Open-loop client send lag p99: Drason ${fmt.ms(drasonOpen.load.open?.sendLagMs.p99 ?? 0)}, baseline ${fmt.ms(baseOpen.load.open?.sendLagMs.p99 ?? 0)}; requests not sent (over 20,000 in flight): ${drasonOpen.load.open?.notSent ?? 0} / ${baseOpen.load.open?.notSent ?? 0}.`,
        '`other` is CPU used by processes this benchmark did not start (the machine is shared when it is above a few percent).',
      ],
      data: {
        options: o,
        rate,
        baselinePeak: basePeak,
        drasonPeak,
        drasonOpen,
        baselineOpen: baseOpen,
        cpuMsPerRequest: { drasonPeak: cpuPerRequest(drasonPeak), baselinePeak: cpuPerRequest(basePeak) },
        relayAtPeak,
        apiOnly,
        cpuMsPerRequestApiOnly: cpuPerRequest(apiOnly),
        databaseAlone: db,
        backlogAfterPeak,
        drainAfterPeakMs,
        drainAfterOpenMs,
        rss: { afterStartMiB: rssAfterStart, peakMiB: peakRss },
      },
    };
  } finally {
    await cleanup.run();
  }
}
