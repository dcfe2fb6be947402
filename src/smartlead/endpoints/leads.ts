/**
 * Leads: add to a campaign safely, find by email, pause and resume in a campaign.
 *
 * Adding is safe against double-adds: emails de-duplicated locally, Smartlead's own duplicate protection always sent
 * (a lead already in the campaign is never added twice; by default neither is a lead in another campaign, nor one on
 * the block or unsubscribe lists), and chunks of 100 (the strictest documented limit: the help center says 100 per
 * call, newer reference pages 350 and 400). Re-sending a chunk after a timeout is therefore safe.
 */
import { SmartleadBadRequestError, SmartleadNotFoundError } from '../errors';
import {
  type AddLeadsResult,
  type SmartleadLead,
  type SmartleadLeadInput,
  type SmartleadLeadUploadSettings,
  ackSchema,
  addLeadsResponseSchema,
  emptyAddLeadsResult,
  leadByEmailResponseSchema,
} from '../schemas';
import { type CallOptions, type EndpointContext, assertAck, idSegment } from './common';

export const SMARTLEAD_MAX_LEADS_PER_REQUEST = 100;

/** Smartlead's duplicate protection, sent with every lead upload unless the caller overrides a field. */
export const SAFE_LEAD_UPLOAD_SETTINGS: Readonly<SmartleadLeadUploadSettings> = Object.freeze({
  ignore_global_block_list: false,
  ignore_unsubscribe_list: false,
  ignore_duplicate_leads_in_other_campaign: false,
});

export interface LeadUploadOptions extends CallOptions {
  settings?: Partial<SmartleadLeadUploadSettings>;
}

/** Leads split the way `addLeadsToCampaign` sends them: one request per chunk of at most 100. */
export function leadUploadChunks<T>(leads: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < leads.length; i += SMARTLEAD_MAX_LEADS_PER_REQUEST) out.push(leads.slice(i, i + SMARTLEAD_MAX_LEADS_PER_REQUEST));
  return out;
}

/**
 * POST /campaigns/{id}/leads, safe against double-adds: emails de-duplicated locally (case-insensitive, first
 * occurrence kept), Smartlead's duplicate protection always sent, chunks of at most 100 leads sent one after the
 * other. Counts are summed over the chunks. If a chunk fails the error is thrown; chunks already sent stay
 * added, and calling again with the same leads adds only the missing ones.
 */
export async function addLeadsToCampaign(
  ctx: EndpointContext,
  campaignId: string | number,
  leads: readonly SmartleadLeadInput[],
  options: LeadUploadOptions = {},
): Promise<AddLeadsResult> {
  const path = `/campaigns/${idSegment(campaignId)}/leads`;
  const unique = new Map<string, SmartleadLeadInput>();
  for (const lead of leads) {
    const email = typeof lead.email === 'string' ? lead.email.trim() : '';
    if (email === '') throw new TypeError('addLeadsToCampaign: every lead needs an email');
    const key = email.toLowerCase();
    if (!unique.has(key)) unique.set(key, { ...lead, email });
  }
  const settings: SmartleadLeadUploadSettings = { ...SAFE_LEAD_UPLOAD_SETTINGS, ...pickSettings(options.settings) };
  const result: AddLeadsResult = {
    ...emptyAddLeadsResult(String(campaignId)),
    requested: unique.size,
    droppedLocalDuplicates: leads.length - unique.size,
  };
  for (const part of leadUploadChunks([...unique.values()])) {
    const res = await ctx.request({
      method: 'POST',
      path,
      body: { lead_list: part, settings },
      schema: addLeadsResponseSchema,
      signal: options.signal,
    });
    if (res.ok === false) {
      throw new SmartleadBadRequestError(`Smartlead POST ${path} refused the leads: ${ctx.redact(res.message ?? 'ok: false')}`, {
        method: 'POST',
        path,
        status: 200,
      });
    }
    result.requests += 1;
    result.added += res.inserted_count ?? res.added_count ?? res.upload_count ?? res.uploaded_count ?? 0;
    result.alreadyInCampaign += res.already_added_to_campaign ?? 0;
    result.duplicates += res.duplicate_count ?? 0;
    result.invalid += res.invalid_email_count ?? res.invalid_emails?.length ?? 0;
    result.invalidEmails.push(...(res.invalid_emails ?? []));
    result.blocked += res.block_count ?? res.blocked_count ?? 0;
    const unsub = res.unsubscribed_leads;
    result.unsubscribed += Array.isArray(unsub) ? unsub.length : (unsub ?? res.unsubscribed_count ?? 0);
    if (Array.isArray(unsub)) result.unsubscribedEmails.push(...unsub.map(emailOf).filter((e): e is string => e !== undefined));
    result.skipped += res.skipped_count ?? 0;
    if (res.is_lead_limit_exhausted === true) {
      result.leadLimitExhausted = true;
      break; // Smartlead will refuse the rest: do not burn requests.
    }
  }
  return result;
}

/** GET /leads/?email=: the lead and the campaigns it is in, or null when Smartlead does not know it. */
export async function findLeadByEmail(ctx: EndpointContext, email: string, opts: CallOptions = {}): Promise<SmartleadLead | null> {
  const trimmed = email.trim();
  if (trimmed === '') throw new TypeError('findLeadByEmail needs an email');
  try {
    return await ctx.request({ method: 'GET', path: '/leads/', query: { email: trimmed }, schema: leadByEmailResponseSchema, ...opts });
  } catch (err) {
    if (err instanceof SmartleadNotFoundError) return null; // some versions answer 404 instead of {}
    throw err;
  }
}

/** POST /campaigns/{campaignId}/leads/{leadId}/pause */
export async function pauseLead(ctx: EndpointContext, campaignId: string | number, leadId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
  const path = `/campaigns/${idSegment(campaignId)}/leads/${idSegment(leadId)}/pause`;
  const res = await ctx.request({ method: 'POST', path, schema: ackSchema, ...opts });
  assertAck(ctx, res, 'POST', path);
  return { ok: true };
}

/** POST /campaigns/{campaignId}/leads/{leadId}/resume `{resume_lead_with_delay_days}` */
export async function resumeLead(
  ctx: EndpointContext,
  campaignId: string | number,
  leadId: string | number,
  options: { delayDays?: number } & CallOptions = {},
): Promise<{ ok: true }> {
  const path = `/campaigns/${idSegment(campaignId)}/leads/${idSegment(leadId)}/resume`;
  const body = { resume_lead_with_delay_days: Math.max(0, Math.floor(options.delayDays ?? 0)) };
  const res = await ctx.request({ method: 'POST', path, body, schema: ackSchema, signal: options.signal });
  assertAck(ctx, res, 'POST', path);
  return { ok: true };
}

/** An entry of a lead list in a response: the email itself, or an object carrying it. */
function emailOf(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  const email = entry !== null && typeof entry === 'object' ? (entry as { email?: unknown }).email : undefined;
  return typeof email === 'string' ? email : undefined;
}

function pickSettings(s: Partial<SmartleadLeadUploadSettings> | undefined): Partial<SmartleadLeadUploadSettings> {
  const out: Partial<SmartleadLeadUploadSettings> = {};
  if (s === undefined) return out;
  for (const k of Object.keys(SAFE_LEAD_UPLOAD_SETTINGS) as (keyof SmartleadLeadUploadSettings)[]) {
    if (typeof s[k] === 'boolean') out[k] = s[k];
  }
  return out;
}
