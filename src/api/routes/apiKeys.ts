/**
 * API keys of the caller's organization (admin): create (the key is shown once), list (never the key or its
 * hash), revoke (effective on the next request). Every creation and revocation is audited with the acting key.
 */
import { z } from 'zod';
import { appendAudit } from '../../db/repositories/audit';
import { getApiKey, insertApiKey, listApiKeys, otherActiveAdminKeys, revokeApiKey, ROLES } from '../../db/repositories/organizations';
import { withTenant } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { ConflictError, NotFoundError } from '../../lib/errors';
import { actorOf, authOf } from '../auth';
import { decodeCursor, limitSchema, pageOf } from '../pagination';
import type { Routes } from '../route';

const CreateApiKey = z
  .object({
    name: z.string().trim().min(1).max(100).describe('What the key is for, e.g. "Clay – leads table".'),
    role: z.enum(ROLES).describe('admin > operator > viewer; ingest may only call ingestion endpoints.'),
  })
  .strict()
  .openapi('CreateApiKey');

const ApiKeySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    role: z.enum(ROLES),
    prefix: z.string().describe('The first characters of the key, to recognise it; not enough to use it.'),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable().describe('Updated at most once a minute.'),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');
const CreatedApiKey = z
  .object({ id: z.uuid(), key: z.string().describe('Shown once; store it now.'), role: z.enum(ROLES), name: z.string(), prefix: z.string() })
  .openapi('CreatedApiKey');
const ApiKeyPage = z.object({ items: z.array(ApiKeySchema), nextCursor: z.string().nullable() }).openapi('ApiKeyPage');
const ListQuery = z.object({ limit: limitSchema, cursor: z.string().max(200).optional() });
const KeyParams = z.object({ id: z.string().max(100) });
const Cursor = z.object({ createdAt: z.iso.datetime(), id: z.uuid() });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function mountApiKeys(routes: Routes): void {
  routes.add({
    method: 'post',
    path: '/v1/api-keys',
    summary: 'Create an API key for this organization. The key is returned once and stored only as a hash.',
    tags: ['administration'],
    access: 'admin',
    bodyLimit: '8kb',
    body: CreateApiKey,
    responses: { 201: { description: 'Created', schema: CreatedApiKey } },
    handler: async ({ body, res, deps }) => {
      const auth = authOf(res);
      const created = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const key = await insertApiKey(tx, auth.organizationId, body.name, body.role, auth.keyId);
        await appendAudit(tx, {
          organizationId: auth.organizationId,
          entityType: 'api_key',
          entityId: key.id,
          action: 'api_key_created',
          actor: actorOf(auth),
          message: `A ${body.role} API key "${body.name}" (${key.prefix}…) was created by API key ${auth.keyId}; it works until someone revokes it with DELETE /v1/api-keys/${key.id}.`,
          engineVersion: ENGINE_VERSION,
        });
        return key;
      });
      res.status(201).json({ id: created.id, key: created.key, role: body.role, name: body.name, prefix: created.prefix });
    },
  });

  routes.add({
    method: 'get',
    path: '/v1/api-keys',
    summary: "List this organization's API keys (never the keys themselves), newest first.",
    tags: ['administration'],
    access: 'admin',
    query: ListQuery,
    responses: { 200: { description: 'A page of API keys', schema: ApiKeyPage } },
    handler: async ({ query, res, deps }) => {
      const { organizationId } = authOf(res);
      const before = decodeCursor(query.cursor, Cursor);
      const rows = await withTenant(deps.db, organizationId, (tx) =>
        listApiKeys(tx, { limit: query.limit + 1, ...(before === undefined ? {} : { before }) }),
      );
      const page = pageOf(rows, query.limit, (last) => ({ ...last.position }));
      res.json({ items: page.items.map((row) => row.key), nextCursor: page.nextCursor });
    },
  });

  routes.add({
    method: 'delete',
    path: '/v1/api-keys/:id',
    summary: 'Revoke an API key. It stops working on the next request. Revoking a revoked key changes nothing.',
    tags: ['administration'],
    access: 'admin',
    params: KeyParams,
    responses: { 204: { description: 'Revoked' } },
    handler: async ({ params, res, deps }) => {
      const auth = authOf(res);
      await withTenant(deps.db, auth.organizationId, async (tx) => {
        // Another organization's key is invisible here (row-level security), so it is "not found" like any other.
        const key = UUID.test(params.id) ? await getApiKey(tx, params.id) : undefined;
        if (key === undefined) throw new NotFoundError(`There is no API key ${params.id} in this organization.`);
        if (key.revokedAt !== null) return;
        if (key.role === 'admin' && (await otherActiveAdminKeys(tx, key.id)) === 0) {
          throw new ConflictError("This is the organization's last active admin key; create another admin key before revoking it.");
        }
        await revokeApiKey(tx, key.id, auth.keyId);
        await appendAudit(tx, {
          organizationId: auth.organizationId,
          entityType: 'api_key',
          entityId: key.id,
          action: 'api_key_revoked',
          actor: actorOf(auth),
          message: `The ${key.role} API key "${key.name}" (${key.prefix}…) was revoked by API key ${auth.keyId}; requests with it are refused from now on.`,
          engineVersion: ENGINE_VERSION,
        });
      });
      res.status(204).end();
    },
  });
}
