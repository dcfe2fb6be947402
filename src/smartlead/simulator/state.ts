/**
 * In-memory model of one Smartlead account: campaigns, email accounts (mailboxes), the links between them, and
 * leads (one global lead per email address, enrolled in campaigns). Serialisers produce the JSON shapes that
 * Smartlead documents, so the HTTP layer stays thin.
 */
import { randomBytes } from 'node:crypto';

export type SimCampaignStatus = 'DRAFTED' | 'ACTIVE' | 'PAUSED' | 'STOPPED' | 'COMPLETED' | 'ARCHIVED';
export type SimLeadStatus = 'STARTED' | 'INPROGRESS' | 'PAUSED' | 'COMPLETED' | 'STOPPED' | 'BLOCKED';
export type KeyCheck = 'valid' | 'revoked' | 'invalid' | 'missing';

export interface SimCampaign {
  id: number;
  name: string;
  status: SimCampaignStatus;
  userId: number;
  clientId: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface SimEmailAccount {
  id: number;
  fromEmail: string;
  fromName: string;
  type: 'SMTP' | 'GMAIL' | 'OUTLOOK';
  isSuspended: boolean;
  isSmtpSuccess: boolean;
  isImapSuccess: boolean;
  /** Smartlead's `message_per_day` (the account's daily sending limit); null: not reported (the field is left out). */
  messagePerDay: number | null;
  /** Smartlead's `daily_sent_count`: sends today, grown by each simulated send, 0 again at `turnDay`; null: not reported. */
  dailySentCount: number | null;
  createdAt: string;
  updatedAt: string;
}

export interface SimLead {
  id: number;
  email: string;
  firstName: string | null;
  lastName: string | null;
  companyName: string | null;
  customFields: Record<string, unknown>;
  createdAt: string;
}

export interface SimCampaignLead {
  leadId: number;
  mapId: number;
  status: SimLeadStatus;
  addedAt: string;
}

export interface NewCampaign {
  id?: number;
  name?: string;
  status?: SimCampaignStatus;
  clientId?: number | null;
}

export interface NewEmailAccount {
  id?: number;
  fromEmail: string;
  fromName?: string;
  type?: SimEmailAccount['type'];
  isSuspended?: boolean;
  /** Default 50; null: Smartlead does not report it. */
  messagePerDay?: number | null;
  /** Default 0; null: Smartlead does not report it. */
  dailySentCount?: number | null;
  /** Campaigns to link the mailbox to. */
  campaignIds?: number[];
}

export const USER_ID = 4242;

function now(): string {
  return new Date().toISOString();
}

export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export function newSimulatorKey(): string {
  return `sim_${randomBytes(18).toString('hex')}`;
}

export class SimulatorState {
  apiKey: string | null;
  readonly revokedKeys = new Set<string>();
  readonly campaigns = new Map<number, SimCampaign>();
  readonly emailAccounts = new Map<number, SimEmailAccount>();
  readonly campaignAccounts = new Map<number, Set<number>>();
  readonly leads = new Map<number, SimLead>();
  readonly leadIdByEmail = new Map<string, number>();
  readonly campaignLeads = new Map<number, Map<number, SimCampaignLead>>();
  /** Global block list: full emails or bare domains. */
  readonly blockList = new Set<string>();
  /** Globally unsubscribed emails. */
  readonly unsubscribed = new Set<string>();
  /** Maximum leads one POST /campaigns/{id}/leads accepts. */
  maxLeadsPerRequest: number;
  /** Lead credits left (null: unlimited). */
  leadCredits: number | null = null;

  private nextCampaignId = 1001;
  private nextAccountId = 5001;
  private nextLeadId = 90_001;
  private nextMapId = 700_001;

  constructor(opts: { apiKey?: string; maxLeadsPerRequest?: number } = {}) {
    this.apiKey = opts.apiKey ?? newSimulatorKey();
    this.maxLeadsPerRequest = opts.maxLeadsPerRequest ?? 100;
  }

  // ---- keys -----------------------------------------------------------------------------------------------

  checkKey(key: string | undefined): KeyCheck {
    if (key === undefined || key === '') return 'missing';
    if (this.apiKey !== null && key === this.apiKey) return 'valid';
    return this.revokedKeys.has(key) ? 'revoked' : 'invalid';
  }

  /** The current key stops working; no key works until `rotateKey`. */
  revokeKey(): void {
    if (this.apiKey !== null) this.revokedKeys.add(this.apiKey);
    this.apiKey = null;
  }

