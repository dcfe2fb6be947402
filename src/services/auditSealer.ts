/**
 * The audit sealer: appends hash-chain links for new audit rows, per organization, in the background
 * (docs/decisions/014-audit-chain.md). Writers never wait for it.
 *
 * Ids are handed out before their transactions commit, so a row with a lower id can appear after a higher one was
 * sealed. The sealer therefore seals only up to a horizon no running transaction can still fill: each pass observes
 * the sequence's last value W and then the snapshot's xmax X (in that order; an id's transaction always has its xid
 * before it takes the id, see drason_audit_next_id). Once every transaction older than X has ended (the snapshot's
 * xmin has passed X), every id ≤ W is committed or never will be: a later pass seals through W. A row found below the
 * sealed ones afterwards was put there by hand, and verification says so.
 */
import type { Db } from '../db/knex';
import { sealOrganization } from '../db/repositories/auditChain';
import { organizationsFrom, withTenant } from '../db/tenant';
import { componentLogger } from '../lib/logger';
import { startPeriodic, type Periodic } from '../lib/periodic';

const log = componentLogger('audit-sealer');

interface Observation {
  /** The audit sequence's last value when observed. */
  lastId: number;
  /** The next transaction id at that moment (xid8, as text). */
  xmax: string;
}

export interface AuditSealer {
  /** One pass: seals through the horizon observed by an earlier pass once it is safe; returns the rows sealed. */
  pass(): Promise<number>;
}

export interface SealerOptions {
  /** Rows per organization per transaction (default 1000). */
  batch?: number;
  /** Batches per organization per pass, so one busy organization does not hold the others back (default 20). */
  maxBatchesPerOrganization?: number;
}

async function observe(db: Db): Promise<Observation> {
  // Two statements, in this order: the sequence first, then the snapshot.
  const seq = await db.raw<{ rows: { last_id: string | number }[] }>('select case when is_called then last_value else 0 end as last_id from audit_log_id_seq');
  const snap = await db.raw<{ rows: { xmax: string }[] }>('select pg_snapshot_xmax(pg_current_snapshot())::text as xmax');
  return { lastId: Number(seq.rows[0]!.last_id), xmax: snap.rows[0]!.xmax };
}

async function settled(db: Db, observation: Observation): Promise<boolean> {
  const r = await db.raw<{ rows: { settled: boolean }[] }>('select pg_snapshot_xmin(pg_current_snapshot()) >= ?::xid8 as settled', [observation.xmax]);
  return r.rows[0]!.settled;
}

export function createAuditSealer(db: Db, options: SealerOptions = {}): AuditSealer {
  const batch = options.batch ?? 1000;
  const maxBatches = options.maxBatchesPerOrganization ?? 20;
  let pending: Observation | undefined;
  let horizon = 0;
  return {
    async pass() {
      if (pending !== undefined && (await settled(db, pending))) {
        horizon = Math.max(horizon, pending.lastId);
        pending = undefined;
      }
      if (pending === undefined) pending = await observe(db);
      if (horizon === 0) return 0;
      let sealed = 0;
      for (const organizationId of await organizationsFrom(db, 'drason_orgs_with_unsealed_audit', horizon)) {
        for (let i = 0; i < maxBatches; i += 1) {
          const n = await withTenant(db, organizationId, (tx) => sealOrganization(tx, organizationId, horizon, batch));
          sealed += n ?? 0;
          if (n === undefined || n < batch) break;
        }
      }
      if (sealed > 0) log.debug(`sealed ${sealed} audit entries through id ${horizon}`);
      return sealed;
    },
  };
}

/** Runs the sealer every `intervalMs` (default 2 s) until stopped. */
export function startAuditSealer(db: Db, intervalMs = 2000, options: SealerOptions = {}): Periodic {
  const sealer = createAuditSealer(db, options);
  return startPeriodic('audit-sealer', intervalMs, () => sealer.pass(), log);
}
