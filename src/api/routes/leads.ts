/**
 * POST /v1/webhooks/clay (ingest, or operator/admin) — one Clay row per request, as Clay's HTTP API column sends it,
 * with the key in `Authorization: Bearer` or `X-Drason-Key` (src/api/auth.ts). The body is checked by
 * parseClayLead (src/domain/clayLead.ts): a bad row is a 422 naming every bad field, nothing is stored but the
 * rejection's audit row (a body refused before parsing, for a NUL character or too deep nesting, is audited too). An accepted row is stored, created held/healthy and routed in one transaction
 * (src/db/repositories/leads.ts) and answered 202 `{leadId, status, duplicate}`; a repeat (same external_id, else
 * normalized email) answers the same leadId with `duplicate: true` and changes nothing.
 *
 * GET /v1/leads?status=&campaignId= and GET /v1/leads/:id (viewer).
 */
import { z } from 'zod';
import { appendAudit } from '../../db/repositories/audit';
import { getLead, ingestClayLead, LEAD_STATUSES, listLeads, type LeadRecord } from '../../db/repositories/leads';
import { withTenant } from '../../db/tenant';
import { parseClayLead } from '../../domain/clayLead';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { NotFoundError, ValidationError, type FieldProblem } from '../../lib/errors';
import { eventsIngested } from '../../lib/metrics';
import { actorOf, authOf, type AuthContext } from '../auth';
import type { ApiDeps } from '../deps';
import { decodeCursor, limitSchema, pageOf } from '../pagination';
import type { Routes } from '../route';

const ClayLeadBody = z.unknown().openapi('ClayLead', {
  description:
    'One Clay row: {email, persona, lead_score (integer, or a numeric string), workable (must be true), external_id?, ...any other columns (kept)}. Every bad field is named in the 422.',
});

const LeadAccepted = z
  .object({
    leadId: z.uuid(),
    status: z.enum(LEAD_STATUSES),
    duplicate: z.boolean().describe('True when this row (same external_id, else normalized email) was already received: nothing changed.'),
  })
  .openapi('LeadAccepted');

const LeadSchema = z
  .object({
    id: z.uuid(),
    email: z.string(),
    persona: z.string(),
    leadScore: z.number().int(),
    status: z.enum(LEAD_STATUSES),
    healthState: z.string(),
    assignedCampaignId: z.string().nullable().describe('The Smartlead campaign its routing rule chose; null while no rule matches.'),
    holdReason: z.string().nullable().describe('Why a held lead waits, in words.'),
    routingRule: z.string().nullable().describe('The routing rule that routed it: its source for list-quality quarantine.'),
    routingVersion: z.number().int().nullable().describe('The routing rules version it was routed by.'),
    pushedAt: z.string().nullable().describe('When Smartlead first had it in its campaign.'),
    pushStatus: z.string().nullable().describe("Smartlead's answer to the last push: added, already_in_campaign, invalid_email, unsubscribed, blocked, in_other_campaign, lead_limit_reached, not_added."),
    refusedBySmartlead: z.boolean().describe('Smartlead refused it for good (pushStatus says why): it stays held and is not offered again.'),
    pausedBy: z.array(z.string()).describe('Every entity holding it paused: mailbox:<email>, campaign:<id>, domain:<name>. It is active again when the last lets go.'),
    completedAt: z.string().nullable(),
    completedReason: z.string().nullable().describe('replied, unsubscribed or sequence finished.'),
    createdAt: z.string(),
  })
  .openapi('Lead');

const LeadQuery = z.object({
  status: z.enum(LEAD_STATUSES).optional().describe('Only leads with this status.'),
  campaignId: z.string().trim().min(1).max(100).optional().describe('Only leads assigned to this Smartlead campaign.'),
  limit: limitSchema,
  cursor: z.string().max(1000).optional().describe('nextCursor of the previous page.'),
});

const Cursor = z.object({ of: z.literal('leads'), position: z.string().min(1).max(100), id: z.uuid() });

const view = (l: LeadRecord): z.infer<typeof LeadSchema> => ({
  id: l.id,
  email: l.email,
  persona: l.persona,
  leadScore: l.leadScore,
  status: l.status,
  healthState: l.healthState,
  assignedCampaignId: l.assignedCampaignId,
  holdReason: l.holdReason,
  routingRule: l.routingRule,
  routingVersion: l.routingVersion,
  pushedAt: l.pushedAt?.toISOString() ?? null,
  pushStatus: l.pushStatus,
  refusedBySmartlead: l.pushRefusedAt !== null,
  pausedBy: l.pausedBy,
  completedAt: l.completedAt?.toISOString() ?? null,
  completedReason: l.completedReason,
  createdAt: l.createdAt.toISOString(),
});

