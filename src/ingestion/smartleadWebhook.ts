/**
 * Smartlead webhook body → the event Drason stores. Pure (no I/O, no clock of its own: callers pass the receive
 * time), table-tested in test/unit/smartleadWebhook.test.ts.
 *
 * - Both shapes Smartlead's documentation shows for the same webhook are read: the event type from `event_type` or
 *   `event` (EMAIL_BOUNCED is EMAIL_BOUNCE), the mailbox from `from_email`, or else only its Smartlead account id
 *   (`email_account_id`; the alert's `accountId`), which storage resolves to the synced mailbox. So no bounce is
 *   stored under a name Drason does not count.
 * - EMAIL_SENT → EmailSent. EMAIL_BOUNCE → a class from its SMTP diagnostic (src/domain/bounceClass.ts): HardBounce
 *   when the address is bad (`list_quality`), else DeliveryFailure carrying its class (reputation, transient,
 *   account, unknown). EMAIL_ACCOUNT_DISCONNECTED → DeliveryFailure of that mailbox, class `account`.
 * - Every other event type (known or not) is stored under its own name and not counted.
 * - Idempotency key: event type + stats_id, else event type + sl_email_lead_id + event_timestamp, else a hash of
 *   the body (without its secret_key). The event type in the key is the canonical one, whichever shape carried it.
 * - Stored detail: the body without its secret_key and without email content (PRD §14: no access to email content);
 *   SMTP diagnostics of bounces are kept, they explain the classification.
 * - Timestamps: more than 15 minutes in the future are replaced by the receive time (flag `future_clamped`), and
 *   so are implausible ones, before 2000 or from 2100 on (flag `out_of_range_clamped`); older than 7 days are kept
 *   but not counted (flag `stale`). See docs/decisions/007-webhook-auth-replay-and-clock-skew.md.
 */
import crypto from 'node:crypto';
import { classifyBounce } from '../domain/bounceClass';
import { judgeEventTime } from '../domain/eventTiming';
import type { BounceClass, MonitoredEventType } from '../domain/events';
import { canonicalSmartleadEventType } from '../smartlead/schemas';

export type EventFlag = 'future_clamped' | 'out_of_range_clamped' | 'stale' | 'no_timestamp' | 'no_mailbox';

export interface MappedSmartleadEvent {
  /** Smartlead's event type as sent, in `event_type` or `event` (UNKNOWN when absent). */
  eventType: string;
  /** What the event is stored as: a monitored type, or Smartlead's own event type (canonical name). */
  type: MonitoredEventType | string;
  /** For HardBounce and DeliveryFailure: what the bounce says about the mailbox. */
  bounceClass?: BounceClass;
  /** Monitored and fresh: it reaches the mailbox's workflow and its windows. */
  counted: boolean;
  idempotencyKey: string;
  occurredAt: Date;
  flags: EventFlag[];
  mailbox?: string;
  /** Smartlead's email account id, when the body names the account but not its address (storage resolves it). */
  mailboxAccountId?: string;
  campaignId?: string;
  leadEmail?: string;
  detail: Record<string, unknown>;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_KEY_LENGTH = 200;

const text = (value: unknown): string | undefined => {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
};
const email = (value: unknown): string | undefined => {
  const v = text(value);
  return v !== undefined && v.length <= 320 && EMAIL.test(v) ? v.toLowerCase() : undefined;
};

/** `value` itself when a string, else its `field` when `value` is an object. */
const textIn = (value: unknown, ...fields: string[]): string | undefined => {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const field of fields) {
    const t = text((value as Record<string, unknown>)[field]);
    if (t !== undefined) return t;
  }
  return undefined;
};

/**
 * The SMTP diagnostic of a bounce or alert body: `bounce_message.text` (or `.html`, or the string itself), else
 * `bounce_reason`, else an alert's `error` (a string or `{message}`).
 */
export function bounceDiagnostic(body: Record<string, unknown>): string {
  return textIn(body.bounce_message, 'text', 'html') ?? text(body.bounce_reason) ?? textIn(body.error, 'message') ?? '';
}

/** Smartlead's event type as sent, from either shape (`event_type` or `event`). */
const sentEventType = (body: Record<string, unknown>): string => text(body.event_type) ?? text(body.event) ?? 'UNKNOWN';

/** Email content and secrets never reach the event store. */
const CONTENT_FIELDS = new Set(['secret_key', 'subject', 'preview_text', 'email_body', 'reply_body']);
const MESSAGE_FIELDS = new Set(['sent_message', 'reply_message']);
const MAX_DIAGNOSTIC = 2000;

