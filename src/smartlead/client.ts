/**
 * Typed client for Smartlead's public API (https://server.smartlead.ai/api/v1, key in the `api_key` query
 * parameter). Drason never sends email: it reads campaigns and mailboxes, pushes leads into campaigns, and pauses
 * (or resumes) campaigns, mailboxes and leads.
 *
 * Endpoint choices (sources: api.smartlead.ai API reference, helpcenter.smartlead.ai "Full API documentation",
 * the OpenAPI files derived from them):
 *  - Pausing a MAILBOX uses the dedicated endpoints `PUT /email-accounts/suspend/{id}` and
 *    `DELETE /email-accounts/unsuspend/{id}` (documented in the API reference: they flip `is_suspended`, stop
 *    campaign sending and warmup for that account everywhere, and keep its configuration and campaign links).
 *    They are preferred over the alternatives because they are reversible and exact:
 *      * `POST /email-accounts/{id}` also documents a suspend flag, but it is a partial update of unrelated
 *        settings (limits, signature ...), where one wrong field changes a customer's mailbox;
 *      * `DELETE /campaigns/{id}/email-accounts` detaches the mailbox from one campaign only, loses the link
 *        (resuming must re-create it) and Smartlead refuses it when it would leave an ACTIVE campaign without a
 *        sender. It is still exposed (`removeEmailAccountsFromCampaign`) for campaign-scoped containment.
 *    Smartlead documents "account not found" on suspend/unsuspend as a 400; the client reports it as
 *    SmartleadNotFoundError (mailbox removed externally), like a 404.
 *  - Pausing a CAMPAIGN: `POST /campaigns/{id}/status {status: "PAUSED"}`; resuming sends `START` (not `ACTIVE`).
 *  - Leads are added with Smartlead's own duplicate protection (a lead already in the campaign is never added
 *    twice; by default neither is a lead already present in another campaign, nor one on the block or unsubscribe
 *    lists), de-duplicated locally, and sent in chunks of 100 (the strictest documented limit: the help center says
 *    100 per call, newer reference pages 350 and 400). Re-sending a chunk after a timeout is therefore safe.
 *
 * Resilience, per call: per-API-key rate limiter (shared by all clients of the key; requests evenly spaced,
 * default 10 per 2 s) → per-organization circuit breaker → per-attempt timeout; retried with exponential
 * backoff and jitter on 5xx, timeouts and network errors, and after the server's Retry-After on 429 (which also
 * holds back every other call made with that key). 4xx other than 429 are never retried.
 *
 * Secrets: the API key lives in a private field, is added to the URL at the last moment, never appears in an error
 * message, a log line or a recorded path (`redactSecrets` is applied to everything that echoes server text), and
 * redirects are not followed (a redirect would carry the key to another host).
 */
import {
  CircuitState,
  DelegateBackoff,
  TaskCancelledError,
  TimeoutPolicy,
  TimeoutStrategy,
  handleWhen,
  isBrokenCircuitError,
  retry,
  timeout,
} from 'cockatiel';
import { z } from 'zod';
import {
  SmartleadAuthError,
  SmartleadBadRequestError,
  SmartleadError,
  SmartleadNotFoundError,
  SmartleadRateLimitedError,
  SmartleadResponseError,
  SmartleadUnavailableError,
  redactSecrets,
} from './errors';
import {
  DEFAULT_BREAKER,
  DEFAULT_RATE_LIMIT,
  type BreakerOptions,
  type KeyThrottle,
  type OrgBreaker,
  type RateLimitOptions,
  breakerFor,
  fingerprint,
  throttleFor,
} from './resilience';
import {
  type AddLeadsResult,
  type SmartleadCampaign,
  type SmartleadCampaignStatusCommand,
  type SmartleadEmailAccount,
  type SmartleadLead,
  type SmartleadLeadInput,
  type SmartleadLeadUploadSettings,
  ackSchema,
  addLeadsResponseSchema,
  emptyAddLeadsResult,
  campaignListSchema,
  campaignSchema,
  campaignStatusResponseSchema,
  emailAccountListSchema,
  emailAccountSchema,
  leadByEmailResponseSchema,
} from './schemas';

