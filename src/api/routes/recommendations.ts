/**
 * GET /v1/recommendations (viewer) and POST /v1/recommendations/:id/apply (operator). In suggest mode the engines of
 * mailboxes, campaigns and domains record what they would do as recommendations (written by their activities);
 * applying one stores an apply_recommendation command addressed to the recommendation's own entity (its type and
 * key), which the relay delivers to that entity's workflow; the workflow acts on the decision the recommendation
 * came from and marks it applied. The API never acts or signals itself.
 */
import { z } from 'zod';
import { enqueueCommand } from '../../db/repositories/commands';
import {
  getRecommendation,
  listRecommendations,
  pendingApplyOf,
  RECOMMENDATION_ENTITY_TYPES,
  RECOMMENDATION_STATUSES,
  type RecommendationRecord,
} from '../../db/repositories/recommendations';
import { withTenant } from '../../db/tenant';
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
    entityId: z.string().describe('Mailbox email (lower-case), domain name (lower-case) or Smartlead campaign id.'),
    action: z.enum(['pause', 'resume']),
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

export function mountRecommendations(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/recommendations',
    summary:
      'What Drason would do in suggest mode to mailboxes, campaigns and domains, each with its explanation; newest first, keyset pages (limit 1–500, default 50; nextCursor).',
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
      "Apply a pending recommendation about a mailbox, campaign or domain: that entity's workflow carries out the decision it came from (once, however often applied) and marks it applied.",
    tags: ['recommendations'],
    access: 'operator',
    params: z.object({ id: z.string().min(1).max(100) }),
    responses: {
      202: { description: 'Stored; the workflow will act on it', schema: CommandAccepted },
      409: { description: 'The recommendation is no longer pending (applied or superseded)' },
    },
    handler: async ({ params, res, deps }) => {
      const auth = authOf(res);
      const actor = actorOf(auth);
      const notFound = `There is no recommendation ${params.id} in this organization.`;
      // Not a UUID: no recommendation has that id (answered like any other unknown id).
      if (!z.uuid().safeParse(params.id).success) throw new NotFoundError(notFound);
      const commandId = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const recommendation = await getRecommendation(tx, params.id, { lock: true });
        if (recommendation === undefined) throw new NotFoundError(notFound);
        if (recommendation.status !== 'pending') throw new ConflictError(`Recommendation ${recommendation.id} is ${recommendation.status}, not pending: there is nothing to apply.`);
        // Applying twice before the workflow has acted stores nothing new: the first command stands.
        const waiting = await pendingApplyOf(tx, recommendation.id);
        if (waiting !== undefined) return waiting;
        const { entityType, entityId: entityKey } = recommendation;
        const payload = (commandId: string): ApplyRecommendationCommand => ({
          commandId,
          recommendationId: recommendation.id,
          decisionId: recommendation.decisionId,
          actor,
          requestedAt: Date.now(),
        });
        return enqueueCommand(tx, { organizationId: auth.organizationId, entityType, entityKey, kind: 'apply_recommendation', actor, payload });
      });
      deps.relayWaker.poke();
      res.status(202).json({ commandId, status: 'accepted' });
    },
  });
}
