/**
 * POST /v1/mailboxes/:email/override (operator): a manual pause or resume. The API stores the command
 * (entity_commands) and wakes the relay, which signals the mailbox's workflow (src/services/eventRelay.ts); the
 * workflow obeys it in every mode and audits it with the acting key. 202 means stored: it will be delivered however
 * long Temporal is away. Domain and campaign overrides arrive with issue 9.
 */
import { z } from 'zod';
import { enqueueCommand } from '../../db/repositories/commands';
import { getMailbox } from '../../db/repositories/entities';
import { withTenant } from '../../db/tenant';
import { NotFoundError } from '../../lib/errors';
import type { OverrideCommand } from '../../workflows/mailboxSignals';
import { actorOf, authOf } from '../auth';
import type { Routes } from '../route';

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

export function mountOverrides(routes: Routes): void {
  routes.add({
    method: 'post',
    path: '/v1/mailboxes/:email/override',
    summary: "Pause or resume a mailbox by hand (in every mode). Stored at once and delivered to the mailbox's workflow by the relay.",
    tags: ['overrides'],
    access: 'operator',
    bodyLimit: '8kb',
    params: z.object({ email: z.string().min(1).max(320) }),
    body: OverrideBody,
    responses: { 202: { description: 'Stored; the workflow will act on it', schema: CommandAccepted } },
    handler: async ({ params, body, res, deps }) => {
      const auth = authOf(res);
      const actor = actorOf(auth);
      const commandId = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const mailbox = await getMailbox(tx, params.email);
        if (mailbox === undefined) throw new NotFoundError(`There is no mailbox ${params.email} in this organization.`);
        const payload = (commandId: string): OverrideCommand => ({ commandId, action: body.action, reason: body.reason, actor, requestedAt: Date.now() });
        return enqueueCommand(tx, { organizationId: auth.organizationId, entityType: 'mailbox', entityKey: mailbox.key, kind: 'override', actor, payload });
      });
      deps.relayWaker.poke();
      res.status(202).json({ commandId, status: 'accepted' });
    },
  });
}
