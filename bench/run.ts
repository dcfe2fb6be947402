/**
 * `npm run bench`: the "must show" scenarios, each against its baseline measured in the same run, on the real
 * stack (embedded PostgreSQL, Temporal dev server, Drason's API and worker), with the load client in its own process.
 *   npm run bench                              ingest, delivery, e2e and temporal-store
 *   npm run bench -- --scenario ingest         one of ingest | delivery | e2e | escalation | temporal-store
 *                                              (escalation, ~12 min, is not in all)
 * Sizes and durations (defaults in brackets):
 *   ingest:   --concurrency [32] --duration [15] --warmup [2] --open-duration [10]  (seconds)
 *   delivery: --rate [1000] --delivery-duration [20]                                  (events/s, seconds)
 *   e2e:      --events [100000] --batch [500] --e2e-concurrency [4] --e2e-timeout [600]
 *   temporal-store: --store-signals [2000] --store-rounds [2]
 *   escalation: --esc-mailboxes [10000] --esc-domains [1000] --esc-campaigns [300] --storm-domains [5] --esc-timeout [600]
 *   all:      --mailboxes [1000]
 * Each scenario writes bench/results/<scenario>.json and .md; bench/results/latest.md and latest.json gather them.
 */
import { parseArgs } from 'node:util';
import { installTemporalRuntime } from '../src/workers/components';
import { markdown, writeReport, writeSummary, type ScenarioReport } from './report';
import { Cleanup } from './stack';
import { DELIVERY_DEFAULTS, runDelivery } from './scenarios/delivery';
import { E2E_DEFAULTS, runE2E } from './scenarios/e2e';
import { ESCALATION_DEFAULTS, runEscalation } from './scenarios/escalation';
import { INGEST_DEFAULTS, runIngest } from './scenarios/ingest';
import { runTemporalStore, TEMPORAL_STORE_DEFAULTS } from './scenarios/temporalStore/scenario';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    mailboxes: { type: 'string', default: String(INGEST_DEFAULTS.mailboxes) },
    concurrency: { type: 'string', default: String(INGEST_DEFAULTS.concurrency) },
    duration: { type: 'string', default: String(INGEST_DEFAULTS.durationMs / 1000) },
    warmup: { type: 'string', default: String(INGEST_DEFAULTS.warmupMs / 1000) },
    'open-duration': { type: 'string', default: String(INGEST_DEFAULTS.openDurationMs / 1000) },
    rate: { type: 'string', default: String(DELIVERY_DEFAULTS.rate) },
    'delivery-duration': { type: 'string', default: String(DELIVERY_DEFAULTS.durationMs / 1000) },
    events: { type: 'string', default: String(E2E_DEFAULTS.events) },
    batch: { type: 'string', default: String(E2E_DEFAULTS.batch) },
    'e2e-concurrency': { type: 'string', default: String(E2E_DEFAULTS.concurrency) },
    'e2e-timeout': { type: 'string', default: String(E2E_DEFAULTS.timeoutMs / 1000) },
    'esc-mailboxes': { type: 'string', default: String(ESCALATION_DEFAULTS.mailboxes) },
    'esc-domains': { type: 'string', default: String(ESCALATION_DEFAULTS.domains) },
    'esc-campaigns': { type: 'string', default: String(ESCALATION_DEFAULTS.campaigns) },
    'storm-domains': { type: 'string', default: String(ESCALATION_DEFAULTS.stormDomains) },
    'esc-timeout': { type: 'string', default: String(ESCALATION_DEFAULTS.timeoutMs / 1000) },
    'store-signals': { type: 'string', default: String(TEMPORAL_STORE_DEFAULTS.signals) },
    'store-rounds': { type: 'string', default: String(TEMPORAL_STORE_DEFAULTS.rounds) },
  },
});

function number(name: keyof typeof values, min: number, max: number): number {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, not ${String(values[name])}`);
  return n;
}

const SCENARIOS = ['ingest', 'delivery', 'e2e', 'escalation', 'temporal-store'] as const;
type Scenario = (typeof SCENARIOS)[number];
/** `all`: escalation takes about 12 minutes, so it runs only when asked for. */
const ALL: Scenario[] = ['ingest', 'delivery', 'e2e', 'temporal-store'];

async function main(): Promise<boolean> {
  const wanted: Scenario[] = values.scenario === 'all' ? [...ALL] : [values.scenario as Scenario];
  if (!wanted.every((s) => SCENARIOS.includes(s))) throw new Error(`--scenario must be all, ${SCENARIOS.join(', ')}; not ${values.scenario}`);
  const mailboxes = number('mailboxes', 1, 100_000);
  const runners: Record<Scenario, () => Promise<ScenarioReport>> = {
    ingest: () =>
      runIngest({
        concurrency: number('concurrency', 1, 1024),
        durationMs: number('duration', 1, 600) * 1000,
        warmupMs: number('warmup', 0, 60) * 1000,
        openDurationMs: number('open-duration', 1, 600) * 1000,
        mailboxes,
        directDurationMs: INGEST_DEFAULTS.directDurationMs,
      }),
    delivery: () => runDelivery({ rate: number('rate', 1, 20_000), durationMs: number('delivery-duration', 1, 600) * 1000, warmupMs: 2000, mailboxes }),
    e2e: () =>
      runE2E({
        events: number('events', 1, 10_000_000),
        batch: number('batch', 1, 1000),
        concurrency: number('e2e-concurrency', 1, 256),
        timeoutMs: number('e2e-timeout', 10, 3600) * 1000,
        mailboxes,
      }),
    'temporal-store': () => {
      const cleanup = new Cleanup();
      const options = { ...TEMPORAL_STORE_DEFAULTS, signals: number('store-signals', 1, 1_000_000), rounds: number('store-rounds', 1, 10) };
      return runTemporalStore(options, cleanup).finally(() => cleanup.run());
    },
    escalation: () => {
      const domains = number('esc-domains', 1, 100_000);
      return runEscalation({
        ...ESCALATION_DEFAULTS,
        mailboxes: number('esc-mailboxes', domains, 100_000),
        domains,
        campaigns: number('esc-campaigns', 1, 10_000),
        stormDomains: number('storm-domains', 1, Math.min(domains, 100)),
        timeoutMs: number('esc-timeout', 10, 3600) * 1000,
      });
    },
  };
  installTemporalRuntime('ERROR');
  let ok = true;
  for (const scenario of wanted) {
    const started = Date.now();
    process.stdout.write(`\n== ${scenario} ==\n`);
    try {
      const report = await runners[scenario]();
      writeReport(report);
      process.stdout.write(`${markdown(report)}\n(${scenario}: ${Math.round((Date.now() - started) / 1000)} s)\n`);
    } catch (error) {
      ok = false;
      process.stderr.write(`bench: scenario ${scenario} failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    }
  }
  writeSummary();
  process.stdout.write('\nResults: bench/results/latest.md (summary), bench/results/<scenario>.json and .md\n');
  return ok;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`bench: ${signal}: stopping everything it started\n`);
    const force = setTimeout(() => process.exit(130), 60_000);
    void Cleanup.all().finally(() => {
      clearTimeout(force);
      process.exit(130);
    });
  });
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
