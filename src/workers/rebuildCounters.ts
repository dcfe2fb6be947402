/**
 * `npm run rebuild-counters`: recomputes every organization's window counters from the stored events (the source
 * of truth), and says how many buckets had drifted. Safe while Drason runs: each organization is rebuilt in one
 * transaction holding the counters lock, so the relay waits for it and counts nothing twice (events still queued
 * are left to the relay). Uses DATABASE_URL, else the embedded Postgres of the data folder.
 */
import { config } from '../config';
import { createDb, type Db } from '../db/knex';
import { allCounters, rebuildCounters, type CounterRow } from '../db/repositories/counters';
import { organizationsFrom, withTenant } from '../db/tenant';
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

export async function rebuildAllCounters(db: Db, nowMs = Date.now()): Promise<RebuildReport> {
  const report: RebuildReport = { organizations: 0, buckets: 0, drifted: 0 };
  for (const organizationId of await organizationsFrom(db, 'drason_orgs_with_counted_data', 1_000_000)) {
    await withTenant(db, organizationId, async (tx) => {
      const before = await allCounters(tx);
      report.buckets += await rebuildCounters(tx, organizationId, nowMs);
      report.drifted += countDrift(before, await allCounters(tx));
    });
    report.organizations += 1;
  }
  return report;
}

if (require.main === module) {
  runMain('drason-rebuild-counters', async () => {
    const target = await commandDatabase(config());
    const db = createDb({ url: target.databaseUrl, poolMax: 2 });
    try {
      const { organizations, buckets, drifted } = await rebuildAllCounters(db);
      process.stdout.write(
        `Rebuilt ${buckets} counter bucket(s) for ${organizations} organization(s) from the stored events; ${drifted} bucket(s) differed from the live counters${drifted === 0 ? '' : ' and were corrected'}.\n`,
      );
    } finally {
      await db.destroy();
      await target.release();
    }
    return { stop: async () => undefined };
  });
}
