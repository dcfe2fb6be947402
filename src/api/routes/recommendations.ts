/**
 * GET /v1/recommendations (viewer) and POST /v1/recommendations/:id/apply (operator). In suggest mode the engines of
 * mailboxes, campaigns and domains record what they would do as recommendations (written by their activities), as
 * do the lead push workflow (`push_leads`, entity type `campaign`) and the source review (`quarantine_source`,
 * entity type `source`: src/activities/sourceQuality.ts). Applying one:
 * - `pause` / `resume`: stores an apply_recommendation command addressed to the recommendation's own entity (its
 *   type and key), which the relay delivers to that entity's workflow; the workflow acts on the decision the
 *   recommendation came from and marks it applied;
 * - `quarantine_source`: quarantines the source in the API's transaction (no Temporal involved): the quarantine
 *   row, the recommendation applied, an audit row `source_quarantined` naming the person;
 * - `push_leads`: marks it applied and stores a `leads_changed` command ('push_approved') for the campaign; its
 *   lead push workflow reads the applied recommendation and pushes.
 * The API never signals itself.
 */
import { z } from 'zod';
import { resolveSourceRecommendations, sentenceCase } from '../../activities/sourceQuality';
import { appendAudit } from '../../db/repositories/audit';
import { enqueueCommand, enqueueLeadsChanged } from '../../db/repositories/commands';
import {
  getRecommendation,
  listRecommendations,
  pendingApplyOf,
  RECOMMENDATION_ACTIONS,
  RECOMMENDATION_ENTITY_TYPES,
  RECOMMENDATION_STATUSES,
  type RecommendationRecord,
} from '../../db/repositories/recommendations';
import { currentSettings } from '../../db/repositories/settings';
import { quarantineSource } from '../../db/repositories/sources';
import { withTenant, type Tx } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { SOURCE_QUALITY_REASON, sourceLabel } from '../../domain/sourceQuality';
import { ConflictError, NotFoundError } from '../../lib/errors';
import type { ApplyRecommendationCommand } from '../../workflows/mailboxSignals';
import { actorOf, authOf } from '../auth';
import { decodeCursor, limitSchema, pageOf } from '../pagination';
import type { Routes } from '../route';
import { CommandAccepted } from './overrides';

const RecommendationSchema = z
  .object({
    id: z.uuid(),
    entityType: z.enum(RECOMMENDATION_ENTITY_TYPES).describe('Whose engine made it: applying it acts on this entity.'),
    entityId: z.string().describe('Mailbox email (lower-case), domain name (lower-case), Smartlead campaign id or source (routing rule) name.'),
    action: z.enum(RECOMMENDATION_ACTIONS).describe('pause / resume an entity; push_leads: push a campaign\'s held leads; quarantine_source: hold a source\'s new leads.'),
    status: z.enum(RECOMMENDATION_STATUSES).describe('pending until applied, or superseded by a later decision about the same entity.'),
    message: z.string().describe('One plain-English sentence: what Drason would do and why.'),
    trigger: z.record(z.string(), z.unknown()).describe('What the decision saw: metric, observed value, threshold, window.'),
    settingsVersion: z.number().int().nullable(),
    createdAt: z.string(),
    appliedAt: z.string().nullable(),
    appliedBy: z.string().nullable().describe('The API key that applied it, as the audit log names it.'),
  })
  .openapi('Recommendation');

const RecommendationQuery = z.object({
  status: z.enum(RECOMMENDATION_STATUSES).optional().describe('Only recommendations with this status.'),
  entityType: z.enum(RECOMMENDATION_ENTITY_TYPES).optional().describe('Only recommendations about this kind of entity (default: all kinds).'),
  limit: limitSchema,
  cursor: z.string().max(1000).optional().describe('nextCursor of the previous page.'),
});

const Cursor = z.object({ of: z.literal('recommendations'), position: z.string().min(1).max(100), id: z.uuid() });

const view = (r: RecommendationRecord): z.infer<typeof RecommendationSchema> => ({
  id: r.id,
  entityType: r.entityType,
  entityId: r.entityId,
  action: r.action,
  status: r.status,
  message: r.message,
  trigger: r.trigger,
  settingsVersion: r.settingsVersion,
  createdAt: r.createdAt.toISOString(),
  appliedAt: r.appliedAt?.toISOString() ?? null,
  appliedBy: r.appliedBy,
});

/** The quarantine reason a source review recorded with its recommendation (its verdict), else the message. */
const reasonOf = (r: RecommendationRecord): string => (typeof r.trigger['reason'] === 'string' ? r.trigger['reason'] : r.message);

/** Applying a quarantine_source recommendation: the source is quarantined now, by the person, in this transaction. */
async function applyQuarantine(tx: Tx, organizationId: string, r: RecommendationRecord, actor: string): Promise<void> {
  const source = r.entityId;
  const { mode, version } = await currentSettings(tx);
  const reason = reasonOf(r);
  const evidence = typeof r.trigger['evidence'] === 'object' && r.trigger['evidence'] !== null ? (r.trigger['evidence'] as Record<string, unknown>) : {};
  const quarantined = await quarantineSource(tx, { organizationId, source, reason, evidence: { ...evidence, recommendationId: r.id, appliedBy: actor }, mode });
  await resolveSourceRecommendations(tx, source, { appliedBy: actor });
  const label = sourceLabel({ ruleId: source });
  await appendAudit(tx, {
    organizationId,
    entityType: 'routing',
    entityId: source,
    action: 'source_quarantined',
    actor,
    engineVersion: ENGINE_VERSION,
    mode,
    settingsVersion: version,
    trigger: { signals: ['recommendation_applied'], ...(r.trigger as object), after: { state: 'quarantined', recommendationId: r.id } },
    message:
      quarantined === undefined
        ? `${sentenceCase(label)} was already quarantined; recommendation ${r.id} applied by ${actor} changes nothing.`
        : `${sentenceCase(label)} quarantined by ${actor}, applying recommendation ${r.id}: ${reason}. Its new leads are held with the reason "${SOURCE_QUALITY_REASON}" until a person releases it.`,
  });
}