  /** A new key replaces the current one (which stops working). Returns the new key. */
  rotateKey(newKey: string = newSimulatorKey()): string {
    if (this.apiKey !== null && this.apiKey !== newKey) this.revokedKeys.add(this.apiKey);
    this.revokedKeys.delete(newKey);
    this.apiKey = newKey;
    return newKey;
  }

  // ---- campaigns ------------------------------------------------------------------------------------------

  addCampaign(input: NewCampaign = {}): SimCampaign {
    const id = input.id ?? this.nextCampaignId++;
    if (input.id !== undefined) this.nextCampaignId = Math.max(this.nextCampaignId, input.id + 1);
    if (this.campaigns.has(id)) throw new Error(`campaign ${id} already exists`);
    const t = now();
    const c: SimCampaign = {
      id,
      name: input.name ?? `Campaign ${id}`,
      status: input.status ?? 'ACTIVE',
      userId: USER_ID,
      clientId: input.clientId ?? null,
      createdAt: t,
      updatedAt: t,
    };
    this.campaigns.set(id, c);
    this.campaignAccounts.set(id, new Set());
    this.campaignLeads.set(id, new Map());
    return c;
  }

  /** Deleted in Smartlead: the campaign, its links and its lead enrolments disappear. */
  deleteCampaign(id: number): boolean {
    const existed = this.campaigns.delete(id);
    this.campaignAccounts.delete(id);
    this.campaignLeads.delete(id);
    return existed;
  }

  setCampaignStatus(id: number, status: SimCampaignStatus): SimCampaign {
    const c = this.campaigns.get(id);
    if (c === undefined) throw new Error(`campaign ${id} does not exist`);
    c.status = status;
    c.updatedAt = now();
    return c;
  }

  // ---- email accounts -------------------------------------------------------------------------------------

  addEmailAccount(input: NewEmailAccount): SimEmailAccount {
    const id = input.id ?? this.nextAccountId++;
    if (input.id !== undefined) this.nextAccountId = Math.max(this.nextAccountId, input.id + 1);
    if (this.emailAccounts.has(id)) throw new Error(`email account ${id} already exists`);
    if (this.findEmailAccountByEmail(input.fromEmail) !== undefined) throw new Error(`email account ${input.fromEmail} already exists`);
    const t = now();
    const local = input.fromEmail.split('@')[0] ?? input.fromEmail;
    const a: SimEmailAccount = {
      id,
      fromEmail: input.fromEmail.trim(),
      fromName: input.fromName ?? local.charAt(0).toUpperCase() + local.slice(1),
      type: input.type ?? 'SMTP',
      isSuspended: input.isSuspended ?? false,
      isSmtpSuccess: true,
      isImapSuccess: true,
      messagePerDay: input.messagePerDay === undefined ? 50 : input.messagePerDay,
      dailySentCount: input.dailySentCount === undefined ? 0 : input.dailySentCount,
      createdAt: t,
      updatedAt: t,
    };
    this.emailAccounts.set(id, a);
    for (const cid of input.campaignIds ?? []) this.linkEmailAccount(cid, id);
    return a;
  }

  /** Removed in Smartlead: the mailbox disappears, and so do its campaign links. */
  removeEmailAccount(id: number): boolean {
    const existed = this.emailAccounts.delete(id);
    for (const set of this.campaignAccounts.values()) set.delete(id);
    return existed;
  }

  private emailAccount(id: number): SimEmailAccount {
    const a = this.emailAccounts.get(id);
    if (a === undefined) throw new Error(`email account ${id} does not exist`);
    return a;
  }

  /** Suspended (`PUT /email-accounts/suspend/{id}`) or unsuspended: a suspended account sends nothing. */
  setEmailAccountSuspended(id: number, suspended: boolean): SimEmailAccount {
    const a = this.emailAccount(id);
    a.isSuspended = suspended;
    a.updatedAt = now();
    return a;
  }

  /** Sets what Smartlead reports of an account's daily capacity (null: the field is not reported). */
  setEmailAccountCapacity(id: number, capacity: { messagePerDay?: number | null; dailySentCount?: number | null }): SimEmailAccount {
    const a = this.emailAccount(id);
    if (capacity.messagePerDay !== undefined) a.messagePerDay = capacity.messagePerDay;
    if (capacity.dailySentCount !== undefined) a.dailySentCount = capacity.dailySentCount;
    a.updatedAt = now();
    return a;
  }

