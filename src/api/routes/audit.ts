/** GET /v1/audit: the organization's append-only audit log, newest first. */
import { z } from 'zod';
import { withTenant } from '../../db/tenant';
import { listAudit } from '../../db/repositories/audit';
import { authOf } from '../auth';
import { decodeCursor, limitSchema, pageOf } from '../pagination';
import type { Routes } from '../route';

const AuditQuery = z.object({
  entityType: z.enum(['lead', 'mailbox', 'campaign', 'domain', 'organization', 'api_key', 'integration', 'routing', 'settings', 'event']).optional(),
  entityId: z.string().min(1).max(320).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: limitSchema,
  cursor: z.string().max(200).optional(),
});

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    at: z.string(),
    entityType: z.string(),
    entityId: z.string(),
    action: z.string(),
    actor: z.string(),
    mode: z.string(),
    trigger: z.object({
      signals: z.array(z.string()).optional(),
      metric: z.string().optional(),
      observed: z.unknown().optional(),
      threshold: z.unknown().optional(),
      window: z.string().optional(),
      before: z.unknown().optional().describe('Configuration changes: the values before.'),
      after: z.unknown().optional().describe('Configuration changes: the values after.'),
    }),
    engineVersion: z.string(),
    settingsVersion: z.number().int(),
    message: z.string().describe('One plain-English sentence a person can act on.'),
  })
  .openapi('AuditEntry');

const EMAIL_LIKE = /^[^\s@]+@[^\s@]+$/;
const DOMAIN_LIKE = /^[a-z0-9-]+(\.[a-z0-9-]+)+$/i;

/**
 * The entity id as the audit log stores it. Mailboxes (email addresses) and domains are case-insensitive and stored
 * lower-case, so their ids are lowered: when the type says so, or, without a type, when the id looks like an email
 * address or a domain name. Other ids (API key ids, campaign ids, `smartlead`) are kept as given.
 */
export function auditEntityId(entityType: string | undefined, entityId: string): string {
  if (entityType === 'mailbox' || entityType === 'domain') return entityId.toLowerCase();
  if (entityType === undefined && (EMAIL_LIKE.test(entityId) || DOMAIN_LIKE.test(entityId))) return entityId.toLowerCase();
  return entityId;
}

const AuditPage = z.object({ items: z.array(AuditEntrySchema), nextCursor: z.string().nullable() }).openapi('AuditPage');

export function mountAudit(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/audit',
    summary: 'The audit log: every automated or manual action, newest first.',
    tags: ['audit'],
    access: 'viewer',
    query: AuditQuery,
    responses: { 200: { description: 'A page of audit entries', schema: AuditPage } },
    handler: async ({ query, res, deps }) => {
      const { organizationId } = authOf(res);
      const entityId = query.entityId === undefined ? undefined : auditEntityId(query.entityType, query.entityId);
      const cursor = decodeCursor(query.cursor, z.object({ beforeId: z.number().int() }));
      const items = await withTenant(deps.db, organizationId, (tx) =>
        listAudit(tx, {
          limit: query.limit + 1,
          ...(query.entityType === undefined ? {} : { entityType: query.entityType }),
          ...(entityId === undefined ? {} : { entityId }),
          ...(query.since === undefined ? {} : { since: new Date(query.since) }),
          ...(query.until === undefined ? {} : { until: new Date(query.until) }),
          ...(cursor === undefined ? {} : { beforeId: cursor.beforeId }),
        }),
      );
      res.json(pageOf(items, query.limit, (last) => ({ beforeId: Number(last.id) })));
    },
  });
}
