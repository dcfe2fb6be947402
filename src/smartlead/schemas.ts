/**
 * zod schemas for Smartlead's responses (and webhook bodies), and the plain typed objects the client returns.
 *
 * Principles:
 *  - Tolerant: unknown fields are ignored; numbers sent as numeric strings are accepted; where Smartlead's
 *    documentation shows two shapes for the same response (bare array vs wrapped, `upload_count` vs
 *    `inserted_count` vs `added_count` ...) every documented shape is accepted.
 *  - Strict on what Drason relies on: ids, emails, statuses. A response missing those is a
 *    `SmartleadResponseError`, never a silently wrong object.
 *  - Smartlead ids are integers on the wire; they are returned as strings (Drason's API contract).
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------------
// Primitives
// ---------------------------------------------------------------------------------------------------------

/** An id: integer or non-empty string on the wire, always a string out. */
export const smartleadId = z
  .union([z.number().int(), z.string().trim().min(1)])
  .transform((v) => String(v));

/** A count: number or numeric string; null/absent stay undefined. */
const count = z
  .union([z.number(), z.string().regex(/^-?\d+(\.\d+)?$/).transform(Number)])
  .nullish()
  .transform((v) => (v === null ? undefined : v));

const optText = z
  .string()
  .nullish()
  .transform((v) => v ?? null);

const optBool = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['true', 'false'])])
  .nullish()
  .transform((v) => (v === null || v === undefined ? null : v === true || v === 1 || v === 'true'));

export function domainOf(email: string): string {
  const at = email.lastIndexOf('@');
  return at >= 0 ? email.slice(at + 1).trim().toLowerCase() : '';
}

/** Accept `[...]`, `{data: [...]}` or `{<key>: [...]}`: Smartlead documents bare arrays, some proxies wrap them. */
function listOf<T extends z.ZodType>(item: T, ...keys: string[]) {
  const wrappers = ['data', ...keys].map((k) => z.object({ [k]: z.array(item) }).transform((o) => o[k] as z.output<T>[]));
  return z.union([z.array(item), ...wrappers]);
}

// ---------------------------------------------------------------------------------------------------------
// Campaigns
// ---------------------------------------------------------------------------------------------------------

/** Statuses Smartlead documents for a campaign. Others are passed through as-is (upper-cased). */
export const SMARTLEAD_CAMPAIGN_STATUSES = ['DRAFTED', 'ACTIVE', 'PAUSED', 'STOPPED', 'COMPLETED', 'ARCHIVED'] as const;
export type SmartleadCampaignStatus = (typeof SMARTLEAD_CAMPAIGN_STATUSES)[number];

/** Values accepted by POST /campaigns/{id}/status (note: `START`, not `ACTIVE`). */
export type SmartleadCampaignStatusCommand = 'START' | 'PAUSED' | 'STOPPED';

export interface SmartleadCampaign {
  id: string;
  name: string;
  status: SmartleadCampaignStatus | (string & {});
  clientId: string | null;
  parentCampaignId: string | null;
  createdAt: string | null;
  updatedAt: string | null;
}

export const campaignSchema = z
  .object({
    id: smartleadId,
    name: optText,
    status: z.string().min(1),
    client_id: smartleadId.nullish(),
    parent_campaign_id: smartleadId.nullish(),
    created_at: optText,
    updated_at: optText,
  })
  .transform(
    (c): SmartleadCampaign => ({
      id: c.id,
      name: c.name ?? '',
      status: c.status.trim().toUpperCase(),
      clientId: c.client_id ?? null,
      parentCampaignId: c.parent_campaign_id ?? null,
      createdAt: c.created_at,
      updatedAt: c.updated_at,
    }),
  );

export const campaignListSchema = listOf(campaignSchema, 'campaigns');