  /** The account sent one email: its `daily_sent_count` grows (an unreported count starts at 0). */
  recordSend(id: number): void {
    const a = this.emailAccount(id);
    a.dailySentCount = (a.dailySentCount ?? 0) + 1;
  }

  /** Below its daily limit (an unreported limit never stops it): Smartlead never sends above `message_per_day`. */
  hasDailyCapacity(a: SimEmailAccount): boolean {
    return a.messagePerDay === null || (a.dailySentCount ?? 0) < a.messagePerDay;
  }

  /** The day's turn: every account's `daily_sent_count` is 0 again (an unreported one stays unreported). */
  turnDay(): void {
    for (const a of this.emailAccounts.values()) if (a.dailySentCount !== null) a.dailySentCount = 0;
  }

  findEmailAccountByEmail(email: string): SimEmailAccount | undefined {
    const e = normalizeEmail(email);
    for (const a of this.emailAccounts.values()) if (normalizeEmail(a.fromEmail) === e) return a;
    return undefined;
  }

  linkEmailAccount(campaignId: number, accountId: number): void {
    const set = this.campaignAccounts.get(campaignId);
    if (set === undefined) throw new Error(`campaign ${campaignId} does not exist`);
    if (!this.emailAccounts.has(accountId)) throw new Error(`email account ${accountId} does not exist`);
    set.add(accountId);
  }

  unlinkEmailAccount(campaignId: number, accountId: number): void {
    this.campaignAccounts.get(campaignId)?.delete(accountId);
  }

  accountsOfCampaign(campaignId: number): SimEmailAccount[] {
    const ids = [...(this.campaignAccounts.get(campaignId) ?? [])].sort((a, b) => a - b);
    return ids.map((id) => this.emailAccounts.get(id)).filter((a): a is SimEmailAccount => a !== undefined);
  }

  campaignsOfAccount(accountId: number): number[] {
    const out: number[] = [];
    for (const [cid, set] of this.campaignAccounts) if (set.has(accountId)) out.push(cid);
    return out;
  }

  // ---- leads ----------------------------------------------------------------------------------------------

  findLeadByEmail(email: string): SimLead | undefined {
    const id = this.leadIdByEmail.get(normalizeEmail(email));
    return id === undefined ? undefined : this.leads.get(id);
  }

  /** The global lead for an email, created if new. */
  upsertLead(input: { email: string; first_name?: unknown; last_name?: unknown; company_name?: unknown; custom_fields?: unknown }): SimLead {
    const existing = this.findLeadByEmail(input.email);
    if (existing !== undefined) return existing;
    const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
    const lead: SimLead = {
      id: this.nextLeadId++,
      email: input.email.trim(),
      firstName: str(input.first_name),
      lastName: str(input.last_name),
      companyName: str(input.company_name),
      customFields: input.custom_fields !== null && typeof input.custom_fields === 'object' ? { ...(input.custom_fields as object) } : {},
      createdAt: now(),
    };
    this.leads.set(lead.id, lead);
    this.leadIdByEmail.set(normalizeEmail(lead.email), lead.id);
    return lead;
  }

  enrollLead(campaignId: number, leadId: number): SimCampaignLead {
    const map = this.campaignLeads.get(campaignId);
    if (map === undefined) throw new Error(`campaign ${campaignId} does not exist`);
    const existing = map.get(leadId);
    if (existing !== undefined) return existing;
    const cl: SimCampaignLead = { leadId, mapId: this.nextMapId++, status: 'STARTED', addedAt: now() };
    map.set(leadId, cl);
    return cl;
  }

  /** Campaign ids the lead is enrolled in. */
  campaignsOfLead(leadId: number): number[] {
    const out: number[] = [];
    for (const [cid, map] of this.campaignLeads) if (map.has(leadId)) out.push(cid);
    return out;
  }

  /** Leads of a campaign, with their per-campaign status. */
  leadsOfCampaign(campaignId: number): (SimLead & { status: SimLeadStatus; mapId: number })[] {
    const map = this.campaignLeads.get(campaignId);
    if (map === undefined) return [];
    return [...map.values()]
      .map((cl) => {
        const lead = this.leads.get(cl.leadId);
        return lead === undefined ? undefined : { ...lead, status: cl.status, mapId: cl.mapId };
      })
      .filter((l): l is SimLead & { status: SimLeadStatus; mapId: number } => l !== undefined);
  }

