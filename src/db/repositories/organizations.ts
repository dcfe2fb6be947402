/** Organizations and their API keys. Keys are stored only as SHA-256 hashes; the secret is shown once. */
import crypto from 'node:crypto';
import type { Db } from '../knex';
import { withTenant, type Tx } from '../tenant';
import { DEFAULT_MODE, DEFAULT_THRESHOLDS } from '../../domain/defaultSettings';
import type { Mode } from '../../domain/settings';
import { randomToken, sha256Hex } from '../../security/tokens';
import { insertSettingsVersion } from './settings';

export const ROLES = ['admin', 'operator', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];
export { MODES, type Mode } from '../../domain/settings';

export interface Organization {
  id: string;
  name: string;
  mode: Mode;
}

export interface ApiKeyRecord {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export const API_KEY_PREFIX = 'drk_';

export const hashApiKey = sha256Hex;

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = randomToken(API_KEY_PREFIX);
  return { key, prefix: key.slice(0, API_KEY_PREFIX.length + 6), hash: hashApiKey(key) };
}

export async function createOrganizationWithAdminKey(
  db: Db,
  name: string,
): Promise<{ organization: Organization; apiKey: { id: string; key: string; role: 'admin' } }> {
  const id = crypto.randomUUID();
  return withTenant(db, id, async (tx) => {
    await tx('organizations').insert({ id, name, mode: DEFAULT_MODE });
    await insertSettingsVersion(tx, id, 1, { mode: DEFAULT_MODE, thresholds: DEFAULT_THRESHOLDS }, 'platform-admin');
    const apiKey = await insertApiKey(tx, id, 'bootstrap admin key', 'admin');
    return { organization: { id, name, mode: DEFAULT_MODE }, apiKey: { id: apiKey.id, key: apiKey.key, role: 'admin' as const } };
  });
}

export async function insertApiKey(
  tx: Tx,
  organizationId: string,
  name: string,
  role: Role,
  createdByKeyId?: string,
): Promise<{ id: string; key: string; prefix: string }> {
  const { key, prefix, hash } = generateApiKey();
  const id = crypto.randomUUID();
  await tx('api_keys').insert({ organization_id: organizationId, id, name, role, prefix, key_hash: hash, created_by_key_id: createdByKeyId ?? null });
  return { id, key, prefix };
}

interface ApiKeyRow {
  id: string;
  name: string;
  role: Role;
  prefix: string;
  created_at: Date;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const toApiKeyRecord = (r: ApiKeyRow): ApiKeyRecord => ({
  id: r.id,
  name: r.name,
  role: r.role,
  prefix: r.prefix,
  createdAt: r.created_at.toISOString(),
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
});

/**
 * Where a key sits in the list: created_at exactly (to the microsecond Postgres keeps, which a JavaScript Date
 * would round to the millisecond and so skip keys created in the same millisecond) and id.
 */
export interface ApiKeyPosition {
  createdAt: string;
  id: string;
}

/** The current organization's keys (never their hashes), newest first, each with its position; `before` pages by it. */
export async function listApiKeys(tx: Tx, options: { limit: number; before?: ApiKeyPosition }): Promise<{ key: ApiKeyRecord; position: ApiKeyPosition }[]> {
  const q = tx('api_keys')
    .select('id', 'name', 'role', 'prefix', 'created_at', 'last_used_at', 'revoked_at')
    .select(tx.raw(`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as position`))
    .orderBy([{ column: 'created_at', order: 'desc' }, { column: 'id', order: 'desc' }])
    .limit(options.limit);
  if (options.before !== undefined) q.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [options.before.createdAt, options.before.id]);
  const rows = (await q) as (ApiKeyRow & { position: string })[];
  return rows.map((row) => ({ key: toApiKeyRecord(row), position: { createdAt: row.position, id: row.id } }));
}

export async function getApiKey(tx: Tx, id: string): Promise<ApiKeyRecord | undefined> {
  const row = (await tx<ApiKeyRow>('api_keys').where({ id }).first('id', 'name', 'role', 'prefix', 'created_at', 'last_used_at', 'revoked_at')) as ApiKeyRow | undefined;
  return row === undefined ? undefined : toApiKeyRecord(row);
}

/** Active admin keys of the current organization other than `exceptId`, locked so two revocations cannot race. */
export async function otherActiveAdminKeys(tx: Tx, exceptId: string): Promise<number> {
  const rows = (await tx('api_keys').whereNull('revoked_at').andWhere({ role: 'admin' }).whereNot({ id: exceptId }).forUpdate().select('id')) as unknown[];
  return rows.length;
}

/** Marks a key revoked; returns false when it was already revoked. */
export async function revokeApiKey(tx: Tx, id: string, revokedByKeyId: string): Promise<boolean> {
  const updated = await tx('api_keys').where({ id }).whereNull('revoked_at').update({ revoked_at: tx.fn.now(), revoked_by_key_id: revokedByKeyId });
  return updated > 0;
}

/** Records that a key was used, writing at most once a minute per key (the WHERE clause makes repeats no-ops). */
export async function touchApiKey(tx: Tx, id: string): Promise<void> {
  await tx('api_keys')
    .where({ id })
    .andWhere((q) => q.whereNull('last_used_at').orWhere('last_used_at', '<', tx.raw("now() - interval '1 minute'")))
    .update({ last_used_at: tx.fn.now() });
}

export interface ResolvedKey {
  id: string;
  organizationId: string;
  role: Role;
  revoked: boolean;
}

/** Looks a presented key up across tenants (through a narrow SECURITY DEFINER function). */
export async function resolveApiKey(db: Db, key: string): Promise<ResolvedKey | undefined> {
  const result = await db.raw<{ rows: { id: string; organization_id: string; role: Role; revoked: boolean }[] }>(
    'select * from drason_resolve_api_key(?)',
    [hashApiKey(key)],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : { id: row.id, organizationId: row.organization_id, role: row.role, revoked: row.revoked };
}

export async function getOrganization(tx: Tx, organizationId: string): Promise<Organization | undefined> {
  const row = (await tx('organizations').where({ id: organizationId }).first('id', 'name', 'mode')) as Organization | undefined;
  return row;
}
