/**
 * Lead sources (issue 10, "Source quality"; not in ../shared/spec/API.md: documented here and in the OpenAPI
 * document). A source is a routing rule, named as in PUT /v1/routing-rules. Its list-quality hard bounces (the
 * address does not exist) are attributed to it by the relay; a source whose pushed leads breach the threshold is
 * quarantined by the lead push workflow's review (src/activities/sourceQuality.ts) in enforce mode, or by a person
 * applying a `quarantine_source` recommendation in suggest mode.
 *
 * - GET /v1/sources (viewer): every source with pushed leads or a quarantine row, in name order: `{items: [{name,
 *   pushed, listBounced, rate, state, reason, quarantinedAt, releasedAt, releasedBy, countsFrom}]}`. Counts are of
 *   the leads pushed since the source was last released (all of them when never released); state is `quarantined`,
 *   `released` or `active` (never quarantined).
 * - POST /v1/sources/:name/release (operator): a person releases a quarantined source, in one transaction: state
 *   `released` with who and when, its evidence counted afresh from now, an audit row `source_released` (entity type
 *   `routing`, entity id the name), and a `leads_changed` command ('source_released') for each campaign holding
 *   leads of it, so their lead push workflows look at them again. 200 with the source; 404 for a source the
 *   organization does not have (another organization's included); 409 when it is not quarantined.
 */
import { z } from 'zod';
import { appendAudit } from '../../db/repositories/audit';
import { enqueueLeadsChanged } from '../../db/repositories/commands';
import { campaignsHoldingLeadsOf, getQuarantine, listSources, releaseQuarantine, sourceEvidence, sourceExists, type SourceListItem } from '../../db/repositories/sources';
import { withTenant } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { releaseSource } from '../../domain/sourceQuality';
import { ConflictError, NotFoundError } from '../../lib/errors';
import { sentenceCase } from '../../activities/sourceQuality';
import { actorOf, authOf } from '../auth';
import type { Routes } from '../route';

const SourceSchema = z
  .object({
    name: z.string().describe('The routing rule\'s name (the source key).'),
    pushed: z.number().int().describe('Its leads pushed to Smartlead since it was last released (all of them when never released).'),
    listBounced: z.number().int().describe('Of those, leads that hard-bounced as list quality (the address does not exist).'),
    rate: z.number().describe('listBounced / pushed (0 without pushed leads).'),
    state: z.enum(['active', 'quarantined', 'released']).describe('active: never quarantined; quarantined: its new leads are held ("source quality"); released by a person.'),
    reason: z.string().nullable().describe('Why it was quarantined, in words.'),
    quarantinedAt: z.string().nullable(),
    releasedAt: z.string().nullable(),
    releasedBy: z.string().nullable().describe('The API key that released it, as the audit log names it.'),
    countsFrom: z.string().nullable().describe('Evidence counts from this time (the last release); null: from the start.'),
  })
  .openapi('Source');

const NameParams = z.object({ name: z.string().trim().min(1).max(200).describe('The routing rule\'s name.') });

export const sourceView = (s: SourceListItem): z.infer<typeof SourceSchema> => ({
  name: s.source,
  pushed: s.pushed,
  listBounced: s.listBounced,
  rate: s.pushed === 0 ? 0 : s.listBounced / s.pushed,
  state: s.quarantine?.state ?? 'active',
  reason: s.quarantine?.reason ?? null,
  quarantinedAt: s.quarantine?.quarantinedAt.toISOString() ?? null,
  releasedAt: s.quarantine?.releasedAt?.toISOString() ?? null,
  releasedBy: s.quarantine?.releasedBy ?? null,
  countsFrom: s.quarantine?.countsFrom?.toISOString() ?? null,
});

export function mountSources(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/sources',
    summary:
      'Lead sources (routing rules) with their list-quality evidence and quarantine: every source with pushed leads or a quarantine, in name order.',
    tags: ['sources'],
    access: 'viewer',
    responses: { 200: { description: 'Every source', schema: z.object({ items: z.array(SourceSchema) }).openapi('SourceList') } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      const items = await withTenant(deps.db, organizationId, (tx) => listSources(tx));
      res.json({ items: items.map(sourceView) });
    },
  });

  routes.add({
    method: 'post',
    path: '/v1/sources/:name/release',
    summary:
      "Release a quarantined source: its held leads are evaluated again by their campaigns' lead push workflows and its bounces are counted afresh from now. Audited with the acting key.",
    tags: ['sources'],
    access: 'operator',
    params: NameParams,
    responses: {
      200: { description: 'Released', schema: SourceSchema },
      404: { description: 'The organization has no source of that name' },
      409: { description: 'The source is not quarantined' },
    },
    handler: async ({ params, res, deps }) => {
      const auth = authOf(res);
      const actor = actorOf(auth);
      const name = params.name;
      const released = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const row = await getQuarantine(tx, name, { lock: true });
        if (row === undefined && !(await sourceExists(tx, name))) throw new NotFoundError(`There is no source (routing rule) named '${name}' in this organization.`);
        if (row?.state !== 'quarantined') throw new ConflictError(`Source '${name}' is not quarantined: there is nothing to release.`);
        const after = (await releaseQuarantine(tx, name, actor))!;
        const campaigns = await campaignsHoldingLeadsOf(tx, name);
        await enqueueLeadsChanged(tx, auth.organizationId, campaigns, 'source_released', actor);
        const sentence = releaseSource({ ruleId: name, ruleName: name }, { since: row.quarantinedAt.getTime(), reason: row.reason }, actor, after.releasedAt!.getTime()).sentence;
        const held = campaigns.length === 0 ? 'no campaign holds leads of it' : `campaign${campaigns.length === 1 ? '' : 's'} ${campaigns.join(', ')} will look at its held leads again`;
        await appendAudit(tx, {
          organizationId: auth.organizationId,
          entityType: 'routing',
          entityId: name,
          action: 'source_released',
          actor,
          engineVersion: ENGINE_VERSION,
          trigger: { signals: ['source_release'], before: { state: 'quarantined', reason: row.reason }, after: { state: 'released', countsFrom: after.countsFrom?.toISOString() ?? null } },
          message: `${sentenceCase(sentence)}; ${held}.`,
        });
        const counts = (await sourceEvidence(tx, [name])).get(name);
        return { source: name, pushed: counts?.pushed ?? 0, listBounced: counts?.listBounced ?? 0, quarantine: after };
      });
      deps.relayWaker.poke();
      res.json(sourceView(released));
    },
  });
}