  isBlocked(email: string): boolean {
    const e = normalizeEmail(email);
    const domain = e.slice(e.lastIndexOf('@') + 1);
    return this.blockList.has(e) || this.blockList.has(domain);
  }

  // ---- Smartlead JSON shapes ------------------------------------------------------------------------------

  campaignJson(c: SimCampaign): Record<string, unknown> {
    return {
      id: c.id,
      user_id: c.userId,
      created_at: c.createdAt,
      updated_at: c.updatedAt,
      status: c.status,
      name: c.name,
      track_settings: ['DONT_LINK_CLICK'],
      scheduler_cron_value: { tz: 'America/New_York', days: [1, 2, 3, 4, 5], startHour: '09:00', endHour: '17:00' },
      min_time_btwn_emails: 10,
      max_leads_per_day: 100,
      stop_lead_settings: 'REPLY_TO_AN_EMAIL',
      enable_ai_esp_matching: false,
      send_as_plain_text: false,
      follow_up_percentage: 40,
      parent_campaign_id: null,
      client_id: c.clientId,
    };
  }

  emailAccountJson(a: SimEmailAccount): Record<string, unknown> {
    const warmupActive = !a.isSuspended;
    return {
      id: a.id,
      created_at: a.createdAt,
      updated_at: a.updatedAt,
      user_id: USER_ID,
      from_name: a.fromName,
      from_email: a.fromEmail,
      username: a.fromEmail,
      smtp_host: `smtp.${a.fromEmail.split('@')[1] ?? 'example.com'}`,
      smtp_port: 587,
      smtp_port_type: 'TLS',
      ...(a.messagePerDay === null ? {} : { message_per_day: a.messagePerDay }),
      different_reply_to_address: null,
      is_different_imap_account: false,
      imap_username: a.fromEmail,
      imap_host: `imap.${a.fromEmail.split('@')[1] ?? 'example.com'}`,
      imap_port: 993,
      imap_port_type: 'SSL',
      signature: null,
      custom_tracking_domain: null,
      bcc_email: null,
      is_smtp_success: a.isSmtpSuccess,
      is_imap_success: a.isImapSuccess,
      smtp_failure_error: null,
      imap_failure_error: null,
      type: a.type,
      ...(a.dailySentCount === null ? {} : { daily_sent_count: a.dailySentCount }),
      client_id: null,
      campaign_count: this.campaignsOfAccount(a.id).length,
      is_suspended: a.isSuspended,
      warmup_details: {
        status: warmupActive ? 'ACTIVE' : 'INACTIVE',
        total_sent_count: 0,
        total_spam_count: 0,
        warmup_reputation: '100%',
        blocked_reason: null,
      },
    };
  }

  leadJson(l: SimLead): Record<string, unknown> {
    return {
      id: l.id,
      first_name: l.firstName,
      last_name: l.lastName,
      email: l.email,
      phone_number: null,
      company_name: l.companyName,
      website: null,
      location: null,
      custom_fields: l.customFields,
      linkedin_profile: null,
      company_url: null,
      is_unsubscribed: this.unsubscribed.has(normalizeEmail(l.email)),
      unsubscribed_client_id_map: null,
      created_at: l.createdAt,
      lead_campaign_data: this.campaignsOfLead(l.id).map((cid) => ({
        campaign_lead_map_id: this.campaignLeads.get(cid)?.get(l.id)?.mapId ?? null,
        campaign_id: cid,
        campaign_name: this.campaigns.get(cid)?.name ?? null,
        client_id: null,
        client_email: null,
        lead_category_id: null,
      })),
    };
  }

  /** Whole state as plain JSON (for /__sim/state and debugging). Never includes the API key. */
  snapshot(): Record<string, unknown> {
    return {
      campaigns: [...this.campaigns.values()].map((c) => ({
        ...c,
        emailAccountIds: [...(this.campaignAccounts.get(c.id) ?? [])],
        leads: this.leadsOfCampaign(c.id).map((l) => ({ id: l.id, email: l.email, status: l.status })),
      })),
      emailAccounts: [...this.emailAccounts.values()],
      leads: [...this.leads.values()],
      blockList: [...this.blockList],
      unsubscribed: [...this.unsubscribed],
      keyConfigured: this.apiKey !== null,
      revokedKeys: this.revokedKeys.size,
    };
  }
}