/** POST /campaigns/{id}/status: `{ok: true}` (reference) or `{success, message, campaign: {id, status}}` (API docs). */
export const campaignStatusResponseSchema = z.object({
  ok: z.boolean().optional(),
  success: z.boolean().optional(),
  message: z.string().nullish(),
  campaign: z.object({ id: smartleadId.optional(), status: z.string().optional() }).nullish(),
});

// ---------------------------------------------------------------------------------------------------------
// Email accounts (mailboxes)
// ---------------------------------------------------------------------------------------------------------

export interface SmartleadEmailAccount {
  id: string;
  fromEmail: string;
  fromName: string | null;
  /** Lower-cased domain part of `fromEmail`. */
  domain: string;
  /** `is_suspended`; false when Smartlead does not say. */
  isSuspended: boolean;
  /** SMTP and IMAP both connected (`is_smtp_success`/`is_imap_success`, or `connection_status`); null if unknown. */
  connected: boolean | null;
  /** GMAIL | OUTLOOK | SMTP ... */
  type: string | null;
  maxEmailsPerDay: number | null;
  dailySentCount: number | null;
  campaignCount: number | null;
  clientId: string | null;
  warmupStatus: string | null;
}

export const emailAccountSchema = z
  .object({
    id: smartleadId,
    from_email: z.string().trim().min(3),
    from_name: optText,
    type: optText,
    is_suspended: optBool,
    is_smtp_success: optBool,
    is_imap_success: optBool,
    connection_status: optText,
    message_per_day: count,
    max_email_per_day: count,
    daily_sent_count: count,
    campaign_count: count,
    client_id: smartleadId.nullish(),
    warmup_details: z.object({ status: optText }).nullish(),
  })
  .transform((a): SmartleadEmailAccount => {
    let connected: boolean | null = null;
    if (a.is_smtp_success !== null || a.is_imap_success !== null) {
      connected = a.is_smtp_success !== false && a.is_imap_success !== false;
    } else if (a.connection_status !== null) {
      connected = a.connection_status.toUpperCase() === 'CONNECTED';
    }
    return {
      id: a.id,
      fromEmail: a.from_email,
      fromName: a.from_name,
      domain: domainOf(a.from_email),
      isSuspended: a.is_suspended ?? false,
      connected,
      type: a.type,
      maxEmailsPerDay: a.message_per_day ?? a.max_email_per_day ?? null,
      dailySentCount: a.daily_sent_count ?? null,
      campaignCount: a.campaign_count ?? null,
      clientId: a.client_id ?? null,
      warmupStatus: a.warmup_details?.status ?? null,
    };
  });

export const emailAccountListSchema = listOf(emailAccountSchema, 'email_accounts', 'emailAccounts');

/**
 * Generic acknowledgement: `{ok: true}`, `{ok: true, data: "success"}`, `{success: true, message, data}`.
 * `ok: false` / `success: false` is a refusal (the client raises SmartleadBadRequestError).
 */
export const ackSchema = z.object({
  ok: z.boolean().optional(),
  success: z.boolean().optional(),
  message: z.string().nullish(),
  error: z.union([z.string(), z.object({ message: z.string().optional() })]).nullish(),
});

// ---------------------------------------------------------------------------------------------------------
// Leads
// ---------------------------------------------------------------------------------------------------------

/** One lead as sent to POST /campaigns/{id}/leads. Only `email` is required by Smartlead. */
export interface SmartleadLeadInput {
  email: string;
  first_name?: string;
  last_name?: string;
  company_name?: string;
  phone_number?: string;
  website?: string;
  location?: string;
  linkedin_profile?: string;
  company_url?: string;
  custom_fields?: Record<string, string | number | boolean | null>;
}

/** Lead-upload settings Smartlead documents. Unknown keys are rejected by Smartlead ("settings.x is not allowed"). */
export interface SmartleadLeadUploadSettings {
  ignore_global_block_list: boolean;
  ignore_unsubscribe_list: boolean;
  ignore_duplicate_leads_in_other_campaign: boolean;
}