export function sanitizeSmartleadBody(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    if (CONTENT_FIELDS.has(key)) continue;
    if (MESSAGE_FIELDS.has(key) && typeof value === 'object' && value !== null) {
      const { message_id: messageId, time } = value as Record<string, unknown>;
      out[key] = { message_id: messageId ?? null, time: time ?? null };
    } else if (key === 'bounce_message' && typeof value === 'object' && value !== null) {
      const { message_id: messageId, time } = value as Record<string, unknown>;
      out[key] = { message_id: messageId ?? null, time: time ?? null, text: bounceDiagnostic(body).slice(0, MAX_DIAGNOSTIC) };
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** JSON with sorted keys, so the same body always hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (s: string): string => crypto.createHash('sha256').update(s).digest('hex');

export function smartleadIdempotencyKey(body: Record<string, unknown>): string {
  const eventType = canonicalSmartleadEventType(sentEventType(body));
  const statsId = text(body.stats_id);
  const leadId = text(body.sl_email_lead_id);
  const timestamp = text(body.event_timestamp);
  let key: string;
  if (statsId !== undefined) key = `smartlead:${eventType}:stats:${statsId}`;
  else if (leadId !== undefined && timestamp !== undefined) key = `smartlead:${eventType}:lead:${leadId}:${timestamp}`;
  else {
    const { secret_key: _secret, ...rest } = body;
    return `smartlead:body:${sha256(canonicalJson(rest))}`;
  }
  return key.length <= MAX_KEY_LENGTH ? key : `smartlead:${eventType}:sha256:${sha256(key)}`;
}

/** What a monitored Smartlead event is stored as; undefined for the events Drason only stores. */
function monitoredType(eventType: string, body: Record<string, unknown>): { type: MonitoredEventType; bounceClass?: BounceClass } | undefined {
  if (eventType === 'EMAIL_SENT') return { type: 'EmailSent' };
  if (eventType === 'EMAIL_BOUNCE' || eventType === 'EMAIL_ACCOUNT_DISCONNECTED') {
    const bounceClass = classifyBounce(bounceDiagnostic(body), eventType);
    return { type: bounceClass === 'list_quality' ? 'HardBounce' : 'DeliveryFailure', bounceClass };
  }
  return undefined;
}

/** The sending mailbox: `from_email`; an account alert names it `email`. */
const senderOf = (eventType: string, body: Record<string, unknown>): string | undefined =>
  email(body.from_email) ?? (eventType === 'EMAIL_ACCOUNT_DISCONNECTED' ? email(body.email) : undefined);

export function mapSmartleadWebhook(body: Record<string, unknown>, receivedAt: Date): MappedSmartleadEvent {
  const eventType = sentEventType(body);
  const canonical = canonicalSmartleadEventType(eventType);
  const flags: EventFlag[] = [];
  const stamp = text(body.event_timestamp) ?? text(body.time_sent);
  const parsed = stamp === undefined ? Number.NaN : Date.parse(stamp);
  let occurredAt = Number.isNaN(parsed) ? receivedAt : new Date(parsed);
  if (Number.isNaN(parsed)) flags.push('no_timestamp');
  const timing = judgeEventTime(occurredAt.getTime(), receivedAt.getTime());
  if (timing.kind === 'future' || timing.kind === 'out_of_range') {
    // Smartlead cannot fix its clock on our say-so and would retry a refusal forever; keep the event, at our time.
    occurredAt = receivedAt;
    flags.push(timing.kind === 'future' ? 'future_clamped' : 'out_of_range_clamped');
  } else if (timing.kind === 'stale') {
    flags.push('stale');
  }

  const mailbox = senderOf(canonical, body);
  // The account id matters only when the address is missing: storage resolves it to the mailbox synced with it.
  const accountId = mailbox === undefined ? (text(body.email_account_id) ?? text(body.accountId)) : undefined;
  // A monitored event needs its mailbox, by address or by account id; without either it is stored, not counted.
  const found = monitoredType(canonical, body);
  const mapped = mailbox === undefined && accountId === undefined ? undefined : found;
  if (found !== undefined && mapped === undefined) flags.push('no_mailbox');

  const campaignId = text(body.campaign_id);
  const leadEmail = email(body.to_email) ?? email(body.sl_lead_email);
  return {
    eventType,
    type: mapped?.type ?? canonical,
    ...(mapped?.bounceClass === undefined ? {} : { bounceClass: mapped.bounceClass }),
    counted: mapped !== undefined && timing.kind !== 'stale',
    idempotencyKey: smartleadIdempotencyKey(body),
    occurredAt,
    flags,
    ...(mailbox === undefined ? {} : { mailbox }),
    ...(accountId === undefined ? {} : { mailboxAccountId: accountId }),
    ...(campaignId === undefined ? {} : { campaignId }),
    ...(leadEmail === undefined ? {} : { leadEmail }),
    detail: sanitizeSmartleadBody(body),
  };
}
