/**
 * The audit log's hash chain per organization (migrations/012_audit_chain.ts, docs/decisions/014-audit-chain.md).
 *
 * Each sealed audit row has one link in `audit_chain`: seq (1, 2, … per organization, in audit id order),
 * prev_hash (the previous link's hash; 64 zeros for the first) and
 *   hash = sha256(prev_hash || canonical JSON of the row's content columns)
 * where the canonical JSON is an object with sorted keys (nested objects too), `id` as a decimal string, `at` as
 * UTC ISO-8601 with microseconds, and `trigger` re-serialized the same way; anyone can recompute it.
 *
 * Sealing (sealOrganization) is done by the worker's sealer, asynchronously: writers never wait for it. Verification
 * (verifyAuditChain) walks the links in pages and names the first entry that no longer matches.
 */
import crypto from 'node:crypto';
import type { Tx } from '../tenant';

export const GENESIS_HASH = '0'.repeat(64);

/** Plain JSON with object keys sorted at every level: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** An audit row's content columns as the chain reads them (text forms chosen by SQL, see CONTENT_COLUMNS). */
export interface AuditContentRow {
  id: string;
  organization_id: string;
  at: string;
  entity_type: string;
  entity_id: string;
  action: string;
  actor: string;
  mode: string;
  trigger: string;
  engine_version: string;
  settings_version: number;
  message: string;
  idempotency_key: string | null;
}

/** The content columns, with exact text forms: id as text, `at` with microseconds in UTC, trigger as jsonb text. */
const CONTENT_COLUMNS = `a.id::text as id, a.organization_id, to_char(a.at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as at,
  a.entity_type, a.entity_id, a.action, a.actor, a.mode, a.trigger::text as trigger, a.engine_version, a.settings_version, a.message,
  a.idempotency_key`;

export function auditContent(row: AuditContentRow): string {
  return canonicalJson({
    id: row.id,
    organization_id: row.organization_id,
    at: row.at,
    entity_type: row.entity_type,
    entity_id: row.entity_id,
    action: row.action,
    actor: row.actor,
    mode: row.mode,
    trigger: JSON.parse(row.trigger) as unknown,
    engine_version: row.engine_version,
    settings_version: row.settings_version,
    message: row.message,
    idempotency_key: row.idempotency_key,
  });
}

export function linkHash(prevHash: string, row: AuditContentRow): string {
  return crypto.createHash('sha256').update(prevHash).update(auditContent(row)).digest('hex');
}

interface Head {
  seq: number;
  auditId: number;
  hash: string;
}

async function chainHead(tx: Tx): Promise<Head | undefined> {
  const row = (await tx('audit_chain').orderBy('seq', 'desc').first('seq', 'audit_id', 'hash')) as { seq: number; audit_id: number; hash: string } | undefined;
  return row === undefined ? undefined : { seq: row.seq, auditId: row.audit_id, hash: row.hash };
}

/**
 * Appends links for the organization's unsealed rows with id ≤ `through` (in id order, at most `limit`), under the
 * organization's sealing lock. Returns how many were sealed, or undefined when another sealer holds the lock.
 */
export async function sealOrganization(tx: Tx, organizationId: string, through: number, limit = 1000): Promise<number | undefined> {
  const lock = await tx.raw<{ rows: { locked: boolean }[] }>(`select pg_try_advisory_xact_lock(hashtextextended('drason-audit-chain:' || ?, 0)) as locked`, [organizationId]);
  if (!lock.rows[0]!.locked) return undefined;
  const head = await chainHead(tx);
  const rows = (
    await tx.raw<{ rows: AuditContentRow[] }>(`select ${CONTENT_COLUMNS} from audit_log a where a.id > ? and a.id <= ? order by a.id limit ?`, [
      head?.auditId ?? 0,
      through,
      limit,
    ])
  ).rows;
  if (rows.length === 0) return 0;
  let prev = head?.hash ?? GENESIS_HASH;
  let seq = head?.seq ?? 0;
  const links = rows.map((row) => {
    const hash = linkHash(prev, row);
    seq += 1;
    const link = { organization_id: organizationId, seq, audit_id: row.id, prev_hash: prev, hash };
    prev = hash;
    return link;
  });
  await tx('audit_chain').insert(links);
  return links.length;
}

export type BrokenReason = 'content_changed' | 'link_missing' | 'previous_hash_mismatch';

export interface BrokenEntry {
  auditId: string;
  /** Null when the row itself is gone. */
  at: string | null;
  entityType: string | null;
  entityId: string | null;
  action: string | null;
  reason: BrokenReason;
  /** What is wrong, in a sentence. */
  detail: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Links recomputed (up to the first broken one). */
  checked: number;
  /** The id of the last sealed audit entry, null before the first seal. */
  sealedThrough: string | null;
  /** Entries after sealedThrough, not sealed yet (the sealer runs every few seconds). */
  unsealed: number;
  /** The newest link's hash: recorded outside the database, it proves later that nothing sealed was rewritten. */
  headHash: string | null;
  firstBroken?: BrokenEntry;
  message: string;
}

