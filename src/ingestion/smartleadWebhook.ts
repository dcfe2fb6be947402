/**
 * Smartlead webhook body → the event Drason stores. Pure (no I/O, no clock of its own: callers pass the receive
 * time), table-tested in test/unit/smartleadWebhook.test.ts.
 *
 * - EMAIL_SENT → EmailSent; EMAIL_BOUNCE → HardBounce when the SMTP diagnostic says the address is bad (5.1.x and
 *   friends), else DeliveryFailure (deferrals, full mailboxes, policy blocks). When in doubt, not hard: a hard bounce
 *   drives pauses, and Drason pauses conservatively.
 * - Every other event type (known or not) is stored under its own name and not counted.
 * - Idempotency key: event_type + stats_id, else event_type + sl_email_lead_id + event_timestamp, else a hash of
 *   the body (without its secret_key).
 * - Stored detail: the body without its secret_key and without email content (PRD §14: no access to email content);
 *   SMTP diagnostics of bounces are kept, they explain the classification.
 * - Timestamps: more than 15 minutes in the future are replaced by the receive time (flag `future_clamped`), and
 *   so are implausible ones, before 2000 or from 2100 on (flag `out_of_range_clamped`); older than 7 days are kept
 *   but not counted (flag `stale`). See docs/decisions/007-webhook-auth-replay-and-clock-skew.md.
 */
import crypto from 'node:crypto';
import { judgeEventTime } from '../domain/eventTiming';
import type { MonitoredEventType } from '../domain/events';

export type EventFlag = 'future_clamped' | 'out_of_range_clamped' | 'stale' | 'no_timestamp' | 'no_mailbox';

export interface MappedSmartleadEvent {
  /** Smartlead's event_type as sent (UNKNOWN when absent). */
  eventType: string;
  /** What the event is stored as: a monitored type, or Smartlead's own event type. */
  type: MonitoredEventType | string;
  /** Monitored and fresh: it reaches the mailbox's workflow and its windows. */
  counted: boolean;
  idempotencyKey: string;
  occurredAt: Date;
  flags: EventFlag[];
  mailbox?: string;
  campaignId?: string;
  leadEmail?: string;
  detail: Record<string, unknown>;
}

export type BounceKind = 'hard' | 'soft';

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

/** Enhanced status codes (RFC 3463) that mean the recipient address itself is bad. 5.1.7/5.1.8 are about the sender. */
const HARD_ENHANCED = /\b5\.(1\.(0|1|2|3|4|6|10)|2\.1)\b/;
const ANY_ENHANCED = /\b[245]\.\d{1,3}\.\d{1,3}\b/;
const BASIC_CODE = /(^|\s)([245])\d\d([\s-]|$)/;
const HARD_PHRASES = /(user unknown|unknown user|no such user|does not exist|recipient not found|invalid recipient|recipient address rejected|address not found|no mailbox here|mailbox not found)/i;

/** The SMTP diagnostic of a bounce body: `bounce_message.text` (or the string itself, or `bounce_reason`). */
export function bounceDiagnostic(body: Record<string, unknown>): string {
  const message = body.bounce_message;
  if (typeof message === 'string') return message;
  if (typeof message === 'object' && message !== null) {
    const m = message as Record<string, unknown>;
    const t = text(m.text) ?? text(m.html);
    if (t !== undefined) return t;
  }
  return text(body.bounce_reason) ?? '';
}

export function classifyBounce(diagnostic: string): BounceKind {
  if (HARD_ENHANCED.test(diagnostic)) return 'hard';
  // An enhanced code that is not an address failure settles it: soft.
  if (ANY_ENHANCED.test(diagnostic)) return 'soft';
  const basic = BASIC_CODE.exec(diagnostic)?.[2];
  if (basic !== undefined && basic !== '5') return 'soft';
  return HARD_PHRASES.test(diagnostic) ? 'hard' : 'soft';
}

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
  const eventType = text(body.event_type) ?? 'UNKNOWN';
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

function monitoredType(eventType: string, body: Record<string, unknown>): MonitoredEventType | undefined {
  if (eventType === 'EMAIL_SENT') return 'EmailSent';
  if (eventType === 'EMAIL_BOUNCE') return classifyBounce(bounceDiagnostic(body)) === 'hard' ? 'HardBounce' : 'DeliveryFailure';
  return undefined;
}

export function mapSmartleadWebhook(body: Record<string, unknown>, receivedAt: Date): MappedSmartleadEvent {
  const eventType = text(body.event_type) ?? 'UNKNOWN';
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

  const mailbox = email(body.from_email);
  let type: string = eventType;
  let monitored = false;
  const mapped = monitoredType(eventType, body);
  if (mapped !== undefined && mailbox === undefined) flags.push('no_mailbox');
  else if (mapped !== undefined) {
    type = mapped;
    monitored = true;
  }

  const campaignId = text(body.campaign_id);
  const leadEmail = email(body.to_email) ?? email(body.sl_lead_email);
  return {
    eventType,
    type,
    counted: monitored && timing.kind !== 'stale',
    idempotencyKey: smartleadIdempotencyKey(body),
    occurredAt,
    flags,
    ...(mailbox === undefined ? {} : { mailbox }),
    ...(campaignId === undefined ? {} : { campaignId }),
    ...(leadEmail === undefined ? {} : { leadEmail }),
    detail: sanitizeSmartleadBody(body),
  };
}
