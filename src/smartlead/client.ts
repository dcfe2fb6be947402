/**
 * Typed client for Smartlead's public API (https://server.smartlead.ai/api/v1, key in the `api_key` query
 * parameter). Drason never sends email: it reads campaigns and mailboxes, pushes leads into campaigns, and pauses
 * (or resumes) campaigns, mailboxes and leads.
 *
 * This file only assembles the parts, each readable alone:
 *  - transport.ts: one HTTP request, timeouts' signal, the answer mapped to a parsed body or a typed error (errors.ts);
 *  - resilience.ts: retries, the circuit breaker per organization, the local per-key throttle and the shared rate
 *    budget per key (rateBudget.ts, decision 016);
 *  - endpoints/: campaigns, email accounts, leads (which calls, which bodies, why those endpoints).
 *
 * Secrets: the API key lives in the transport's private field, never in an error message, a log line or a recorded
 * path.
 */
import type { z } from 'zod';
import * as campaigns from './endpoints/campaigns';
import type { CallOptions, EndpointContext } from './endpoints/common';
import * as emailAccounts from './endpoints/emailAccounts';
import * as leads from './endpoints/leads';
import {
  DEFAULT_BREAKER,
  DEFAULT_RATE_LIMIT,
  type BreakerOptions,
  type RateLimitOptions,
  type RetryOptions,
  type SharedBudgetOptions,
  type SmartleadLogger,
  ResiliencePolicy,
  breakerFor,
  fingerprint,
  silentLogger,
  throttleFor,
} from './resilience';
import type { AddLeadsResult, SmartleadCampaign, SmartleadCampaignStatusCommand, SmartleadEmailAccount, SmartleadLead, SmartleadLeadInput } from './schemas';
import { type RequestSpec, SmartleadTransport } from './transport';
import { CircuitState } from 'cockatiel';

export { SMARTLEAD_DEFAULT_BASE_URL, parseRetryAfter } from './transport';
export type { CallOptions } from './endpoints/common';
export { SMARTLEAD_MAX_EMAIL_ACCOUNTS_PAGE, type EmailAccountsPage } from './endpoints/emailAccounts';
export { SAFE_LEAD_UPLOAD_SETTINGS, SMARTLEAD_MAX_LEADS_PER_REQUEST, leadUploadChunks, type LeadUploadOptions } from './endpoints/leads';
export type { RetryOptions, SharedBudgetOptions, SmartleadLogger } from './resilience';

export interface SmartleadClientOptions {
  apiKey: string;
  /** Default https://server.smartlead.ai/api/v1. Tests point it at the simulator. */
  baseUrl?: string;
  /**
   * In-process guard per API key (requests evenly spaced; shared by all clients of the key in this process). Default
   * 10 requests per 2000 ms. Never the budget across processes: that is `sharedBudget`.
   */
  rateLimit?: RateLimitOptions;
  /** The key's budget shared by every process (decision 016). Without it, only the in-process guard applies. */
  sharedBudget?: SharedBudgetOptions;
  /** Per-attempt timeout (request and response body). Default 15 s. */
  timeoutMs?: number;
  retry?: RetryOptions;
  breaker?: BreakerOptions;
  /** Identity the circuit breaker is shared by, normally the Drason organization id. Default: the API key's hash. */
  limiterKey?: string;
  logger?: SmartleadLogger;
}

export class SmartleadClient {
  readonly baseUrl: string;
  readonly limiterKey: string | undefined;
  private readonly transport: SmartleadTransport;
  private readonly policy: ResiliencePolicy;
  private readonly ctx: EndpointContext;

  constructor(options: SmartleadClientOptions) {
    const rate = { ...DEFAULT_RATE_LIMIT, ...options.rateLimit };
    if (!(rate.maxRequests >= 1 && rate.perMs >= 1)) throw new TypeError('rateLimit needs maxRequests >= 1 and perMs >= 1');
    this.transport = new SmartleadTransport({ apiKey: options.apiKey, baseUrl: options.baseUrl, defaultRetryAfterMs: rate.perMs });
    this.baseUrl = this.transport.baseUrl;
    this.limiterKey = options.limiterKey;
    const logger = options.logger ?? silentLogger;
    const apiKey = options.apiKey.trim();

    const breakerKey = options.limiterKey !== undefined ? `org:${options.limiterKey}` : `key:${fingerprint(this.baseUrl, apiKey)}`;
    const { breaker, created } = breakerFor(breakerKey, { ...DEFAULT_BREAKER, ...options.breaker });
    if (created) {
      const who = options.limiterKey !== undefined ? { limiterKey: options.limiterKey } : {};
      breaker.policy.onBreak(() =>
        logger.warn('Smartlead circuit opened: calls fail fast until a trial request succeeds', { ...who, halfOpenAfterMs: breaker.settings.halfOpenAfterMs }),
      );
      breaker.policy.onHalfOpen(() => logger.info('Smartlead circuit half-open: sending one trial request', who));
      breaker.policy.onReset(() => logger.info('Smartlead circuit closed: Smartlead answers again', who));
    }

    this.policy = new ResiliencePolicy({
      throttle: throttleFor(this.baseUrl, apiKey, rate),
      breaker,
      ...(options.sharedBudget === undefined ? {} : { budget: options.sharedBudget }),
      keyFingerprint: this.transport.keyFingerprint('rate-budget'),
      timeoutMs: options.timeoutMs ?? 15_000,
      retry: {
        maxAttempts: Math.max(1, Math.floor(options.retry?.maxAttempts ?? 5)),
        initialDelayMs: options.retry?.initialDelayMs ?? 500,
        maxDelayMs: options.retry?.maxDelayMs ?? 20_000,
        maxRetryAfterMs: options.retry?.maxRetryAfterMs ?? 60_000,
      },
      logger,
      ...(options.limiterKey === undefined ? {} : { limiterKey: options.limiterKey }),
    });
    const { transport, policy } = this;
    this.ctx = {
      request: <S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.output<S>> => policy.execute(spec, (signal) => transport.send(spec, signal)),
      redact: (text) => transport.redact(text),
    };
  }