interface LinkRow extends Partial<AuditContentRow> {
  seq: number;
  audit_id: number;
  prev_hash: string;
  hash: string;
  row_id: string | null;
}

const describe = (auditId: string, reason: BrokenReason, detail: string, row?: Partial<AuditContentRow> | null): BrokenEntry => ({
  auditId,
  at: row?.at ?? null,
  entityType: row?.entity_type ?? null,
  entityId: row?.entity_id ?? null,
  action: row?.action ?? null,
  reason,
  detail,
});

/** The first link (in seq order, from `after`) that does not hold, within one page; and how many held. */
function checkPage(links: LinkRow[], state: { seq: number; hash: string; auditId: number }): { checked: number; broken?: BrokenEntry } {
  let checked = 0;
  for (const link of links) {
    const id = String(link.audit_id);
    if (link.seq !== state.seq + 1) {
      return { checked, broken: describe(id, 'link_missing', `chain links ${state.seq + 1}–${link.seq - 1} before audit entry ${id} were removed from the chain`, link.row_id === null ? null : link) };
    }
    if (link.prev_hash !== state.hash) {
      return { checked, broken: describe(id, 'previous_hash_mismatch', `the chain link of audit entry ${id} (#${link.seq}) does not follow the link before it: the chain itself was rewritten`, link.row_id === null ? null : link) };
    }
    if (link.row_id === null) {
      return { checked, broken: describe(id, 'link_missing', `audit entry ${id} was sealed (link #${link.seq}) and has since been deleted`) };
    }
    if (link.audit_id <= state.auditId) {
      return { checked, broken: describe(id, 'previous_hash_mismatch', `the chain link #${link.seq} names audit entry ${id}, not after the entry before it: the chain itself was rewritten`, link) };
    }
    if (linkHash(link.prev_hash, link as AuditContentRow) !== link.hash) {
      return { checked, broken: describe(id, 'content_changed', `audit entry ${id} was changed after it was sealed (link #${link.seq})`, link) };
    }
    checked += 1;
    state.seq = link.seq;
    state.hash = link.hash;
    state.auditId = link.audit_id;
  }
  return { checked };
}

/**
 * Recomputes every link of the current organization's chain in seq order, a page at a time (keyset on seq), and
 * looks for rows below the sealed ones that have no link (inserted past the chain). Never holds more than a page.
 */
export async function verifyAuditChain(tx: Tx, pageSize = 1000): Promise<ChainVerification> {
  const head = await chainHead(tx);
  const sealedThrough = head === undefined ? null : String(head.auditId);
  const unsealed = Number(
    ((await tx('audit_log').where('id', '>', head?.auditId ?? 0).count({ n: '*' }).first()) as { n: string | number }).n,
  );
  const state = { seq: 0, hash: GENESIS_HASH, auditId: 0 };
  let checked = 0;
  let broken: BrokenEntry | undefined;
  while (head !== undefined && state.seq < head.seq && broken === undefined) {
    const links = (
      await tx.raw<{ rows: LinkRow[] }>(
        `select c.seq, c.audit_id, c.prev_hash, c.hash, a.id::text as row_id, ${CONTENT_COLUMNS}
           from audit_chain c left join audit_log a on a.organization_id = c.organization_id and a.id = c.audit_id
          where c.seq > ? and c.seq <= ? order by c.seq limit ?`,
        [state.seq, head.seq, pageSize],
      )
    ).rows;
    if (links.length === 0) break;
    const page = checkPage(links, state);
    checked += page.checked;
    broken = page.broken;
  }
  if (head !== undefined) {
    const inserted = (
      await tx.raw<{ rows: AuditContentRow[] }>(
        `select ${CONTENT_COLUMNS} from audit_log a
          where a.id < ? and not exists (select 1 from audit_chain c where c.organization_id = a.organization_id and c.audit_id = a.id)
          order by a.id limit 1`,
        [head.auditId],
      )
    ).rows[0];
    if (inserted !== undefined && (broken === undefined || Number(inserted.id) < Number(broken.auditId))) {
      broken = describe(inserted.id, 'link_missing', `audit entry ${inserted.id} is not in the chain although later entries are sealed: it was inserted past the chain`, inserted);
    }
  }
  const base = { checked, sealedThrough, unsealed, headHash: head?.hash ?? null };
  const pending = unsealed === 0 ? '' : `; ${unsealed} newer entr${unsealed === 1 ? 'y is' : 'ies are'} not sealed yet`;
  if (broken !== undefined) {
    return { ...base, ok: false, firstBroken: broken, message: `The audit log is broken: ${broken.detail} (${broken.reason}).` };
  }
  return {
    ...base,
    ok: true,
    message:
      head === undefined
        ? `The audit log has no sealed entries yet${pending}.`
        : `The audit log is intact: ${checked} sealed entr${checked === 1 ? 'y' : 'ies'} through entry ${sealedThrough} verified${pending}.`,
  };
}