export const SMARTLEAD_DEFAULT_BASE_URL = 'https://server.smartlead.ai/api/v1';
export const SMARTLEAD_MAX_LEADS_PER_REQUEST = 100;
export const SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE = 100;

/** Smartlead's duplicate protection, sent with every lead upload unless the caller overrides a field. */
export const SAFE_LEAD_UPLOAD_SETTINGS: Readonly<SmartleadLeadUploadSettings> = Object.freeze({
  ignore_global_block_list: false,
  ignore_unsubscribe_list: false,
  ignore_duplicate_leads_in_other_campaign: false,
});

/** Subset of winston's Logger the client uses. */
export interface SmartleadLogger {
  debug(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  error(message: string, meta?: Record<string, unknown>): unknown;
}

const silentLogger: SmartleadLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface RetryOptions {
  /** Total HTTP attempts per call, first one included. Default 5. */
  maxAttempts?: number;
  /** First backoff delay (5xx/timeout/network). Default 500 ms. */
  initialDelayMs?: number;
  /** Backoff ceiling. Default 20 s. */
  maxDelayMs?: number;
  /**
   * Longest Retry-After the client waits for in-process. A longer one fails the call at once with a
   * SmartleadRateLimitedError carrying `retryAfterMs` (the caller, e.g. a Temporal activity, reschedules).
   * Default 60 s.
   */
  maxRetryAfterMs?: number;
}

export interface SmartleadClientOptions {
  apiKey: string;
  /** Default https://server.smartlead.ai/api/v1. Tests point it at the simulator. */
  baseUrl?: string;
  /** Per-API-key budget. Default 10 requests per 2000 ms (Smartlead's documented limit). */
  rateLimit?: RateLimitOptions;
  /** Per-attempt timeout (request and response body). Default 15 s. */
  timeoutMs?: number;
  retry?: RetryOptions;
  breaker?: BreakerOptions;
  /** Identity the circuit breaker is shared by, normally the Drason organization id. Default: the API key's hash. */
  limiterKey?: string;
  logger?: SmartleadLogger;
}

export interface CallOptions {
  /** Cancels the call (waiting, backoff and the in-flight request). */
  signal?: AbortSignal;
}

export interface EmailAccountsPage {
  items: SmartleadEmailAccount[];
  offset: number;
  limit: number;
  /** True when the page was full: there may be more. */
  hasMore: boolean;
}

export interface LeadUploadOptions extends CallOptions {
  settings?: Partial<SmartleadLeadUploadSettings>;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestSpec<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  schema: S;
  signal?: AbortSignal;
}

const REQUEUE = Symbol('requeue');

/** A campaign, or nothing at all (`null`, empty body, `{}`): the latter means the campaign does not exist. */
const campaignOrNothingSchema = z.union([z.null(), campaignSchema, z.strictObject({}).transform(() => null)]);

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The human part of an error body: `message`, `error`, `error.message`, or the text itself. */
function bodySummary(json: unknown, text: string): string {
  if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const err = o.error;
    if (typeof o.message === 'string' && o.message !== '') return o.message;
    if (typeof err === 'string' && err !== '') return err;
    if (err !== null && typeof err === 'object' && typeof (err as Record<string, unknown>).message === 'string') {
      return String((err as Record<string, unknown>).message);
    }
  }
  const flat = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function bodyRetryAfter(json: unknown): number | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const o = json as Record<string, unknown>;
  const candidate = o.retry_after ?? (o.error && typeof o.error === 'object' ? (o.error as Record<string, unknown>).retry_after : undefined);
  return typeof candidate === 'number' && candidate >= 0 ? candidate * 1000 : undefined;
}

type Issue = z.core.$ZodIssue;

/** Schema problems as "path: message"; for a union, the issues of the branch that got furthest. */
function flattenIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((b) => flattenIssues(b, path));
      const depth = (b: { path: PropertyKey[] }[]): number => Math.max(0, ...b.map((i) => i.path.length));
      const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      out.push(...best);
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function zodIssues(error: z.ZodError): string[] {
  return flattenIssues(error.issues)
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
}

