/**
 * Idempotency keys with an expiry: replay protection that lasts a known time (REPLAY_WINDOW_MS, far past any
 * sender's retry window), independent of how long the events themselves are kept.
 */
import type { Tx } from '../tenant';

/** Claims `key` in `scope` for `ttlMs`. True when this is the first sighting (or the previous claim expired). */
export async function claimIdempotencyKey(tx: Tx, organizationId: string, scope: string, key: string, ttlMs: number): Promise<boolean> {
  await tx('idempotency_keys').where({ scope, key }).andWhere('expires_at', '<=', tx.fn.now()).delete();
  const inserted = await tx('idempotency_keys')
    .insert({
      organization_id: organizationId,
      scope,
      key,
      expires_at: tx.raw(`now() + ? * interval '1 millisecond'`, [ttlMs]),
    })
    .onConflict(['organization_id', 'scope', 'key'])
    .ignore()
    .returning('key');
  return inserted.length > 0;
}

/** Deletes the current organization's expired keys; returns how many. */
export async function purgeExpiredIdempotencyKeys(tx: Tx): Promise<number> {
  return tx('idempotency_keys').where('expires_at', '<=', tx.fn.now()).delete();
}
