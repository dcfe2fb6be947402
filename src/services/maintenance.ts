/**
 * Housekeeping the worker runs in the background: window-counter buckets older than their retention
 * (COUNTER_RETENTION_MS, the charts' horizon; windows need only 7 days) are deleted. Per organization, under RLS.
 * Events themselves are kept: they are the source of truth the counters can be rebuilt from.
 */
import type { Db } from '../db/knex';
import { COUNTER_RETENTION_MS, pruneCounters } from '../db/repositories/counters';
import { organizationsFrom, withTenant } from '../db/tenant';
import { componentLogger } from '../lib/logger';
import { startPeriodic, type Periodic } from '../lib/periodic';

const log = componentLogger('maintenance');

/** One pass; returns how many counter buckets were deleted. */
export async function pruneCountersOnce(db: Db, nowMs = Date.now()): Promise<number> {
  const before = nowMs - COUNTER_RETENTION_MS;
  const organizations = await organizationsFrom(db, 'drason_orgs_with_counters_before', new Date(before).toISOString());
  let pruned = 0;
  for (const organizationId of organizations) pruned += await withTenant(db, organizationId, (tx) => pruneCounters(tx, before));
  if (pruned > 0) log.info(`pruned ${pruned} counter buckets older than the retention`, { organizations: organizations.length });
  return pruned;
}

/** Runs the pass every `intervalMs` (default hourly) until stopped. */
export function startMaintenanceLoop(db: Db, intervalMs = 60 * 60 * 1000): Periodic {
  return startPeriodic('maintenance', intervalMs, () => pruneCountersOnce(db), log);
}
