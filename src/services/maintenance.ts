/**
 * Housekeeping the worker runs in the background: purge idempotency keys past their replay window (they are kept
 * 30 days, far past any sender's retry window; see src/domain/eventTiming.ts). Per organization, under RLS.
 */
import type { Db } from '../db/knex';
import { purgeExpiredIdempotencyKeys } from '../db/repositories/idempotency';
import { organizationsFrom, withTenant } from '../db/tenant';
import { componentLogger } from '../lib/logger';
import { startPeriodic, type Periodic } from '../lib/periodic';

const log = componentLogger('maintenance');

/** One pass; returns how many keys were purged. */
export async function purgeExpiredIdempotencyKeysOnce(db: Db): Promise<number> {
  const organizations = await organizationsFrom(db, 'drason_orgs_with_expired_idempotency_keys', 1000);
  let purged = 0;
  for (const organizationId of organizations) {
    purged += await withTenant(db, organizationId, (tx) => purgeExpiredIdempotencyKeys(tx));
  }
  if (purged > 0) log.info(`purged ${purged} expired idempotency keys`, { organizations: organizations.length });
  return purged;
}

/** Runs the pass every `intervalMs` (default hourly) until stopped. */
export function startMaintenanceLoop(db: Db, intervalMs = 60 * 60 * 1000): Periodic {
  return startPeriodic('maintenance', intervalMs, () => purgeExpiredIdempotencyKeysOnce(db), log);
}
