/**
 * GET /v1/audit: the organization's append-only audit log, newest first; GET /v1/audit/verify: its hash chain
 * recomputed (docs/decisions/014-audit-chain.md).
 */
import { z } from 'zod';
import { withTenant } from '../../db/tenant';
import { AUDIT_OUTCOMES, listAudit } from '../../db/repositories/audit';
import { verifyAuditChain } from '../../db/repositories/auditChain';
import { authOf } from '../auth';
import { decodeCursor, limitSchema, pageOf } from '../pagination';
import type { Routes } from '../route';

const AuditQuery = z.object({
  entityType: z.enum(['lead', 'mailbox', 'campaign', 'domain', 'organization', 'api_key', 'integration', 'routing', 'settings', 'event']).optional(),
  entityId: z.string().min(1).max(320).optional(),
  action: z
    .string()
    .regex(/^[a-z0-9_]+\*?$/, 'must be an action name (lower case, digits, _), optionally ending with * for a prefix')
    .max(100)
    .optional()
    .describe('Exact action (`mailbox_paused`), or a prefix ending with `*` (`mailbox_*`).'),
  actor: z.string().min(1).max(200).optional().describe('Exact actor: `system`, `api-key:<id>`, `webhook-token:<id>`, `platform-admin`, …'),
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
      outcome: z.enum(AUDIT_OUTCOMES).optional().describe('What happened, stored by writers that know it; the entry\'s `outcome` says it for every entry.'),
      before: z.unknown().optional().describe('Configuration changes: the values before.'),
      after: z.unknown().optional().describe('Configuration changes: the values after.'),
    }),
    engineVersion: z.string(),
    settingsVersion: z.number().int(),
    message: z.string().describe('One plain-English sentence a person can act on.'),
    outcome: z
      .enum(AUDIT_OUTCOMES)
      .describe(
        'What happened: done (carried out), would_have (observe mode: nothing done), recommended (suggest mode: waits for a person), impossible (could not be carried out), rejected (a payload or request refused), recorded (an observation or a step that changes nothing by itself).',
      ),
  })
  .openapi('AuditEntry');

const BrokenEntrySchema = z
  .object({
    auditId: z.string().describe('The first audit entry that no longer matches its seal.'),
    at: z.string().nullable().describe('Null when the entry was deleted.'),
    entityType: z.string().nullable(),
    entityId: z.string().nullable(),
    action: z.string().nullable(),
    reason: z
      .enum(['content_changed', 'link_missing', 'previous_hash_mismatch'])
      .describe('content_changed: the entry was altered after it was sealed; link_missing: an entry was deleted, or inserted below sealed ones, or chain links were removed; previous_hash_mismatch: the chain itself was rewritten.'),
    detail: z.string().describe('What is wrong, in a sentence.'),
  })
  .openapi('AuditChainBreak');

const AuditVerification = z
  .object({
    ok: z.boolean().describe('True when every sealed entry still matches its link.'),
    checked: z.number().int().describe('Links recomputed (up to the first broken one).'),
    sealedThrough: z.string().nullable().describe('Id of the newest sealed entry; null before the first seal.'),
    unsealed: z.number().int().describe('Newer entries not sealed yet (the worker seals every few seconds).'),
    headHash: z.string().nullable().describe('Hash of the newest link; kept outside Drason, it proves later that nothing sealed was rewritten.'),
    firstBroken: BrokenEntrySchema.optional(),
    message: z.string().describe('The result in one sentence.'),
  })
  .openapi('AuditVerification');

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
    summary: 'The audit log: every automated or manual action, newest first; filters by entity, action (exact or prefix*), actor and time.',
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
          ...(query.action === undefined ? {} : { action: query.action }),
          ...(query.actor === undefined ? {} : { actor: query.actor }),
          ...(query.since === undefined ? {} : { since: new Date(query.since) }),
          ...(query.until === undefined ? {} : { until: new Date(query.until) }),
          ...(cursor === undefined ? {} : { beforeId: cursor.beforeId }),
        }),
      );
      res.json(pageOf(items, query.limit, (last) => ({ beforeId: Number(last.id) })));
    },
  });

  routes.add({
    method: 'get',
    path: '/v1/audit/verify',
    summary: "Recompute the audit log's hash chain and name the first entry altered, deleted or inserted since it was sealed.",
    tags: ['audit'],
    access: 'viewer',
    responses: { 200: { description: 'The verification (ok false names the first broken entry)', schema: AuditVerification } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      res.json(await withTenant(deps.db, organizationId, (tx) => verifyAuditChain(tx)));
    },
  });
}