  /** The shared circuit state of this client's organization (for health reporting). */
  get circuitState(): 'closed' | 'open' | 'half-open' | 'isolated' {
    switch (this.policy.breaker.state) {
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

  // Campaigns (endpoints/campaigns.ts)

  listCampaigns(opts: CallOptions = {}): Promise<SmartleadCampaign[]> {
    return campaigns.listCampaigns(this.ctx, opts);
  }

  getCampaign(campaignId: string | number, opts: CallOptions = {}): Promise<SmartleadCampaign> {
    return campaigns.getCampaign(this.ctx, campaignId, opts);
  }

  setCampaignStatus(campaignId: string | number, status: SmartleadCampaignStatusCommand, opts: CallOptions = {}): Promise<{ ok: true; status: string | null }> {
    return campaigns.setCampaignStatus(this.ctx, campaignId, status, opts);
  }

  pauseCampaign(campaignId: string | number, opts: CallOptions = {}): Promise<{ ok: true; status: string | null }> {
    return campaigns.setCampaignStatus(this.ctx, campaignId, 'PAUSED', opts);
  }

  /** Resume (Smartlead's `START`). */
  resumeCampaign(campaignId: string | number, opts: CallOptions = {}): Promise<{ ok: true; status: string | null }> {
    return campaigns.setCampaignStatus(this.ctx, campaignId, 'START', opts);
  }

  listCampaignEmailAccounts(campaignId: string | number, opts: CallOptions = {}): Promise<SmartleadEmailAccount[]> {
    return campaigns.listCampaignEmailAccounts(this.ctx, campaignId, opts);
  }

  removeEmailAccountsFromCampaign(campaignId: string | number, emailAccountIds: readonly (string | number)[], opts: CallOptions = {}): Promise<{ ok: true }> {
    return campaigns.removeEmailAccountsFromCampaign(this.ctx, campaignId, emailAccountIds, opts);
  }

  // Email accounts (endpoints/emailAccounts.ts)

  listEmailAccountsPage(page: { offset?: number; limit?: number } = {}, opts: CallOptions = {}): Promise<emailAccounts.EmailAccountsPage> {
    return emailAccounts.listEmailAccountsPage(this.ctx, page, opts);
  }

  listEmailAccounts(options: { pageSize?: number } & CallOptions = {}): Promise<SmartleadEmailAccount[]> {
    return emailAccounts.listEmailAccounts(this.ctx, options);
  }

  getEmailAccount(emailAccountId: string | number, opts: CallOptions = {}): Promise<SmartleadEmailAccount> {
    return emailAccounts.getEmailAccount(this.ctx, emailAccountId, opts);
  }

  /** PUT /email-accounts/suspend/{id}: the mailbox stops sending (campaigns and warmup), links kept. */
  suspendEmailAccount(emailAccountId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
    return emailAccounts.setEmailAccountSuspended(this.ctx, emailAccountId, true, opts);
  }

  /** DELETE /email-accounts/unsuspend/{id}: the mailbox sends again. */
  unsuspendEmailAccount(emailAccountId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
    return emailAccounts.setEmailAccountSuspended(this.ctx, emailAccountId, false, opts);
  }

  // Leads (endpoints/leads.ts)

  addLeadsToCampaign(campaignId: string | number, list: readonly SmartleadLeadInput[], options: leads.LeadUploadOptions = {}): Promise<AddLeadsResult> {
    return leads.addLeadsToCampaign(this.ctx, campaignId, list, options);
  }

  findLeadByEmail(email: string, opts: CallOptions = {}): Promise<SmartleadLead | null> {
    return leads.findLeadByEmail(this.ctx, email, opts);
  }

  pauseLead(campaignId: string | number, leadId: string | number, opts: CallOptions = {}): Promise<{ ok: true }> {
    return leads.pauseLead(this.ctx, campaignId, leadId, opts);
  }

  resumeLead(campaignId: string | number, leadId: string | number, options: { delayDays?: number } & CallOptions = {}): Promise<{ ok: true }> {
    return leads.resumeLead(this.ctx, campaignId, leadId, options);
  }
}
