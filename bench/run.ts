/**
 * `npm run bench`: ingestion throughput, end-to-end processing latency and memory, on the real stack
 * (embedded Postgres, Temporal dev server, worker and API in this process). Results go to bench/results/latest.json
 * and a Markdown summary to bench/results/latest.md. Sizes are arguments so CI-sized and full runs share code:
 *   npm run bench -- --events 20000 --mailboxes 50 --batch 500 --concurrency 4
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { migrateLatest } from '../src/db/migrate';
import { APP_ROLE, startEmbeddedPostgres } from '../src/embedded/postgres';
import { startEmbeddedTemporal } from '../src/embedded/temporal';
import { generateEncryptionKeySpec } from '../src/security/encryption';
import { startApiComponent, startWorkerComponent } from '../src/workers/components';
import { freePort } from '../test/support/ports';
import { createDb } from '../src/db/knex';
import { withTenant } from '../src/db/tenant';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    mailboxes: { type: 'string', default: '50' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '4' },
  },
});
const EVENTS = Number(values.events);
const MAILBOXES = Number(values.mailboxes);
const BATCH = Number(values.batch);
const CONCURRENCY = Number(values.concurrency);

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-bench-'));
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 100);
  const stack: { stop(): Promise<void> }[] = [];
  try {
    const pg = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), superuserPassword: 's', ownerPassword: 'o', appPassword: 'a' });
    stack.push(pg);
    const temporal = await startEmbeddedTemporal({ port: await freePort(), namespace: 'default', headless: true });
    stack.push(temporal);
    await migrateLatest({ ownerUrl: pg.ownerUrl, appRole: APP_ROLE });
    const settings = {
      databaseUrl: pg.appUrl,
      poolMax: 10,
      temporal: { address: temporal.address, namespace: 'default', taskQueue: 'bench' },
      adminToken: 'bench-admin-token-0123456789abcdef',
      host: '127.0.0.1',
      port: 0,
      encryptionKeys: generateEncryptionKeySpec(),
      // Measure Drason, not its rate limiter.
      rateLimits: { windowMs: 60_000, perKey: 1_000_000, perWebhookToken: 1_000_000, perIp: 1_000_000, failedAuthPerIp: 1_000_000 },
    };
    stack.push(await startWorkerComponent(settings));
    const api = await startApiComponent(settings);
    stack.push(api);
    const baselineRss = process.memoryUsage().rss;

    const org = (await (
      await fetch(`${api.url}/v1/organizations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${settings.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'bench' }),
      })
    ).json()) as { apiKey: { key: string }; organization: { id: string } };
    const key = org.apiKey.key;
    const organizationId = org.organization.id;

    const now = Date.now();
    const batches: object[][] = [];
    for (let i = 0; i < EVENTS; i += BATCH) {
      batches.push(
        Array.from({ length: Math.min(BATCH, EVENTS - i) }, (_, j) => {
          const n = i + j;
          return {
            id: `bench-${n}`,
            type: n % 50 === 0 ? 'HardBounce' : n % 33 === 0 ? 'DeliveryFailure' : 'EmailSent',
            occurredAt: new Date(now - (EVENTS - n) * 10).toISOString(),
            mailbox: `sender${n % MAILBOXES}@bench-domain-${n % 5}.com`,
            campaignId: String(1000 + (n % 7)),
          };
        }),
      );
    }

    const latencies: number[] = [];
    const started = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < batches.length) {
          const events = batches[next++]!;
          const t = performance.now();
          const res = await fetch(`${api.url}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ events }),
          });
          if (res.status !== 202) throw new Error(`ingest failed: ${res.status} ${await res.text()}`);
          latencies.push(performance.now() - t);
        }
      }),
    );
    const ingestMs = performance.now() - started;

    // End to end: wait until the relay has counted every event into the window counters.
    const db = createDb({ url: pg.appUrl, poolMax: 1 });
    let processed = 0;
    try {
      for (;;) {
        const counted = await withTenant(db, organizationId, (tx) =>
          tx('entity_counters').where({ entity_type: 'mailbox' }).sum({ n: tx.raw('sent + hard_bounces + failures') }).first(),
        );
        processed = Number((counted as { n: number | null }).n ?? 0);
        if (processed >= EVENTS || performance.now() - started > 600_000) break;
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      await db.destroy();
    }
    const endToEndMs = performance.now() - started;
    latencies.sort((a, b) => a - b);

    const result = {
      measuredAt: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
      parameters: { events: EVENTS, mailboxes: MAILBOXES, batch: BATCH, concurrency: CONCURRENCY },
      ingest: {
        seconds: +(ingestMs / 1000).toFixed(2),
        eventsPerSecond: Math.round(EVENTS / (ingestMs / 1000)),
        batchLatencyMs: { p50: Math.round(percentile(latencies, 50)), p95: Math.round(percentile(latencies, 95)), max: Math.round(latencies.at(-1) ?? 0) },
      },
      endToEnd: { processed, seconds: +(endToEndMs / 1000).toFixed(2), eventsPerSecond: Math.round(processed / (endToEndMs / 1000)) },
      memory: { baselineRssMiB: Math.round(baselineRss / 2 ** 20), peakRssMiB: Math.round(peakRss / 2 ** 20) },
      note: 'API, worker and bench client share one Node process; Postgres and the Temporal dev server run beside it on the same 2 cores.',
    };
    fs.mkdirSync(path.join(__dirname, 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, 'results', 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# Benchmark (${result.measuredAt})`,
      '',
      `Machine: ${result.machine.cpus} cores (${result.machine.cpuModel}), ${result.machine.memoryGiB} GiB, Node ${result.machine.node}.`,
      `Workload: ${EVENTS} events over ${MAILBOXES} mailboxes, batches of ${BATCH}, ${CONCURRENCY} concurrent clients.`,
      '',
      '| Metric | Value |',
      '|---|---|',
      `| Ingest (stored + acknowledged) | ${result.ingest.eventsPerSecond} events/s (${result.ingest.seconds} s) |`,
      `| Batch request latency p50 / p95 / max | ${result.ingest.batchLatencyMs.p50} / ${result.ingest.batchLatencyMs.p95} / ${result.ingest.batchLatencyMs.max} ms |`,
      `| End to end (stored → counted by the relay) | ${result.endToEnd.eventsPerSecond} events/s, all ${processed} processed in ${result.endToEnd.seconds} s |`,
      `| RSS after start / peak | ${result.memory.baselineRssMiB} / ${result.memory.peakRssMiB} MiB |`,
      '',
      result.note,
      '',
    ].join('\n');
    fs.writeFileSync(path.join(__dirname, 'results', 'latest.md'), md);
    process.stdout.write(md);
    if (processed < EVENTS) throw new Error(`only ${processed} of ${EVENTS} events were processed within 10 minutes`);
  } finally {
    clearInterval(sampler);
    for (const s of stack.reverse()) await s.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
