/**
 * POST /v1/webhooks/smartlead/:token — Smartlead's webhook, exactly as Smartlead sends it.
 *
 * The token in the path authenticates (an unknown token is a 404, like an unknown route). When the organization
 * configured a webhook secret, the body's secret_key must match (else 401, counted and audited at most once a
 * minute); the token lookup brings the secret's hash along, so checking it costs no query. Every accepted body is
 * stored (without secret_key or email content) in one database call before the answer (group commit with the
 * organization's other requests in flight, src/services/ingestBatcher.ts), idempotent on
 * (organization, source, key): a replay is acknowledged as a duplicate and changes nothing. Temporal is never
 * waited on; the relay counts the event and signals bounces later. Unknown event types are stored and acknowledged,
 * never refused. Both documented shapes of the body are read (`event_type` or `event`, `from_email` or only
 * `email_account_id`); a bounce's class (src/domain/bounceClass.ts) is stored with it and reported in the answer.
 *
 * Garbage is refused with 422, like on every route (src/api/route.ts): strings holding NUL or unpaired surrogates,
 * nesting deeper than MAX_INPUT_DEPTH, a body that is not a JSON object. Smartlead retries a failed delivery for
 * hours; a 4xx tells it to stop, which is what a body Drason can never store deserves. Bad timestamps are not
 * garbage: they are replaced by the receive time and flagged (src/ingestion/smartleadWebhook.ts).
 */
import { z } from 'zod';
import { appendAudit } from '../../db/repositories/audit';
import { checkWebhookSecret } from '../../db/repositories/integrations';
import { withTenant } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { BOUNCE_CLASSES } from '../../domain/events';
import { mapSmartleadWebhook } from '../../ingestion/smartleadWebhook';
import { UnauthenticatedError } from '../../lib/errors';
import { eventsIngested, webhookRejections } from '../../lib/metrics';
import { webhookOf, type WebhookContext } from '../auth';
import type { ApiDeps } from '../deps';
import type { Routes } from '../route';

const SmartleadBody = z.record(z.string(), z.unknown()).openapi('SmartleadWebhookBody', {
  description:
    'The body Smartlead sends (event_type or event, campaign_id, from_email or email_account_id, to_email, event_timestamp, stats_id, secret_key, bounce_message, …).',
});
const Received = z
  .object({
    received: z.literal(true),
    duplicate: z.boolean(),
    eventType: z.string(),
    recordedAs: z.string().describe('EmailSent, HardBounce, DeliveryFailure, or Smartlead’s own event type when not monitored.'),
    bounceClass: z
      .enum(BOUNCE_CLASSES)
      .optional()
      .describe('For HardBounce and DeliveryFailure: list_quality (bad address), reputation (the receiver refuses this sender), transient, account (the mailbox cannot send) or unknown.'),
    counted: z.boolean().describe('Whether the event was queued to count toward the mailbox’s windows (false for a duplicate, a stale event, or a mailbox Drason cannot tell).'),
    flags: z.array(z.string()),
  })
  .openapi('SmartleadWebhookReceived');

/** A refused webhook delivery, audited once a minute per reason however many deliveries are refused. */
function auditWebhookRejection(deps: ApiDeps, webhook: WebhookContext, reason: string, message: string): Promise<boolean> {
  const { organizationId, tokenId } = webhook;
  return withTenant(deps.db, organizationId, (tx) =>
    appendAudit(tx, {
      organizationId,
      entityType: 'integration',
      entityId: 'smartlead',
      action: 'webhook_rejected',
      actor: `webhook-token:${tokenId}`,
      trigger: { signals: [reason], outcome: 'rejected' },
      message,
      engineVersion: ENGINE_VERSION,
      idempotencyKey: `webhook-rejected:${tokenId}:${reason.replace(/^secret_key_/, '')}:${Math.floor(Date.now() / 60_000)}`,
    }),
  );
}

export function mountSmartleadWebhook(routes: Routes): void {
  routes.add({
    method: 'post',
    path: '/v1/webhooks/smartlead/:token',
    summary: 'Smartlead webhook receiver (the token in the URL authenticates).',
    tags: ['ingestion'],
    access: 'webhook',
    bodyLimit: '256kb',
    params: z.object({ token: z.string() }),
    body: SmartleadBody,
    responses: { 202: { description: 'Stored (or a duplicate); will be processed', schema: Received } },
    // A body that is not a JSON object, or holds values Postgres cannot store, is refused (422) and audited.
    rejected: ({ error, res, deps }) =>
      auditWebhookRejection(
        deps,
        webhookOf(res),
        'invalid_body',
        `A Smartlead webhook was refused and nothing was stored: ${(error.options.errors ?? []).map((p) => `${p.path === '' ? 'the body' : p.path} ${p.message}`).join('; ') || error.message}.`,
      ),
    handler: async ({ body, res, deps }) => {
      const { organizationId, secretKeyHash } = webhookOf(res);
      const secret = checkWebhookSecret(secretKeyHash, body.secret_key);
      if (secret === 'missing' || secret === 'mismatch') {
        await auditWebhookRejection(
          deps,
          webhookOf(res),
          `secret_key_${secret}`,
          `A Smartlead webhook was refused because its secret_key was ${secret === 'missing' ? 'missing' : 'wrong'}; make the webhook's secret in Smartlead match the one saved with PUT /v1/integrations/smartlead.`,
        );
        webhookRejections.inc({ provider: 'smartlead', reason: `secret_key_${secret}` });
        throw new UnauthenticatedError(`The webhook body's secret_key is ${secret === 'missing' ? 'missing' : 'not the one configured for this organization'}.`);
      }

      const event = mapSmartleadWebhook(body, new Date());
      const stored = await deps.ingest.ingest(organizationId, [
        {
          idempotencyKey: event.idempotencyKey,
          type: event.type,
          source: 'smartlead',
          occurredAt: event.occurredAt,
          ...(event.mailbox === undefined ? {} : { mailbox: event.mailbox }),
          ...(event.mailboxAccountId === undefined ? {} : { mailboxAccountId: event.mailboxAccountId }),
          ...(event.bounceClass === undefined ? {} : { bounceClass: event.bounceClass }),
          ...(event.campaignId === undefined ? {} : { campaignId: event.campaignId }),
          ...(event.leadEmail === undefined ? {} : { leadEmail: event.leadEmail }),
          detail: event.detail,
          flags: event.flags,
        },
      ]);
      if (stored.queued > 0) deps.relayWaker.poke();
      const duplicate = stored.accepted === 0;
      eventsIngested.inc({ source: 'smartlead', type: event.type, duplicate: String(duplicate) });
      res.status(202).json({
        received: true,
        duplicate,
        eventType: event.eventType,
        recordedAs: event.type,
        ...(event.bounceClass === undefined ? {} : { bounceClass: event.bounceClass }),
        counted: stored.queued > 0,
        flags: event.flags,
      });
    },
  });
}
