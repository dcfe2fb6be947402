/**
 * Campaigns: list, read, pause (`PAUSED`) and resume (`START`, not `ACTIVE`; `STOPPED` cannot be undone), their
 * mailboxes, and detaching mailboxes from one campaign (`DELETE /campaigns/{id}/email-accounts`: Smartlead refuses it
 * when it would leave an ACTIVE campaign without a sender; the engine suspends mailboxes instead).
 */
import { z } from 'zod';
import { SmartleadNotFoundError } from '../errors';
import {
  type SmartleadCampaign,
  type SmartleadCampaignStatusCommand,
  type SmartleadEmailAccount,
  ackSchema,
  campaignListSchema,
  campaignSchema,
  campaignStatusResponseSchema,
  emailAccountListSchema,
} from '../schemas';
import { type CallOptions, type EndpointContext, assertAck, idSegment, numericId } from './common';

/** A campaign, or nothing at all (`null`, empty body, `{}`): the latter means the campaign does not exist. */
const campaignOrNothingSchema = z.union([z.null(), campaignSchema, z.strictObject({}).transform(() => null)]);

/** GET /campaigns */
export function listCampaigns(ctx: EndpointContext, opts: CallOptions = {}): Promise<SmartleadCampaign[]> {
  return ctx.request({ method: 'GET', path: '/campaigns', schema: campaignListSchema, ...opts });
}

/** GET /campaigns/{id}. SmartleadNotFoundError when the campaign was deleted. */
export async function getCampaign(ctx: EndpointContext, campaignId: string | number, opts: CallOptions = {}): Promise<SmartleadCampaign> {
  const path = `/campaigns/${idSegment(campaignId)}`;
  const raw = await ctx.request({ method: 'GET', path, schema: campaignOrNothingSchema, ...opts });
  if (raw === null) {
    // Smartlead has been seen answering 200 with an empty body for an unknown id: treat as deleted.
    throw new SmartleadNotFoundError(`Smartlead GET ${path}: campaign ${String(campaignId)} does not exist (deleted in Smartlead?)`, {
      method: 'GET',
      path,
      status: 200,
    });
  }
  return raw;
}

/** POST /campaigns/{id}/status `{status}`; returns the status Smartlead reports, if it reports one. */
export async function setCampaignStatus(
  ctx: EndpointContext,
  campaignId: string | number,
  status: SmartleadCampaignStatusCommand,
  opts: CallOptions = {},
): Promise<{ ok: true; status: string | null }> {
  const path = `/campaigns/${idSegment(campaignId)}/status`;
  const res = await ctx.request({ method: 'POST', path, body: { status }, schema: campaignStatusResponseSchema, ...opts });
  assertAck(ctx, res, 'POST', path);
  return { ok: true, status: res.campaign?.status ?? null };
}

/** GET /campaigns/{id}/email-accounts: the mailboxes sending for the campaign. */
export function listCampaignEmailAccounts(ctx: EndpointContext, campaignId: string | number, opts: CallOptions = {}): Promise<SmartleadEmailAccount[]> {
  return ctx.request({ method: 'GET', path: `/campaigns/${idSegment(campaignId)}/email-accounts`, schema: emailAccountListSchema, ...opts });
}

/** DELETE /campaigns/{id}/email-accounts `{email_account_ids}`: detach mailboxes from one campaign. */
export async function removeEmailAccountsFromCampaign(
  ctx: EndpointContext,
  campaignId: string | number,
  emailAccountIds: readonly (string | number)[],
  opts: CallOptions = {},
): Promise<{ ok: true }> {
  const path = `/campaigns/${idSegment(campaignId)}/email-accounts`;
  const ids = emailAccountIds.map((id) => numericId(id));
  const res = await ctx.request({ method: 'DELETE', path, body: { email_account_ids: ids }, schema: ackSchema, ...opts });
  assertAck(ctx, res, 'DELETE', path);
  return { ok: true };
}
