/**
 * POST /v1/events: Drason's normalized events from any sender. Stored durably, with their relay-queue rows, in one
 * database call before the response — shared with the organization's other requests in flight (group commit,
 * src/services/ingestBatcher.ts); the relay counts them and signals bounces and failures to their mailbox's
 * workflow later (src/services/eventRelay.ts). A 2xx depends on PostgreSQL alone and means the events will be
 * processed.
 */
import { z } from 'zod';
import { classifyBounce } from '../../domain/bounceClass';
import { BOUNCE_CLASSES, MONITORED_EVENT_TYPES, type BounceClass } from '../../domain/events';
import { futureEventMessage, judgeEventTime, outOfRangeEventMessage, type EventTiming } from '../../domain/eventTiming';
import { ValidationError } from '../../lib/errors';
import { eventsIngested } from '../../lib/metrics';
import { authOf } from '../auth';
import type { Routes } from '../route';

export const NormalizedEvent = z
  .object({
    id: z.string().trim().min(1).max(200).describe('Idempotency key: a repeat is acknowledged and not counted again.'),
    type: z.enum(MONITORED_EVENT_TYPES),
    occurredAt: z.iso.datetime({ offset: true }),
    mailbox: z.email().max(320).describe('Sending mailbox (created on the fly when first seen).'),
    campaignId: z.union([z.string().min(1).max(100), z.number().int().nonnegative()]).transform(String).optional(),
    leadEmail: z.email().max(320).optional(),
    detail: z.record(z.string(), z.unknown()).optional(),
    bounceClass: z
      .enum(BOUNCE_CLASSES)
      .optional()
      .describe(
        'For HardBounce and DeliveryFailure: what the bounce says about the mailbox. Only DeliveryFailures classed reputation count as reputation blocks. Ignored for EmailSent.',
      ),
    diagnostic: z
      .string()
      .max(2000)
      .optional()
      .describe('The SMTP diagnostic of a bounce (e.g. "550 5.7.1 … blocked"). Without bounceClass it is classified from this text; kept in detail.diagnostic.'),
  })
  .openapi('NormalizedEvent');

type NormalizedEventInput = z.infer<typeof NormalizedEvent>;

/**
 * A bounce's class: the one given, else the diagnostic's (src/domain/bounceClass.ts), else none — storage then
 * gives a HardBounce list_quality and a DeliveryFailure unknown (migrations/006_mailbox_engine.ts).
 */
function bounceClassOf(e: NormalizedEventInput): BounceClass | undefined {
  if (e.type === 'EmailSent') return undefined;
  if (e.bounceClass !== undefined) return e.bounceClass;
  return e.diagnostic === undefined ? undefined : classifyBounce(e.diagnostic);
}

function detailOf(e: NormalizedEventInput): Record<string, unknown> | undefined {
  if (e.diagnostic === undefined) return e.detail;
  return { ...e.detail, diagnostic: e.diagnostic };
}

const EventBatch = z.object({ events: z.array(NormalizedEvent).min(1).max(1000) }).openapi('EventBatch');
const EventBatchAccepted = z.object({ accepted: z.number().int(), duplicates: z.number().int() }).openapi('EventBatchAccepted');

/** Why an event's time is refused, if it is: ahead of Drason's clock, or outside any plausible time. */
function refusalOf(timing: EventTiming): string | undefined {
  if (timing.kind === 'future') return futureEventMessage(timing.aheadMs);
  if (timing.kind === 'out_of_range') return outOfRangeEventMessage();
  return undefined;
}

export function mountEvents(routes: Routes): void {
  routes.add({
    method: 'post',
    path: '/v1/events',
    summary: 'Ingest normalized sender events (EmailSent, HardBounce, DeliveryFailure); up to 1000 per request.',
    tags: ['ingestion'],
    access: 'ingest',
    bodyLimit: '2mb',
    body: EventBatch,
    responses: { 202: { description: 'Stored; will be processed', schema: EventBatchAccepted } },
    handler: async ({ body, res, deps }) => {
      const { organizationId } = authOf(res);
      // Clock skew: a timestamp far in the future is the sender's bug, refused so it gets fixed; a very old one is
      // history, stored but not counted (docs/decisions/007-webhook-auth-replay-and-clock-skew.md).
      const now = Date.now();
      const timings = body.events.map((e) => judgeEventTime(Date.parse(e.occurredAt), now));
      const refused = timings.flatMap((t, i) => {
        const message = refusalOf(t);
        return message === undefined ? [] : [{ path: `events.${i}.occurredAt`, message }];
      });
      if (refused.length > 0) throw new ValidationError(`${refused.length} event(s) are timestamped in the future or at an implausible time; nothing was stored.`, refused);
      const stored = await deps.ingest.ingest(
        organizationId,
        body.events.map((e, i) => {
          const bounceClass = bounceClassOf(e);
          const detail = detailOf(e);
          return {
            idempotencyKey: e.id,
            type: e.type,
            source: 'api' as const,
            occurredAt: new Date(e.occurredAt),
            mailbox: e.mailbox,
            ...(e.campaignId === undefined ? {} : { campaignId: e.campaignId }),
            ...(e.leadEmail === undefined ? {} : { leadEmail: e.leadEmail }),
            ...(detail === undefined ? {} : { detail }),
            ...(bounceClass === undefined ? {} : { bounceClass }),
            // Older than the longest window: stored as history, never counted.
            ...(timings[i]!.kind === 'stale' ? { flags: ['stale'] } : {}),
          };
        }),
      );
      if (stored.queued > 0) deps.relayWaker.poke();
      // By type: the store says how many were new, not which; a batch with both is counted as `partial`.
      const duplicate = stored.duplicates === 0 ? 'false' : stored.accepted === 0 ? 'true' : 'partial';
      for (const e of body.events) eventsIngested.inc({ source: 'api', type: e.type, duplicate });
      res.status(202).json({ accepted: stored.accepted, duplicates: stored.duplicates });
    },
  });
}