/** Applying a push_leads recommendation: applied now; the campaign's lead push workflow is told to push. */
async function applyPush(tx: Tx, organizationId: string, r: RecommendationRecord, actor: string): Promise<void> {
  await tx('recommendations').where({ id: r.id, status: 'pending' }).update({ status: 'applied', applied_at: tx.fn.now(), applied_by: actor });
  await enqueueLeadsChanged(tx, organizationId, [r.entityId], 'push_approved', actor);
}

export function mountRecommendations(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/recommendations',
    summary:
      'What Drason would do in suggest mode to mailboxes, campaigns, domains and lead sources, each with its explanation; newest first, keyset pages (limit 1–500, default 50; nextCursor).',
    tags: ['recommendations'],
    access: 'viewer',
    query: RecommendationQuery,
    responses: {
      200: { description: 'A page of recommendations', schema: z.object({ items: z.array(RecommendationSchema), nextCursor: z.string().nullable() }).openapi('RecommendationPage') },
    },
    handler: async ({ query, res, deps }) => {
      const { organizationId } = authOf(res);
      const cursor = decodeCursor(query.cursor, Cursor);
      const rows = await withTenant(deps.db, organizationId, (tx) =>
        listRecommendations(tx, { limit: query.limit + 1, status: query.status, entityType: query.entityType, after: cursor === undefined ? undefined : { position: cursor.position, id: cursor.id } }),
      );
      const page = pageOf(rows, query.limit, (last) => ({ of: 'recommendations', position: last.position, id: last.id }));
      res.json({ items: page.items.map(view), nextCursor: page.nextCursor });
    },
  });

  routes.add({
    method: 'post',
    path: '/v1/recommendations/:id/apply',
    summary:
      "Apply a pending recommendation. pause / resume of a mailbox, campaign or domain: that entity's workflow carries out the decision it came from (once, however often applied) and marks it applied (202). quarantine_source: the source is quarantined now, audited with the acting key (200). push_leads: applied now; the campaign's lead push workflow pushes its held leads (200).",
    tags: ['recommendations'],
    access: 'operator',
    params: z.object({ id: z.string().min(1).max(100) }),
    responses: {
      200: { description: 'quarantine_source or push_leads: applied', schema: RecommendationSchema },
      202: { description: 'Stored; the workflow will act on it', schema: CommandAccepted },
      409: { description: 'The recommendation is no longer pending (applied or superseded)' },
    },
    handler: async ({ params, res, deps }) => {
      const auth = authOf(res);
      const actor = actorOf(auth);
      const notFound = `There is no recommendation ${params.id} in this organization.`;
      // Not a UUID: no recommendation has that id (answered like any other unknown id).
      if (!z.uuid().safeParse(params.id).success) throw new NotFoundError(notFound);
      const outcome = await withTenant(deps.db, auth.organizationId, async (tx): Promise<{ commandId: string } | { applied: RecommendationRecord }> => {
        const recommendation = await getRecommendation(tx, params.id, { lock: true });
        if (recommendation === undefined) throw new NotFoundError(notFound);
        if (recommendation.status !== 'pending') throw new ConflictError(`Recommendation ${recommendation.id} is ${recommendation.status}, not pending: there is nothing to apply.`);
        // Applied here and now (no workflow acts on the decision): answered 200 with the applied recommendation.
        if (recommendation.action === 'quarantine_source' || recommendation.action === 'push_leads') {
          if (recommendation.action === 'quarantine_source') await applyQuarantine(tx, auth.organizationId, recommendation, actor);
          else await applyPush(tx, auth.organizationId, recommendation, actor);
          return { applied: (await getRecommendation(tx, recommendation.id))! };
        }
        // Applying twice before the workflow has acted stores nothing new: the first command stands.
        const waiting = await pendingApplyOf(tx, recommendation.id);
        if (waiting !== undefined) return { commandId: waiting };
        const { entityType, entityId: entityKey } = recommendation;
        const payload = (commandId: string): ApplyRecommendationCommand => ({
          commandId,
          recommendationId: recommendation.id,
          decisionId: recommendation.decisionId,
          actor,
          requestedAt: Date.now(),
        });
        if (entityType === 'source') throw new ConflictError(`Recommendation ${recommendation.id} (${recommendation.action}) cannot be applied to a source.`);
        return { commandId: await enqueueCommand(tx, { organizationId: auth.organizationId, entityType, entityKey, kind: 'apply_recommendation', actor, payload }) };
      });
      deps.relayWaker.poke();
      if ('applied' in outcome) res.status(200).json(view(outcome.applied));
      else res.status(202).json({ commandId: outcome.commandId, status: 'accepted' });
    },
  });
}
