/**
 * `npm run rebuild-counters` (and `drason counters rebuild [--organization <id>]`): recomputes every organization's
 * (or one organization's) window counters from the stored events (the source of truth), and says how many buckets
 * had drifted. Safe while Drason runs: each organization is rebuilt in one transaction holding the counters lock, so
 * the relay waits for it and counts nothing twice (events still queued are left to the relay). Uses DATABASE_URL,
 * else the embedded Postgres of the data folder.
 */
import { config, type Config } from '../config';
import { createDb, type Db } from '../db/knex';
import { allCounters, rebuildCounters, type CounterRow } from '../db/repositories/counters';
import { organizationsFrom, withTenant } from '../db/tenant';
import { NotFoundError } from '../lib/errors';
import { commandDatabase } from './commandDatabase';
import { runMain } from './main';

export interface RebuildReport {
  organizations: number;
  /** Counter rows written by the rebuild. */
  buckets: number;
  /** Buckets whose live value differed from the rebuilt one (or existed on one side only). */
  drifted: number;
}

const keyOf = (r: CounterRow): string => `${r.entityType}|${r.entityKey}|${r.bucketStartMs}`;
const valueOf = (r: CounterRow): string => `${r.sent}/${r.hardBounces}/${r.failures}/${r.reputationBlocks}`;

/** How many buckets differ between two sets of counter rows. */
export function countDrift(before: CounterRow[], after: CounterRow[]): number {
  const old = new Map(before.map((r) => [keyOf(r), valueOf(r)]));
  let drifted = 0;
  for (const r of after) {
    if (old.get(keyOf(r)) !== valueOf(r)) drifted += 1;
    old.delete(keyOf(r));
  }
  return drifted + old.size;
}

/**
 * Rebuilds the counters of every organization with counted data, or of `organizationId` alone (a NotFoundError when
 * there is no such organization).
 */
export async function rebuildAllCounters(db: Db, options: { nowMs?: number; organizationId?: string } = {}): Promise<RebuildReport> {
  const nowMs = options.nowMs ?? Date.now();
  const report: RebuildReport = { organizations: 0, buckets: 0, drifted: 0 };
  const organizations = options.organizationId === undefined ? await organizationsFrom(db, 'drason_orgs_with_counted_data', 1_000_000) : [options.organizationId];
  for (const organizationId of organizations) {
    await withTenant(db, organizationId, async (tx) => {
      if (options.organizationId !== undefined && (await tx('organizations').where({ id: organizationId }).first('id')) === undefined) {
        throw new NotFoundError(`No organization ${organizationId}.`);
      }
      const before = await allCounters(tx);
      report.buckets += await rebuildCounters(tx, organizationId, nowMs);
      report.drifted += countDrift(before, await allCounters(tx));
    });
    report.organizations += 1;
  }
  return report;
}

/** The rebuild on the command's database (DATABASE_URL, else the embedded Postgres). */
export async function rebuildCountersCommand(cfg: Config, organizationId?: string): Promise<RebuildReport> {
  const target = await commandDatabase(cfg);
  const db = createDb({ url: target.databaseUrl, poolMax: 2 });
  try {
    return await rebuildAllCounters(db, organizationId === undefined ? {} : { organizationId });
  } finally {
    await db.destroy();
    await target.release();
  }
}

/** The report in one sentence. */
export function rebuildSentence({ organizations, buckets, drifted }: RebuildReport): string {
  return `Rebuilt ${buckets} counter bucket(s) for ${organizations} organization(s) from the stored events; ${drifted} bucket(s) differed from the live counters${drifted === 0 ? '' : ' and were corrected'}.`;
}

if (require.main === module) {
  runMain('drason-rebuild-counters', async () => {
    process.stdout.write(`${rebuildSentence(await rebuildCountersCommand(config()))}\n`);
    return { stop: async () => undefined };
  });
}