/** Leads split the way `addLeadsToCampaign` sends them: one request per chunk of at most 100. */
export function leadUploadChunks<T>(leads: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < leads.length; i += SMARTLEAD_MAX_LEADS_PER_REQUEST) out.push(leads.slice(i, i + SMARTLEAD_MAX_LEADS_PER_REQUEST));
  return out;
}

export class SmartleadClient {
  readonly #apiKey: string;
  readonly baseUrl: string;
  readonly limiterKey: string | undefined;
  private readonly throttle: KeyThrottle;
  private readonly breaker: OrgBreaker;
  private readonly timeoutPolicy: TimeoutPolicy;
  private readonly timeoutMs: number;
  private readonly retrySettings: Required<RetryOptions>;
  private readonly logger: SmartleadLogger;

  constructor(options: SmartleadClientOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
      throw new TypeError('SmartleadClient needs a non-empty apiKey');
    }
    this.#apiKey = options.apiKey.trim();
    this.baseUrl = trimSlash(options.baseUrl ?? SMARTLEAD_DEFAULT_BASE_URL);
    try {
      const u = new URL(this.baseUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw new TypeError('SmartleadClient baseUrl must be an absolute http(s) URL');
    }
    this.limiterKey = options.limiterKey;
    this.logger = options.logger ?? silentLogger;
    this.timeoutMs = options.timeoutMs ?? 15_000;

    const rate = { ...DEFAULT_RATE_LIMIT, ...options.rateLimit };
    if (!(rate.maxRequests >= 1 && rate.perMs >= 1)) throw new TypeError('rateLimit needs maxRequests >= 1 and perMs >= 1');
    this.throttle = throttleFor(this.baseUrl, this.#apiKey, rate);

    const breakerKey = options.limiterKey !== undefined ? `org:${options.limiterKey}` : `key:${fingerprint(this.baseUrl, this.#apiKey)}`;
    const { breaker, created } = breakerFor(breakerKey, { ...DEFAULT_BREAKER, ...options.breaker });
    this.breaker = breaker;
    if (created) {
      const who = options.limiterKey !== undefined ? { limiterKey: options.limiterKey } : {};
      breaker.policy.onBreak(() =>
        this.logger.warn('Smartlead circuit opened: calls fail fast until a trial request succeeds', {
          ...who,
          halfOpenAfterMs: breaker.settings.halfOpenAfterMs,
        }),
      );
      breaker.policy.onHalfOpen(() => this.logger.info('Smartlead circuit half-open: sending one trial request', who));
      breaker.policy.onReset(() => this.logger.info('Smartlead circuit closed: Smartlead answers again', who));
    }

    this.retrySettings = {
      maxAttempts: Math.max(1, Math.floor(options.retry?.maxAttempts ?? 5)),
      initialDelayMs: options.retry?.initialDelayMs ?? 500,
      maxDelayMs: options.retry?.maxDelayMs ?? 20_000,
      maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 60_000,
    };
    this.timeoutPolicy = timeout(this.timeoutMs, TimeoutStrategy.Aggressive);
  }

  /** The shared circuit state of this client's organization (for health reporting). */
  get circuitState(): 'closed' | 'open' | 'half-open' | 'isolated' {
    switch (this.breaker.state) {
      case CircuitState.Open:
        return 'open';
      case CircuitState.HalfOpen:
        return 'half-open';
      case CircuitState.Isolated:
        return 'isolated';
      default:
        return 'closed';
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // Campaigns
  // -------------------------------------------------------------------------------------------------------

  /** GET /campaigns */
  listCampaigns(opts: CallOptions = {}): Promise<SmartleadCampaign[]> {
    return this.request({ method: 'GET', path: '/campaigns', schema: campaignListSchema, ...opts });
  }

  /** GET /campaigns/{id}. SmartleadNotFoundError when the campaign was deleted. */
  async getCampaign(campaignId: string | number, opts: CallOptions = {}): Promise<SmartleadCampaign> {
    const path = `/campaigns/${this.idSegment(campaignId)}`;
    const raw = await this.request({ method: 'GET', path, schema: campaignOrNothingSchema, ...opts });
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
  async setCampaignStatus(
    campaignId: string | number,
    status: SmartleadCampaignStatusCommand,
    opts: CallOptions = {},
  ): Promise<{ ok: true; status: string | null }> {
    const path = `/campaigns/${this.idSegment(campaignId)}/status`;
    const res = await this.request({ method: 'POST', path, body: { status }, schema: campaignStatusResponseSchema, ...opts });
    this.assertAck(res, 'POST', path);
    return { ok: true, status: res.campaign?.status ?? null };
  }

  pauseCampaign(campaignId: string | number, opts: CallOptions = {}): Promise<{ ok: true; status: string | null }> {
    return this.setCampaignStatus(campaignId, 'PAUSED', opts);
  }

  /** Resume (Smartlead's `START`). */
  resumeCampaign(campaignId: string | number, opts: CallOptions = {}): Promise<{ ok: true; status: string | null }> {
    return this.setCampaignStatus(campaignId, 'START', opts);
  }

  /** GET /campaigns/{id}/email-accounts: the mailboxes sending for the campaign. */
  listCampaignEmailAccounts(campaignId: string | number, opts: CallOptions = {}): Promise<SmartleadEmailAccount[]> {
    return this.request({
      method: 'GET',
      path: `/campaigns/${this.idSegment(campaignId)}/email-accounts`,
      schema: emailAccountListSchema,
      ...opts,
    });
  }

  /** DELETE /campaigns/{id}/email-accounts `{email_account_ids}`: detach mailboxes from one campaign. */
  async removeEmailAccountsFromCampaign(
    campaignId: string | number,
    emailAccountIds: readonly (string | number)[],
    opts: CallOptions = {},
  ): Promise<{ ok: true }> {
    const path = `/campaigns/${this.idSegment(campaignId)}/email-accounts`;
    const ids = emailAccountIds.map((id) => this.numericId(id));
    const res = await this.request({ method: 'DELETE', path, body: { email_account_ids: ids }, schema: ackSchema, ...opts });
    this.assertAck(res, 'DELETE', path);
    return { ok: true };
  }

  // -------------------------------------------------------------------------------------------------------
  // Email accounts (mailboxes)
  // -------------------------------------------------------------------------------------------------------

  /** GET /email-accounts?offset=&limit= (limit clamped to Smartlead's maximum of 100). */
  async listEmailAccountsPage(page: { offset?: number; limit?: number } = {}, opts: CallOptions = {}): Promise<EmailAccountsPage> {
    const offset = Math.max(0, Math.floor(page.offset ?? 0));
    const limit = Math.min(SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE, Math.max(1, Math.floor(page.limit ?? SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE)));
    const items = await this.request({
      method: 'GET',
      path: '/email-accounts',
      query: { offset, limit },
      schema: emailAccountListSchema,
      ...opts,
    });
    return { items, offset, limit, hasMore: items.length >= limit };
  }

  /**
   * Every email account, following pagination to the end. Stops on a short page, or if a page brings no
   * account not already seen (a server ignoring `offset` must not make this loop forever).
   */
  async listEmailAccounts(options: { pageSize?: number } & CallOptions = {}): Promise<SmartleadEmailAccount[]> {
    const seen = new Map<string, SmartleadEmailAccount>();
    let offset = 0;
    for (let pages = 0; pages < 10_000; pages += 1) {
      const page = await this.listEmailAccountsPage({ offset, limit: options.pageSize }, { signal: options.signal });
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
  getEmailAccount(emailAccountId: string | number, opts: CallOptions = {}): Promise<SmartleadEmailAccount> {
    return this.request({ method: 'GET', path: `/email-accounts/${this.idSegment(emailAccountId)}`, schema: emailAccountSchema, ...opts });
  }

  /** PUT /email-accounts/suspend/{id}: the mailbox stops sending (campaigns and warmup), links kept. */
  async suspendEmailAccount(emailAccountId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
    const path = `/email-accounts/suspend/${this.idSegment(emailAccountId)}`;
    const res = await this.request({ method: 'PUT', path, schema: ackSchema, ...opts });
    this.assertAck(res, 'PUT', path);
    return { ok: true };
  }

  /** DELETE /email-accounts/unsuspend/{id}: the mailbox sends again. */
  async unsuspendEmailAccount(emailAccountId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
    const path = `/email-accounts/unsuspend/${this.idSegment(emailAccountId)}`;
    const res = await this.request({ method: 'DELETE', path, schema: ackSchema, ...opts });
    this.assertAck(res, 'DELETE', path);
    return { ok: true };
  }

  // -------------------------------------------------------------------------------------------------------
  // Leads
  // -------------------------------------------------------------------------------------------------------

  /**
   * POST /campaigns/{id}/leads, safe against double-adds: emails de-duplicated locally (case-insensitive, first
   * occurrence kept), Smartlead's duplicate protection always sent, chunks of at most 100 leads sent one after the
   * other. Counts are summed over the chunks. If a chunk fails the error is thrown; chunks already sent stay
   * added, and calling again with the same leads adds only the missing ones.
   */
  async addLeadsToCampaign(
    campaignId: string | number,
    leads: readonly SmartleadLeadInput[],
    options: LeadUploadOptions = {},
  ): Promise<AddLeadsResult> {
    const path = `/campaigns/${this.idSegment(campaignId)}/leads`;
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
      const res = await this.request({
        method: 'POST',
        path,
        body: { lead_list: part, settings },
        schema: addLeadsResponseSchema,
        signal: options.signal,
      });
      if (res.ok === false) {
        throw new SmartleadBadRequestError(`Smartlead POST ${path} refused the leads: ${redactSecrets(res.message ?? 'ok: false', [this.#apiKey])}`, {
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
  async findLeadByEmail(email: string, opts: CallOptions = {}): Promise<SmartleadLead | null> {
    const trimmed = email.trim();
    if (trimmed === '') throw new TypeError('findLeadByEmail needs an email');
    try {
      return await this.request({ method: 'GET', path: '/leads/', query: { email: trimmed }, schema: leadByEmailResponseSchema, ...opts });
    } catch (err) {
      if (err instanceof SmartleadNotFoundError) return null; // some versions answer 404 instead of {}
      throw err;
    }
  }

  /** POST /campaigns/{campaignId}/leads/{leadId}/pause */
  async pauseLead(campaignId: string | number, leadId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
    const path = `/campaigns/${this.idSegment(campaignId)}/leads/${this.idSegment(leadId)}/pause`;
    const res = await this.request({ method: 'POST', path, schema: ackSchema, ...opts });
    this.assertAck(res, 'POST', path);
    return { ok: true };
  }

  /** POST /campaigns/{campaignId}/leads/{leadId}/resume `{resume_lead_with_delay_days}` */
  async resumeLead(
    campaignId: string | number,
    leadId: string | number,
    options: { delayDays?: number } & CallOptions = {},
  ): Promise<{ ok: true }> {
    const path = `/campaigns/${this.idSegment(campaignId)}/leads/${this.idSegment(leadId)}/resume`;
    const body = { resume_lead_with_delay_days: Math.max(0, Math.floor(options.delayDays ?? 0)) };
    const res = await this.request({ method: 'POST', path, body, schema: ackSchema, signal: options.signal });
    this.assertAck(res, 'POST', path);
    return { ok: true };
  }

  // -------------------------------------------------------------------------------------------------------
  // Transport
  // -------------------------------------------------------------------------------------------------------

  private idSegment(id: string | number): string {
    const s = String(id).trim();
    if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new TypeError(`Invalid Smartlead id: ${JSON.stringify(s.slice(0, 40))}`);
    return s;
  }

  private numericId(id: string | number): number | string {
    const s = this.idSegment(id);
    return /^\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : s;
  }

  private assertAck(res: z.output<typeof ackSchema>, method: string, path: string): void {
    if (res.ok === false || res.success === false) {
      const err = res.error;
      const why = res.message ?? (typeof err === 'string' ? err : err?.message) ?? 'the request was refused';
      throw new SmartleadBadRequestError(`Smartlead ${method} ${path} refused: ${redactSecrets(why, [this.#apiKey])}`, {
        method,
        path,
        status: 200,
      });
    }
  }

  private isRetryable(e: Error): boolean {
    if (!(e instanceof SmartleadError) || !e.retryable) return false;
    if (e.code === 'circuit_open') return false; // fail fast: retrying cannot help before the cool-down
    if (e instanceof SmartleadRateLimitedError && e.retryAfterMs > this.retrySettings.maxRetryAfterMs) return false;
    return true;
  }

  private async request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.output<S>> {
    const rs = this.retrySettings;
    const policy = retry(
      handleWhen((e) => this.isRetryable(e)),
      {
        maxAttempts: rs.maxAttempts - 1,
        backoff: new DelegateBackoff((ctx) => {
          const err = 'error' in ctx.result ? ctx.result.error : undefined;
          if (err instanceof SmartleadRateLimitedError) {
            // The key is blocked until Retry-After anyway; a little jitter keeps waiters from aligning.
            return err.retryAfterMs + Math.floor(Math.random() * Math.min(250, this.throttle.minTimeMs));
          }
          const ceiling = Math.min(rs.maxDelayMs, rs.initialDelayMs * 2 ** (ctx.attempt - 1));
          return Math.round(ceiling / 2 + Math.random() * (ceiling / 2)); // "equal jitter"
        }),
      },
    );
    policy.onRetry((event) => {
      const err = 'error' in event ? event.error : undefined;
      this.logger.warn('Smartlead call failed, retrying', {
        method: spec.method,
        path: spec.path,
        code: err instanceof SmartleadError ? err.code : undefined,
        status: err instanceof SmartleadError ? err.status : undefined,
        attempt: event.attempt,
        delayMs: event.delay,
        ...(this.limiterKey !== undefined ? { limiterKey: this.limiterKey } : {}),
      });
    });
    let attempts = 0;
    const run = policy.execute(() => {
      attempts += 1;
      return this.attempt(spec);
    }, spec.signal);
    try {
      // cockatiel's backoff sleep ignores the signal: race it so a cancelled call settles at once
      // (the retry loop then stops at its next attempt without sending anything).
      return await raceAbort(run, spec.signal);
    } catch (err) {
      if (err instanceof SmartleadError) err.attempts = attempts;
      throw err;
    }
  }

  /** One HTTP attempt: wait for the key's budget, pass the breaker, send under the timeout. */
  private async attempt<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.output<S>> {
    const { method, path } = spec;
    for (;;) {
      if (this.breaker.isOpenNow()) throw this.circuitOpenError(method, path);
      await this.throttle.waitUntilUnblocked(spec.signal);
      const outcome = await this.throttle.limiter.schedule(async (): Promise<z.output<S> | typeof REQUEUE> => {
        // Decided at the moment of sending, not of queueing.
        if (this.throttle.isBlocked()) return REQUEUE;
        if (spec.signal?.aborted) throw spec.signal.reason;
        if (this.breaker.isOpenNow()) throw this.circuitOpenError(method, path);
        if (this.breaker.state === CircuitState.HalfOpen) return REQUEUE; // one trial at a time
        try {
          return await this.breaker.policy.execute(async () => {
            try {
              return await this.timeoutPolicy.execute(({ signal }) => this.send(spec, signal), spec.signal);
            } catch (err) {
              // Mapped inside the breaker so that timeouts count as failures.
              // (cockatiel 3.2.1's isTaskCancelledError() is broken: test the class.)
              if (err instanceof TaskCancelledError && spec.signal?.aborted !== true) {
                throw new SmartleadUnavailableError(`Smartlead ${method} ${path} timed out after ${this.timeoutMs} ms`, 'timeout', {
                  method,
                  path,
                });
              }
              throw err;
            }
          }, spec.signal);
        } catch (err) {
          if (isBrokenCircuitError(err)) throw this.circuitOpenError(method, path);
          if (spec.signal?.aborted === true) throw spec.signal.reason;
          throw err;
        }
      });
      if (outcome !== REQUEUE) return outcome;
      if (this.breaker.state === CircuitState.HalfOpen) await this.breaker.waitForTrial();
    }
  }

  private circuitOpenError(method: string, path: string): SmartleadUnavailableError {
    const seconds = Math.ceil(this.breaker.remainingOpenMs() / 1000);
    return new SmartleadUnavailableError(
      `Smartlead ${method} ${path} not sent: Smartlead failed ${this.breaker.settings.consecutiveFailures} times in a row, ` +
        `so calls are paused (circuit open) for about ${seconds}s more`,
      'circuit_open',
      { method, path },
    );
  }

  private async send<S extends z.ZodType>(spec: RequestSpec<S>, signal: AbortSignal): Promise<z.output<S>> {
    const { method, path } = spec;
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    url.searchParams.set('api_key', this.#apiKey);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'drason-smartlead-client/1' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const secrets = [this.#apiKey];

    let status: number;
    let statusText: string;
    let text: string;
    let retryAfterHeader: string | null;
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal,
        redirect: 'manual',
      });
      status = res.status;
      statusText = res.statusText;
      retryAfterHeader = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      if (signal.aborted) throw err; // timeout or caller cancel: mapped by the caller
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const code = cause !== null && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new SmartleadUnavailableError(
        redactSecrets(`Smartlead ${method} ${path} unreachable (${code ?? 'network error'}): ${why}`, secrets),
        'network',
        { method, path },
      );
    }

    let json: unknown = null;
    let jsonOk = true;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        jsonOk = false;
      }
    }
    const details = { method, path, status };
    const summary = (): string => redactSecrets(bodySummary(json, text), secrets) || statusText || 'no details';

    if (status >= 200 && status < 300) {
      if (!jsonOk) {
        throw new SmartleadResponseError(`Smartlead ${method} ${path} answered ${status} with a body that is not JSON`, [], details);
      }
      const parsed = spec.schema.safeParse(json);
      if (!parsed.success) {
        const issues = zodIssues(parsed.error).map((i) => redactSecrets(i, secrets));
        throw new SmartleadResponseError(
          `Smartlead ${method} ${path} answered ${status} with an unexpected body (${issues.slice(0, 3).join('; ')})`,
          issues,
          details,
        );
      }
      return parsed.data as z.output<S>;
    }
    if (status === 401 || status === 403) {
      throw new SmartleadAuthError(
        `Smartlead rejected the API key on ${method} ${path} (${status}: ${summary()}). The key was probably revoked or rotated: ` +
          'save the current key in the Smartlead integration settings.',
        details,
      );
    }
    if (status === 404) {
      throw new SmartleadNotFoundError(`Smartlead ${method} ${path} answered 404 (${summary()}): it no longer exists in Smartlead (deleted there?)`, details);
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(retryAfterHeader) ?? bodyRetryAfter(json) ?? this.throttle.settings.perMs;
      this.throttle.block(retryAfterMs);
      throw new SmartleadRateLimitedError(
        `Smartlead ${method} ${path} answered 429: over the rate limit for this API key; retry after ${Math.ceil(retryAfterMs / 1000)}s`,
        retryAfterMs,
        details,
      );
    }
    if (status === 408 || status >= 500) {
      throw new SmartleadUnavailableError(`Smartlead ${method} ${path} answered ${status} (${summary()}): Smartlead is unavailable`, 'unavailable', details);
    }
    if (status >= 400) {
      const s = summary();
      // Smartlead documents some "does not exist" cases as 400 (e.g. suspend/unsuspend of an unknown account).
      if ((status === 400 || status === 422) && /\bnot found\b|does not exist|doesn't exist|invalid (campaign|account|lead)[ _]?id/i.test(s)) {
        throw new SmartleadNotFoundError(`Smartlead ${method} ${path} answered ${status} (${s}): it no longer exists in Smartlead (deleted there?)`, details);
      }
      throw new SmartleadBadRequestError(`Smartlead ${method} ${path} refused the request (${status}: ${s})`, details);
    }
    throw new SmartleadResponseError(`Smartlead ${method} ${path} answered an unexpected ${status}${status >= 300 && status < 400 ? ' redirect (not followed)' : ''}`, [], details);
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  promise.catch(() => undefined); // settled later by the retry loop; never unhandled
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
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
