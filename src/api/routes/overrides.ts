/**
 * Manual pause or resume (operator) of a mailbox, a campaign or a sending domain:
 * POST /v1/mailboxes/:email/override, /v1/campaigns/:campaignId/override and /v1/domains/:domain/override.
 * The API stores the command (entity_commands, kind `override`, addressed to the entity's lower-case email,
 * Smartlead campaign id or lower-case domain name) and wakes the relay, which signals the entity's workflow
 * (src/services/eventRelay.ts); the workflow obeys it in every mode and audits it with the acting key. 202 means
 * stored: it will be delivered however long Temporal is away. An entity the organization does not have is a 404.
 */
import { z } from 'zod';
import { enqueueCommand } from '../../db/repositories/commands';
import { entityKeyOf, type MonitoredEntityType } from '../../db/repositories/entities';
import { withTenant } from '../../db/tenant';
import { NotFoundError } from '../../lib/errors';
import type { OverrideCommand } from '../../workflows/mailboxSignals';
import { actorOf, authOf } from '../auth';
import type { Routes } from '../route';
import { ENTITY_PATHS } from './entities';

const OverrideBody = z
  .object({
    action: z.enum(['pause', 'resume']).describe('pause holds until a manual resume; resume starts probation (judged only on what is sent after it).'),
    reason: z.string().trim().min(1).max(500).describe('Why, in words; it appears in the audit log.'),
  })
  .openapi('OverrideRequest');

export const CommandAccepted = z
  .object({
    commandId: z.uuid().describe("The command's id; the workflow acts on it once, and the audit entry it writes names it."),
    status: z.literal('accepted'),
  })
  .openapi('CommandAccepted');

function mountOverride(routes: Routes, entityType: MonitoredEntityType, summary: string): void {
  const t = ENTITY_PATHS[entityType];
  routes.add({
    method: 'post',
    path: `${t.path}/:${t.param}/override`,
    summary,
    tags: ['overrides'],
    access: 'operator',
    bodyLimit: '8kb',
    params: z.object({ [t.param]: t.paramSchema }),
    body: OverrideBody,
    responses: { 202: { description: 'Stored; the workflow will act on it', schema: CommandAccepted } },
    handler: async ({ params, body, res, deps }) => {
      const auth = authOf(res);
      const actor = actorOf(auth);
      const id = params[t.param] ?? '';
      const commandId = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const entityKey = await entityKeyOf(tx, entityType, id);
        if (entityKey === undefined) throw new NotFoundError(`There is no ${t.noun} ${id} in this organization.`);
        const payload = (commandId: string): OverrideCommand => ({ commandId, action: body.action, reason: body.reason, actor, requestedAt: Date.now() });
        return enqueueCommand(tx, { organizationId: auth.organizationId, entityType, entityKey, kind: 'override', actor, payload });
      });
      deps.relayWaker.poke();
      res.status(202).json({ commandId, status: 'accepted' });
    },
  });
}

export function mountOverrides(routes: Routes): void {
  mountOverride(routes, 'mailbox', "Pause or resume a mailbox by hand (in every mode). Stored at once and delivered to the mailbox's workflow by the relay.");
  mountOverride(
    routes,
    'campaign',
    "Pause or resume a campaign by hand (in every mode): a pause holds it paused in Smartlead until a manual resume. Stored at once and delivered to the campaign's workflow by the relay.",
  );
  mountOverride(
    routes,
    'domain',
    "Pause or resume a sending domain by hand (in every mode): a pause holds its campaigns paused in Smartlead until a manual resume. Stored at once and delivered to the domain's workflow by the relay.",
  );
}
