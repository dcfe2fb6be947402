/**
 * GET / PUT /v1/routing-rules (API.md "Routing"): the organization's ordered routing rules, first match wins.
 * PUT replaces the whole list. It is validated as a whole (every problem in one 422, including rules that point at
 * a campaign Drason does not know or that was deleted in Smartlead); an accepted list is saved, in one transaction,
 * as the current rules and as the next version, with an audit row describing the new rules in plain English.
 * Leads are never moved by a change: active leads stay in their campaign, and the new rules route new leads only.
 */
import { z } from 'zod';
import { appendAudit } from '../../db/repositories/audit';
import { rerouteHeldLeads } from '../../db/repositories/leads';
import { getApiKey } from '../../db/repositories/organizations';
import { campaignIdsForRouting, currentRoutingRules, saveNextRoutingVersion, type VersionedRoutingRules } from '../../db/repositories/routing';
import { withTenant } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { describeRule, MAX_RULES, parseRoutingRules, validateRuleCampaigns, type RoutingRule } from '../../domain/routing';
import { ValidationError } from '../../lib/errors';
import { actorOf, authOf } from '../auth';
import type { Routes } from '../route';

const RoutingRuleSchema = z
  .object({
    name: z.string(),
    when: z.object({
      persona: z.union([z.string(), z.array(z.string())]).optional(),
      minScore: z.number().int().optional(),
      maxScore: z.number().int().optional(),
    }),
    campaignId: z.string(),
  })
  .openapi('RoutingRule');

const RoutingRulesSchema = z
  .object({
    version: z.number().int(),
    rules: z.array(RoutingRuleSchema),
    updatedAt: z.string().nullable(),
  })
  .openapi('RoutingRules');

/**
 * The body is validated by `parseRoutingRules` (every problem named at once, paths such as `1.when.minScore`), so
 * the route takes any JSON and documents the shape it expects.
 */
const RoutingRulesBody = z.unknown().openapi({
  type: 'array',
  items: { $ref: '#/components/schemas/RoutingRule' },
  description: `The whole ordered list (at most ${MAX_RULES} rules; [] removes every rule). campaignId may be text or a whole number.`,
});

const toResponse = (r: VersionedRoutingRules): z.infer<typeof RoutingRulesSchema> => ({ version: r.version, rules: r.rules, updatedAt: r.updatedAt });

/** "Routing rules version 3 by API key "ops": 2 rules — 1. persona CTO and score ≥ 80 → campaign 42; 2. every lead → campaign 7." */
export function describeRoutingChange(version: number, who: string, rules: readonly RoutingRule[]): string {
  const head = `Routing rules version ${version} by ${who}`;
  if (rules.length === 0) return `${head}: no rules — every new lead now stays held until a rule matches it; leads already in campaigns stay where they are.`;
  const list = rules.map((rule, i) => `${i + 1}. ${describeRule(rule)}`).join('; ');
  return `${head}: ${rules.length} rule${rules.length === 1 ? '' : 's'} — ${list}.`;
}

export function mountRouting(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/routing-rules',
    summary: "The organization's routing rules in order (first match wins), with their version.",
    tags: ['routing'],
    access: 'viewer',
    responses: { 200: { description: 'Current routing rules', schema: RoutingRulesSchema } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      res.json(toResponse(await withTenant(deps.db, organizationId, (tx) => currentRoutingRules(tx))));
    },
  });

  routes.add({
    method: 'put',
    path: '/v1/routing-rules',
    summary:
      'Replace the ordered routing rules. Every rule must point at a campaign Drason knows and that is not deleted. Each change is a new version and is audited; leads already in campaigns are never moved.',
    tags: ['routing'],
    access: 'admin',
    bodyLimit: '1mb',
    body: RoutingRulesBody,
    responses: { 200: { description: 'The routing rules after the change', schema: RoutingRulesSchema } },
    handler: async ({ body, res, deps }) => {
      const auth = authOf(res);
      const parsed = parseRoutingRules(body);
      if (!parsed.ok) throw new ValidationError('The routing rules are invalid.', parsed.problems);
      const { rules } = parsed;
      const after = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const before = await currentRoutingRules(tx, { lock: true });
        const campaigns = await campaignIdsForRouting(
          tx,
          rules.map((r) => r.campaignId),
        );
        const problems = validateRuleCampaigns(rules, campaigns.known, campaigns.deleted);
        if (problems.length > 0) throw new ValidationError('Some routing rules point at campaigns that cannot receive leads.', problems);
        const actor = actorOf(auth);
        const saved = await saveNextRoutingVersion(tx, auth.organizationId, before.version, rules, actor);
        const name = (await getApiKey(tx, auth.keyId))?.name;
        const who = name === undefined ? `API key ${auth.keyId}` : `API key "${name}"`;
        await appendAudit(tx, {
          organizationId: auth.organizationId,
          entityType: 'routing',
          entityId: auth.organizationId,
          action: 'routing_rules_changed',
          actor,
          engineVersion: ENGINE_VERSION,
          trigger: {
            signals: ['routing_rules'],
            before: { version: before.version, rules: before.rules.length },
            after: { version: saved.version, rules: rules.length },
          },
          message: describeRoutingChange(saved.version, who, rules),
        });
        // Held leads no rule matched so far are routed with the new rules, in this transaction; routed ones never move.
        await rerouteHeldLeads(tx, auth.organizationId, actor);
        return { version: saved.version, rules, updatedAt: saved.updatedAt };
      });
      deps.relayWaker.poke();
      res.json(toResponse(after));
    },
  });
}
