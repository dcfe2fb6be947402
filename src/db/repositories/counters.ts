/**
 * Window counters: 5-minute buckets of sends, hard bounces, delivery failures and (of those) reputation blocks per
 * mailbox, domain and campaign,
 * written only by the relay (src/db/repositories/relay.ts). Windows and velocity are computed from these buckets
 * by src/domain/rollingWindows.ts. Events stay the source of truth: `rebuildCounters` recomputes them.
 */
import type { Db } from '../knex';
import type { Tx } from '../tenant';
import { settingsFromRow, type StoredSettingsRow, type VersionedSettings } from './settings';
import type { Bucket } from '../../domain/rollingWindows';
import { BUCKET_MS, WINDOWS } from '../../domain/rollingWindows';
import { lockCountersExclusive } from './relay';

export type CounterEntityType = 'mailbox' | 'domain' | 'campaign';

/** Counter buckets are kept this long (the charts' horizon); older ones are pruned by the maintenance loop. */
export const COUNTER_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/** One stored counter bucket, as selected by BUCKET_COLUMNS. */
interface StoredBucket {
  entity_type: CounterEntityType;
  entity_key: string;
  bucket_start: Date;
  sent: number;
  hard_bounces: number;
  failures: number;
  reputation_blocks: number;
}
const BUCKET_COLUMNS = ['entity_type', 'entity_key', 'bucket_start', 'sent', 'hard_bounces', 'failures', 'reputation_blocks'] as const;

/** The buckets of each given entity that can touch the longest window ending at `nowMs`, ascending. */
export async function readBuckets(
  tx: Tx,
  entityType: CounterEntityType,
  keys: string[],
  nowMs: number,
  horizonMs: number = WINDOWS['7d'],
): Promise<Map<string, Bucket[]>> {
  const result = new Map<string, Bucket[]>(keys.map((k) => [k, []]));
  if (keys.length === 0) return result;
  const rows = (await tx('entity_counters')
    .where('entity_type', entityType)
    .whereIn('entity_key', keys)
    .andWhere('bucket_start', '>', new Date(nowMs - horizonMs - BUCKET_MS))
    .orderBy(['entity_key', 'bucket_start'])
    .select(...BUCKET_COLUMNS)) as StoredBucket[];
  for (const r of rows) result.get(r.entity_key)?.push([r.bucket_start.getTime(), r.sent, r.hard_bounces, r.failures, r.reputation_blocks]);
  return result;
}

/**
 * What an entity engine decides on, in ONE round trip (`drason_entity_decision_input`, migrations/016): the entity's
 * buckets that can touch the longest window ending at `nowMs` (as `readBuckets` returns them) and the organization's
 * current settings (as `currentSettings` returns them). The mailbox workflow reads this for every bounce batch.
 */
export async function readDecisionInput(
  db: Db | Tx,
  organizationId: string,
  entityType: CounterEntityType,
  key: string,
  nowMs: number,
  horizonMs: number = WINDOWS['7d'],
): Promise<{ buckets: Bucket[]; settings: VersionedSettings }> {
  const result = await db.raw<{ rows: { buckets: Bucket[]; settings: StoredSettingsRow | null }[] }>(
    'select buckets, settings from drason_entity_decision_input(?, ?, ?, ?)',
    [organizationId, entityType, key, new Date(nowMs - horizonMs - BUCKET_MS)],
  );
  const row = result.rows[0];
  return { buckets: row?.buckets ?? [], settings: settingsFromRow(row?.settings) };
}

export interface CounterRow {
  entityType: CounterEntityType;
  entityKey: string;
  bucketStartMs: number;
  sent: number;
  hardBounces: number;
  failures: number;
  /** Of `failures`, those classed `reputation`. */
  reputationBlocks: number;
}

/** Every counter row of the current organization (tests and the rebuild command compare them). */
export async function allCounters(tx: Tx): Promise<CounterRow[]> {
  const rows = (await tx('entity_counters')
    .orderBy(['entity_type', 'entity_key', 'bucket_start'])
    .select(...BUCKET_COLUMNS)) as StoredBucket[];
  return rows.map((r) => ({
    entityType: r.entity_type,
    entityKey: r.entity_key,
    bucketStartMs: r.bucket_start.getTime(),
    sent: r.sent,
    hardBounces: r.hard_bounces,
    failures: r.failures,
    reputationBlocks: r.reputation_blocks,
  }));
}

/**
 * Recomputes the current organization's counters from the stored events: every counted event no longer waiting in
 * the relay queue, within the retention horizon. Holds the counters lock exclusively, so no relay counts meanwhile.
 * Returns how many counter rows were written.
 */
export async function rebuildCounters(tx: Tx, organizationId: string, nowMs: number, retentionMs = COUNTER_RETENTION_MS): Promise<number> {
  await lockCountersExclusive(tx, organizationId);
  await tx('entity_counters').delete();
  const { rows } = await tx.raw<{ rows: { written: number }[] }>(
    `with written as (
       insert into entity_counters (organization_id, entity_type, entity_key, bucket_start, sent, hard_bounces, failures, reputation_blocks)
       select drason_current_org(), c.entity_type, c.entity_key, c.bucket_start, sum(c.sent), sum(c.hard_bounces), sum(c.failures), sum(c.reputation_blocks)
         from event_counter_contributions c
        where c.organization_id = drason_current_org() and c.bucket_start >= drason_bucket_start(?::timestamptz)
          and not exists (select 1 from event_queue q where q.organization_id = c.organization_id and q.event_id = c.event_id)
        group by 2, 3, 4
       returning 1
     ) select count(*)::int as written from written`,
    [new Date(nowMs - retentionMs)],
  );
  return rows[0]!.written;
}

/** Deletes the current organization's buckets older than the bucket holding `beforeMs` (the rebuild's horizon); returns how many. */
export async function pruneCounters(tx: Tx, beforeMs: number): Promise<number> {
  return tx('entity_counters').where('bucket_start', '<', tx.raw('drason_bucket_start(?::timestamptz)', [new Date(beforeMs)])).delete();
}
