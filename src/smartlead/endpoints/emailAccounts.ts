/**
 * Email accounts (mailboxes): paginated listing, one account, and pausing a mailbox with the dedicated endpoints
 * `PUT /email-accounts/suspend/{id}` / `DELETE /email-accounts/unsuspend/{id}`. They are reversible and exact (they
 * flip `is_suspended`, stop campaign sending and warmup everywhere, keep configuration and campaign links), unlike
 * `POST /email-accounts/{id}` (a partial update of unrelated settings) or detaching the mailbox from each campaign.
 * Smartlead documents "account not found" on suspend/unsuspend as a 400; the transport reports it as
 * SmartleadNotFoundError (mailbox removed externally), like a 404.
 */
import { type SmartleadEmailAccount, ackSchema, emailAccountListSchema, emailAccountSchema } from '../schemas';
import { type CallOptions, type EndpointContext, assertAck, idSegment } from './common';

export const SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE = 100;

export interface EmailAccountsPage {
  items: SmartleadEmailAccount[];
  offset: number;
  limit: number;
  /** True when the page was full: there may be more. */
  hasMore: boolean;
}

/** GET /email-accounts?offset=&limit= (limit clamped to Smartlead's maximum of 100). */
export async function listEmailAccountsPage(
  ctx: EndpointContext,
  page: { offset?: number; limit?: number } = {},
  opts: CallOptions = {},
): Promise<EmailAccountsPage> {
  const offset = Math.max(0, Math.floor(page.offset ?? 0));
  const limit = Math.min(SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE, Math.max(1, Math.floor(page.limit ?? SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE)));
  const items = await ctx.request({ method: 'GET', path: '/email-accounts', query: { offset, limit }, schema: emailAccountListSchema, ...opts });
  return { items, offset, limit, hasMore: items.length >= limit };
}

/**
 * Every email account, following pagination to the end. Stops on a short page, or if a page brings no
 * account not already seen (a server ignoring `offset` must not make this loop forever).
 */
export async function listEmailAccounts(ctx: EndpointContext, options: { pageSize?: number } & CallOptions = {}): Promise<SmartleadEmailAccount[]> {
  const seen = new Map<string, SmartleadEmailAccount>();
  let offset = 0;
  for (let pages = 0; pages < 10_000; pages += 1) {
    const page = await listEmailAccountsPage(ctx, { offset, limit: options.pageSize }, { signal: options.signal });
    let fresh = 0;
    for (const account of page.items) {
      if (!seen.has(account.id)) {
        seen.set(account.id, account);
        fresh += 1;
      }
    }
    if (!page.hasMore || fresh === 0) break;
    offset += page.items.length;
  }
  return [...seen.values()];
}

/** GET /email-accounts/{id}. SmartleadNotFoundError when the mailbox was removed. */
export function getEmailAccount(ctx: EndpointContext, emailAccountId: string | number, opts: CallOptions = {}): Promise<SmartleadEmailAccount> {
  return ctx.request({ method: 'GET', path: `/email-accounts/${idSegment(emailAccountId)}`, schema: emailAccountSchema, ...opts });
}

/** PUT /email-accounts/suspend/{id} (suspend) or DELETE /email-accounts/unsuspend/{id} (unsuspend). */
export async function setEmailAccountSuspended(
  ctx: EndpointContext,
  emailAccountId: string | number,
  suspended: boolean,
  opts: CallOptions = {},
): Promise<{ ok: true }> {
  const method = suspended ? 'PUT' : 'DELETE';
  const path = `/email-accounts/${suspended ? 'suspend' : 'unsuspend'}/${idSegment(emailAccountId)}`;
  const res = await ctx.request({ method, path, schema: ackSchema, ...opts });
  assertAck(ctx, res, method, path);
  return { ok: true };
}
