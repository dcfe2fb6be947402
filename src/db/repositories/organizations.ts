/** Organizations and their API keys. Keys are stored only as SHA-256 hashes; the secret is shown once. */
import crypto from 'node:crypto';
import type { Db } from '../knex';
import { withTenant, type Tx } from '../tenant';

export const ROLES = ['admin', 'operator', 'viewer', 'ingest'] as const;
export type Role = (typeof ROLES)[number];
export const MODES = ['observe', 'suggest', 'enforce'] as const;
export type Mode = (typeof MODES)[number];

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

export function hashApiKey(key: string): string {
  return crypto.createHash('sha256').update(key).digest('hex');
}

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = `${API_KEY_PREFIX}${crypto.randomBytes(24).toString('base64url')}`;
  return { key, prefix: key.slice(0, API_KEY_PREFIX.length + 6), hash: hashApiKey(key) };
}

export async function createOrganizationWithAdminKey(
  db: Db,
  name: string,
): Promise<{ organization: Organization; apiKey: { id: string; key: string; role: 'admin' } }> {
  const id = crypto.randomUUID();
  return withTenant(db, id, async (tx) => {
    await tx('organizations').insert({ id, name, mode: 'observe' });
    const apiKey = await insertApiKey(tx, id, 'bootstrap admin key', 'admin');
    return { organization: { id, name, mode: 'observe' as const }, apiKey: { id: apiKey.id, key: apiKey.key, role: 'admin' as const } };
  });
}

export async function insertApiKey(tx: Tx, organizationId: string, name: string, role: Role): Promise<{ id: string; key: string }> {
  const { key, prefix, hash } = generateApiKey();
  const id = crypto.randomUUID();
  await tx('api_keys').insert({ organization_id: organizationId, id, name, role, prefix, key_hash: hash });
  return { id, key };
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