const fieldName = (p: FieldProblem): string => (p.path === '' ? 'the body' : p.path);

/** A refused Clay row: one audit entry naming every bad field (nothing else is stored). */
function auditClayRejection(deps: ApiDeps, auth: AuthContext, problems: FieldProblem[]): Promise<boolean> {
  const { organizationId } = auth;
  return withTenant(deps.db, organizationId, (tx) =>
    appendAudit(tx, {
      organizationId,
      entityType: 'lead',
      entityId: 'clay',
      action: 'lead_rejected',
      actor: actorOf(auth),
      trigger: { signals: problems.map(fieldName), outcome: 'rejected' },
      message: `A Clay lead was refused and nothing was stored: ${problems.map((p) => `${fieldName(p)} ${p.message}`).join('; ')}.`,
      engineVersion: ENGINE_VERSION,
    }),
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function mountLeads(routes: Routes): void {
  routes.add({
    method: 'post',
    path: '/v1/webhooks/clay',
    summary: 'Clay lead receiver: one row per request; the key in Authorization: Bearer or X-Drason-Key. Idempotent on external_id, else normalized email.',
    tags: ['ingestion'],
    access: 'ingest',
    bodyLimit: '256kb',
    body: ClayLeadBody,
    responses: { 202: { description: 'Stored, created held and routed (or a duplicate)', schema: LeadAccepted } },
    // A body refused before parsing (a NUL character, nesting deeper than 32 levels) is audited like a bad field.
    rejected: ({ error, res, deps }) => auditClayRejection(deps, authOf(res), error.options.errors ?? [{ path: '', message: error.message }]),
    handler: async ({ body, res, deps }) => {
      const auth = authOf(res);
      const { organizationId } = auth;
      const parsed = parseClayLead(body);
      if (!parsed.ok) {
        await auditClayRejection(deps, auth, parsed.problems);
        const fields = parsed.problems.map(fieldName);
        throw new ValidationError(`The Clay row has ${parsed.problems.length} bad field(s): ${fields.join(', ')}; nothing was stored.`, parsed.problems);
      }
      const raw = body as Record<string, unknown>;
      const result = await withTenant(deps.db, organizationId, (tx) =>
        ingestClayLead(tx, { organizationId, lead: parsed.lead, raw, actor: actorOf(auth), receivedAt: new Date() }),
      );
      // A routed lead stored a command for its campaign's lead push workflow: wake the relay (throttled).
      if (!result.duplicate) deps.relayWaker.poke();
      eventsIngested.inc({ source: 'clay', type: 'Lead', duplicate: String(result.duplicate) });
      res.status(202).json(result);
    },
  });

  routes.add({
    method: 'get',
    path: '/v1/leads',
    summary: 'Leads, newest first, optionally by status or assigned campaign; keyset pages (limit 1–500, default 50; nextCursor).',
    tags: ['entities'],
    access: 'viewer',
    query: LeadQuery,
    responses: { 200: { description: 'A page of leads', schema: z.object({ items: z.array(LeadSchema), nextCursor: z.string().nullable() }).openapi('LeadPage') } },
    handler: async ({ query, res, deps }) => {
      const { organizationId } = authOf(res);
      const cursor = decodeCursor(query.cursor, Cursor);
      const rows = await withTenant(deps.db, organizationId, (tx) =>
        listLeads(tx, {
          limit: query.limit + 1,
          status: query.status,
          campaignId: query.campaignId,
          after: cursor === undefined ? undefined : { position: cursor.position, id: cursor.id },
        }),
      );
      const page = pageOf(rows, query.limit, (last) => ({ of: 'leads', position: last.position, id: last.id }));
      res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
    },
  });

  routes.add({
    method: 'get',
    path: '/v1/leads/:id',
    summary: 'One lead: status, health, assigned campaign and why it is held.',
    tags: ['entities'],
    access: 'viewer',
    params: z.object({ id: z.string().max(100) }),
    responses: { 200: { description: 'The lead', schema: LeadSchema } },
    handler: async ({ params, res, deps }) => {
      const { organizationId } = authOf(res);
      // An id that is not a UUID names no lead: 404, as an unknown one.
      const lead = UUID.test(params.id) ? await withTenant(deps.db, organizationId, (tx) => getLead(tx, params.id)) : undefined;
      if (lead === undefined) throw new NotFoundError(`No lead ${params.id} in this organization.`);
      res.json(view(lead));
    },
  });
}