/**
 * POST /campaigns/{id}/leads. Documented shapes:
 *  - help-center reference: `{ok, upload_count, total_leads, already_added_to_campaign, duplicate_count,
 *    invalid_email_count, invalid_emails, unsubscribed_leads, block_count, bounce_count, is_lead_limit_exhausted,
 *    lead_import_stopped_count}`
 *  - OpenAPI: `{ok, inserted_count, duplicate_count, blocked_count}`
 *  - lead-management guide: `{added_count, skipped_count}`
 */
export const addLeadsResponseSchema = z.object({
  ok: z.boolean().optional(),
  upload_count: count,
  uploaded_count: count,
  inserted_count: count,
  added_count: count,
  total_leads: count,
  already_added_to_campaign: count,
  duplicate_count: count,
  invalid_email_count: count,
  invalid_emails: z.array(z.string()).nullish(),
  block_count: count,
  blocked_count: count,
  bounce_count: count,
  skipped_count: count,
  unsubscribed_leads: z.union([z.array(z.unknown()), z.number()]).nullish(),
  unsubscribed_count: count,
  is_lead_limit_exhausted: z.boolean().nullish(),
  lead_import_stopped_count: count,
  message: z.string().nullish(),
});
export type AddLeadsRawResponse = z.output<typeof addLeadsResponseSchema>;

export interface AddLeadsResult {
  campaignId: string;
  /** Distinct (case-insensitive) emails sent to Smartlead after local de-duplication. */
  requested: number;
  /** Emails dropped locally because they appeared more than once in the input. */
  droppedLocalDuplicates: number;
  /** Leads Smartlead reports as newly added. */
  added: number;
  /** Leads already in this campaign (not added again). */
  alreadyInCampaign: number;
  /** Duplicates Smartlead reports (within the upload, or in another campaign). */
  duplicates: number;
  invalid: number;
  invalidEmails: string[];
  blocked: number;
  unsubscribed: number;
  /** The unsubscribed leads' emails, when Smartlead lists them (it may give only a count). */
  unsubscribedEmails: string[];
  /** Leads Smartlead reports as skipped for any reason (when it gives such a total). */
  skipped: number;
  leadLimitExhausted: boolean;
  /** Number of POSTs made (chunks of at most 100 leads). */
  requests: number;
}

/** A result with nothing requested and nothing counted yet. */
export function emptyAddLeadsResult(campaignId: string): AddLeadsResult {
  return {
    campaignId,
    requested: 0,
    droppedLocalDuplicates: 0,
    added: 0,
    alreadyInCampaign: 0,
    duplicates: 0,
    invalid: 0,
    invalidEmails: [],
    blocked: 0,
    unsubscribed: 0,
    unsubscribedEmails: [],
    skipped: 0,
    leadLimitExhausted: false,
    requests: 0,
  };
}

export interface SmartleadLeadCampaignLink {
  campaignId: string;
  campaignName: string | null;
  campaignLeadMapId: string | null;
}

export interface SmartleadLead {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  companyName: string | null;
  isUnsubscribed: boolean;
  createdAt: string | null;
  campaigns: SmartleadLeadCampaignLink[];
}

const leadObjectSchema = z.object({
  id: smartleadId.optional(),
  email: z.string().optional(),
  first_name: optText,
  last_name: optText,
  company_name: optText,
  is_unsubscribed: optBool,
  created_at: optText,
  lead_campaign_data: z
    .array(
      z.object({
        campaign_id: smartleadId,
        campaign_name: optText,
        campaign_lead_map_id: smartleadId.nullish(),
      }),
    )
    .nullish(),
});

