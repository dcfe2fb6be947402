/**
 * Time series for the console's charts: one entity's 5-minute counter buckets (entity_counters, ./counters.ts)
 * summed into wider, epoch-aligned buckets over a window ending at the bucket in progress, every bucket present
 * (zeros where nothing was counted). Tenant-scoped by row-level security like every read.
 */
import type { Tx } from '../tenant';
import type { CounterEntityType } from './counters';

export interface SeriesBucket {
  /** Start of the bucket (epoch-aligned to its width). */
  start: Date;
  sent: number;
  hardBounces: number;
  failures: number;
}

/**
 * `count` buckets of `bucketMinutes` each, oldest first; the last is the one holding `nowMs` (still filling).
 * `bucketMinutes` must be a multiple of 5 that divides a day, so wide buckets hold whole counter buckets.
 */
export async function readSeries(
  tx: Tx,
  entityType: CounterEntityType,
  entityKey: string,
  options: { bucketMinutes: number; count: number; nowMs: number },
): Promise<SeriesBucket[]> {
  const widthMs = options.bucketMinutes * 60_000;
  const last = new Date(Math.floor(options.nowMs / widthMs) * widthMs);
  const first = new Date(last.getTime() - (options.count - 1) * widthMs);
  const end = new Date(last.getTime() + widthMs);
  const { rows } = await tx.raw<{ rows: { start: Date; sent: number; hard_bounces: number; failures: number }[] }>(
    `with width as (select make_interval(mins => ?) as w),
     sums as (
       select date_bin((select w from width), c.bucket_start, timestamptz 'epoch') as start,
              sum(c.sent)::int as sent, sum(c.hard_bounces)::int as hard_bounces, sum(c.failures)::int as failures
         from entity_counters c
        where c.entity_type = ? and c.entity_key = ? and c.bucket_start >= ? and c.bucket_start < ?
        group by 1
     )
     select g.start, coalesce(s.sent, 0) as sent, coalesce(s.hard_bounces, 0) as hard_bounces, coalesce(s.failures, 0) as failures
       from generate_series(?::timestamptz, ?::timestamptz, (select w from width)) as g(start)
       left join sums s on s.start = g.start
      order by g.start`,
    [options.bucketMinutes, entityType, entityKey, first, end, first, last],
  );
  return rows.map((r) => ({ start: r.start, sent: r.sent, hardBounces: r.hard_bounces, failures: r.failures }));
}