/** GET /leads/?email=: the lead, or `{}` when not found (documented); tolerate an array or `null`. */
export const leadByEmailResponseSchema = z
  .union([z.null(), z.array(leadObjectSchema), leadObjectSchema])
  .transform((raw): SmartleadLead | null => {
    const l = Array.isArray(raw) ? raw[0] : raw;
    if (l === null || l === undefined || l.id === undefined) return null;
    return {
      id: l.id,
      email: l.email ?? '',
      firstName: l.first_name,
      lastName: l.last_name,
      companyName: l.company_name,
      isUnsubscribed: l.is_unsubscribed ?? false,
      createdAt: l.created_at,
      campaigns: (l.lead_campaign_data ?? []).map((c) => ({
        campaignId: c.campaign_id,
        campaignName: c.campaign_name,
        campaignLeadMapId: c.campaign_lead_map_id ?? null,
      })),
    };
  });

// ---------------------------------------------------------------------------------------------------------
// Webhooks (what Smartlead POSTs to Drason)
// ---------------------------------------------------------------------------------------------------------

export const SMARTLEAD_WEBHOOK_EVENT_TYPES = [
  'EMAIL_SENT',
  'FIRST_EMAIL_SENT',
  'EMAIL_OPEN',
  'EMAIL_LINK_CLICK',
  'EMAIL_REPLY',
  'EMAIL_BOUNCE',
  'LEAD_UNSUBSCRIBED',
  'LEAD_CATEGORY_UPDATED',
  'CAMPAIGN_STATUS_CHANGED',
  'UNTRACKED_REPLIES',
  'MANUAL_STEP_REACHED',
  'EMAIL_ACCOUNT_DISCONNECTED',
] as const;
export type SmartleadWebhookEventType = (typeof SMARTLEAD_WEBHOOK_EVENT_TYPES)[number];

/** Other names Smartlead's documentation gives the same event (some pages write EMAIL_BOUNCED). */
export const SMARTLEAD_WEBHOOK_EVENT_ALIASES: Readonly<Record<string, SmartleadWebhookEventType>> = { EMAIL_BOUNCED: 'EMAIL_BOUNCE' };

/** The one name Drason uses for an event type as sent: trimmed, upper-cased, aliases resolved. */
export function canonicalSmartleadEventType(sent: string): string {
  const upper = sent.trim().toUpperCase();
  return SMARTLEAD_WEBHOOK_EVENT_ALIASES[upper] ?? upper;
}

const messagePart = z
  .object({ message_id: optText, html: optText, text: optText, time: optText })
  .partial();

/**
 * The flat webhook body (help-center "Response Structure"). Loose: every other field is kept, so the raw event
 * can be stored verbatim. Unknown event types parse fine (Drason stores and acknowledges them).
 *
 * Both shapes Smartlead's documentation shows for the same webhook are accepted: the event type in `event_type`
 * or in `event`, the sending mailbox as `from_email` or only as its account id `email_account_id`. The alert
 * EMAIL_ACCOUNT_DISCONNECTED comes as `{accountId, email, error}`.
 */
export const smartleadWebhookSchema = z
  .looseObject({
    event_type: z.string().min(1).optional(),
    event: z.string().min(1).optional(),
    campaign_id: smartleadId.nullish(),
    campaign_name: optText.optional(),
    campaign_status: optText.optional(),
    from_email: optText.optional(),
    email_account_id: smartleadId.nullish(),
    accountId: smartleadId.nullish(),
    email: optText.optional(),
    error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).nullish(),
    to_email: optText.optional(),
    to_name: optText.optional(),
    event_timestamp: optText.optional(),
    time_sent: optText.optional(),
    sl_email_lead_id: smartleadId.nullish(),
    sl_email_lead_map_id: smartleadId.nullish(),
    sl_lead_email: optText.optional(),
    stats_id: smartleadId.nullish(),
    message_id: optText.optional(),
    sequence_number: count,
    secret_key: optText.optional(),
    bounce_message: messagePart.nullish(),
    reply_message: messagePart.nullish(),
    sent_message: messagePart.nullish(),
  })
  .refine((b) => b.event_type !== undefined || b.event !== undefined, { message: 'event_type (or event) is required', path: ['event_type'] });
export type SmartleadWebhookPayload = z.output<typeof smartleadWebhookSchema>;
