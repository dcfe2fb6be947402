/**
 * Webhook emitter: POSTs Smartlead-shaped webhook bodies (the flat shape of Smartlead's help-center "Response
 * Structure": `event_type`, `campaign_id`, `from_email`, `to_email`, `event_timestamp`, `sl_email_lead_id`,
 * `stats_id`, `secret_key`, `bounce_message` ...) to a configured target.
 *
 * - `emit` / `emitMany`: deterministic, one event after the other, resolved once delivered.
 * - `startTraffic`: a bounded, stoppable generator of sends with per-mailbox hard-bounce, delivery-failure and
 *   reply rates. It behaves like Smartlead: nothing is sent from a suspended or unlinked mailbox, or for a campaign
 *   that is not ACTIVE (so pauses made through the API visibly stop the bleeding). Each send grows the mailbox's
 *   `daily_sent_count`; with `respectDailyLimit` a mailbox at its `message_per_day` sends no more until the day's turn
 *   (off by default: traffic compresses days into seconds, and the demo and tests send more than a day's limit).
 *
 * Safety: by default only loopback targets (127.0.0.0/8, ::1, localhost) are accepted.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { type SimulatorState, normalizeEmail } from './state';

export type BounceKind = 'hard' | 'soft';

export interface WebhookEventInput {
  /** EMAIL_SENT | EMAIL_BOUNCE | EMAIL_REPLY | any other Smartlead event type. */
  type: string;
  fromEmail: string;
  toEmail: string;
  campaignId?: number | string;
  /** Default now. */
  at?: Date | string;
  /** EMAIL_BOUNCE: which kind of bounce message to use (default hard), or an exact SMTP message. */
  bounce?: BounceKind | { message: string };
  replyText?: string;
  sequenceNumber?: number;
  toName?: string;
  /** Fields merged last into the body (override anything). */
  extra?: Record<string, unknown>;
}

export interface WebhookDelivery {
  eventType: string;
  toEmail: string;
  fromEmail: string;
  bounceKind?: BounceKind;
  status: number | null;
  ok: boolean;
  error?: string;
  at: number;
  body: Record<string, unknown>;
}

export interface MailboxRates {
  /** Probability that a send is followed by a hard bounce (5.1.x: the address does not exist). */
  bounceRate?: number;
  /** Probability of a delivery failure (4.x.x deferral / 5.7.x policy rejection), given no hard bounce. */
  failureRate?: number;
  /** Probability of a reply, given no bounce. */
  replyRate?: number;
}

export interface TrafficOptions {
  campaignId: number | string;
  /** EMAIL_SENT events per second, across all mailboxes. */
  ratePerSecond: number;
  /**
   * Mailboxes to send from, with their rates. Missing mailboxes are created and linked to the campaign.
   * Default: every mailbox linked to the campaign, with `defaults` rates.
   */
  perMailbox?: Record<string, MailboxRates>;
  defaults?: MailboxRates;
  /** Stop after this many sends (default 10 000). */
  maxSends?: number;
  /** Stop after this long. */
  durationMs?: number;
  /** Seed of the pseudo-random generator (same seed, same sequence). */
  seed?: number;
  /** Recipient addresses: the campaign's leads first, then synthetic `prospect-N@<domain>` (default prospects.example). */
  recipientDomain?: string;
  /** A mailbox at its `message_per_day` sends nothing more until `turnDay` (default false). */
  respectDailyLimit?: boolean;
}

export interface TrafficStats {
  sends: number;
  hardBounces: number;
  failures: number;
  replies: number;
  /** Ticks where no mailbox was allowed to send (suspended, unlinked, campaign not ACTIVE). */
  skipped: number;
  delivered: number;
  deliveryErrors: number;
  running: boolean;
  perMailbox: Record<string, { sends: number; hardBounces: number; failures: number; replies: number }>;
}

export interface TrafficHandle {
  readonly stats: TrafficStats;
  /** Resolves when the generator stopped (bounds reached or `stop()`) and every queued event was delivered. */
  readonly done: Promise<TrafficStats>;
  stop(): Promise<TrafficStats>;
}

export const HARD_BOUNCE_MESSAGES: readonly string[] = [
  "550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.",
  '550 5.1.1 <{to}>: Recipient address rejected: User unknown in virtual mailbox table',
  '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
  '550 5.1.1 {to}... No such user',
];

export const SOFT_BOUNCE_MESSAGES: readonly string[] = [
  '421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints',
  '451 4.7.1 Please try again later',
  '452 4.2.2 The email account that you tried to reach is over quota.',
  '550 5.7.1 Message rejected: sender reputation too low (policy)',
];

/** mulberry32: small, fast, seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

export class WebhookEmitter {
  private target: { url: string; secretKey: string | null; webhookId: number; webhookName: string; createdAt: string } | null = null;
  readonly deliveries: WebhookDelivery[] = [];
  private readonly traffic = new Set<TrafficHandle & { stopNow(): void }>();
  private nextStats = 1;
  private nextSyntheticLead = 1;
  private readonly syntheticLeadIds = new Map<string, number>();

  constructor(
    private readonly state: SimulatorState,
    private readonly opts: { allowRemoteTargets?: boolean; timeoutMs?: number } = {},
  ) {}

  get targetUrl(): string | null {
    return this.target?.url ?? null;
  }

  /** Where webhooks go, and the `secret_key` Smartlead puts in every body. */
  setTarget(url: string, options: { secretKey?: string | null; webhookId?: number; webhookName?: string } = {}): void {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new Error(`webhook target is not a URL: ${url}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('webhook target must be http(s)');
    if (!this.opts.allowRemoteTargets && !isLoopbackUrl(url)) {
      throw new Error('webhook target must be a loopback address (start the simulator with allowRemoteWebhookTargets to change this)');
    }
    this.target = {
      url,
      secretKey: options.secretKey ?? null,
      webhookId: options.webhookId ?? 31337,
      webhookName: options.webhookName ?? 'Drason',
      createdAt: new Date().toISOString(),
    };
  }

  clearTarget(): void {
    this.target = null;
  }

  /** The exact body Smartlead would POST for this event. */
  buildPayload(input: WebhookEventInput, rand: () => number = Math.random): { body: Record<string, unknown>; bounceKind?: BounceKind } {
    const at = input.at === undefined ? new Date() : new Date(input.at);
    const iso = at.toISOString();
    const campaignId = input.campaignId === undefined ? undefined : Number(input.campaignId);
    const campaign = campaignId === undefined ? undefined : this.state.campaigns.get(campaignId);
    const lead = this.state.findLeadByEmail(input.toEmail);
    const leadId = lead?.id ?? this.syntheticLeadId(input.toEmail);
    const mapId = lead !== undefined && campaignId !== undefined ? this.state.campaignLeads.get(campaignId)?.get(lead.id)?.mapId : undefined;
    const statsId = randomUUID();
    const messageId = `<${statsId}@${input.fromEmail.split('@')[1] ?? 'smartlead.ai'}>`;
    const sequenceNumber = input.sequenceNumber ?? 1;
    const subject = `Quick question, ${lead?.firstName ?? 'there'}`;
    const t = this.target;
    const body: Record<string, unknown> = {
      webhook_id: t?.webhookId ?? null,
      webhook_name: t?.webhookName ?? null,
      webhook_url: t?.url ?? null,
      stats_id: statsId,
      event_type: input.type,
      event_timestamp: iso,
      from_email: input.fromEmail,
      to_email: input.toEmail,
      to_name: input.toName ?? [lead?.firstName, lead?.lastName].filter(Boolean).join(' '),
      subject,
      campaign_id: campaignId ?? null,
      campaign_name: campaign?.name ?? null,
      campaign_status: campaign?.status ?? null,
      sequence_number: sequenceNumber,
      sl_email_lead_id: leadId,
      sl_email_lead_map_id: mapId ?? null,
      sl_lead_email: input.toEmail,
      message_id: messageId,
      sent_message: { message_id: messageId, html: `<p>${subject}</p>`, text: subject, time: iso },
      client_id: null,
      app_url: campaignId === undefined ? null : `https://app.smartlead.ai/app/email-campaign/${campaignId}/analytics`,
      secret_key: t?.secretKey ?? null,
      description: describe(input.type, input.toEmail),
      metadata: { webhook_created_at: t?.createdAt ?? iso },
    };
    let bounceKind: BounceKind | undefined;
    if (input.type === 'EMAIL_SENT' || input.type === 'FIRST_EMAIL_SENT') {
      body.time_sent = iso;
    } else if (input.type === 'EMAIL_BOUNCE') {
      let text: string;
      if (input.bounce !== undefined && typeof input.bounce === 'object') {
        text = input.bounce.message;
        bounceKind = /^5\d\d[ -]5\.1\./.test(text) ? 'hard' : 'soft';
      } else {
        bounceKind = input.bounce ?? 'hard';
        const pool = bounceKind === 'hard' ? HARD_BOUNCE_MESSAGES : SOFT_BOUNCE_MESSAGES;
        text = (pool[Math.floor(rand() * pool.length)] ?? pool[0] ?? '').split('{to}').join(input.toEmail);
      }
      body.bounce_message = { message_id: `<bounce-${statsId}@mailer-daemon>`, html: `<p>${text}</p>`, text, time: iso };
    } else if (input.type === 'EMAIL_REPLY') {
      const text = input.replyText ?? 'Thanks for reaching out. Can you send more details?';
      body.reply_message = { message_id: `<reply-${statsId}@${input.toEmail.split('@')[1] ?? 'example.com'}>`, html: `<p>${text}</p>`, text, time: iso };
      body.preview_text = text.slice(0, 120);
    }
    Object.assign(body, input.extra ?? {});
    return bounceKind === undefined ? { body } : { body, bounceKind };
  }

  /** Build and POST one event; resolves with the delivery record (never rejects on HTTP/network failure). */
  async emit(input: WebhookEventInput, rand: () => number = Math.random): Promise<WebhookDelivery> {
    const { body, bounceKind } = this.buildPayload(input, rand);
    return this.post(body, input, bounceKind);
  }

  /** Deterministic: one after the other, in order. */
  async emitMany(inputs: readonly WebhookEventInput[]): Promise<WebhookDelivery[]> {
    const out: WebhookDelivery[] = [];
    for (const input of inputs) out.push(await this.emit(input));
    return out;
  }

  private async post(body: Record<string, unknown>, input: WebhookEventInput, bounceKind?: BounceKind): Promise<WebhookDelivery> {
    const t = this.target;
    const delivery: WebhookDelivery = {
      eventType: input.type,
      toEmail: input.toEmail,
      fromEmail: input.fromEmail,
      ...(bounceKind !== undefined ? { bounceKind } : {}),
      status: null,
      ok: false,
      at: Date.now(),
      body,
    };
    if (t === null) {
      delivery.error = 'no webhook target configured';
      this.deliveries.push(delivery);
      return delivery;
    }
    const raw = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Smartlead-Webhook-Simulator/1', 'x-request-id': String(body.stats_id) };
    if (t.secretKey !== null) headers['x-smartlead-signature'] = `sha256=${createHmac('sha256', t.secretKey).update(raw).digest('hex')}`;
    try {
      const res = await fetch(t.url, { method: 'POST', headers, body: raw, redirect: 'manual', signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
      await res.arrayBuffer().catch(() => undefined);
      delivery.status = res.status;
      delivery.ok = res.status >= 200 && res.status < 300;
    } catch (err) {
      delivery.error = err instanceof Error ? err.message : String(err);
    }
    this.deliveries.push(delivery);
    return delivery;
  }

  private syntheticLeadId(email: string): number {
    const key = normalizeEmail(email);
    let id = this.syntheticLeadIds.get(key);
    if (id === undefined) {
      id = 8_000_000 + this.nextSyntheticLead++;
      this.syntheticLeadIds.set(key, id);
    }
    return id;
  }

  /** Start a bounded, stoppable stream of Smartlead-like traffic for one campaign. */
  startTraffic(options: TrafficOptions): TrafficHandle {
    const campaignId = Number(options.campaignId);
    if (!this.state.campaigns.has(campaignId)) throw new Error(`campaign ${String(options.campaignId)} does not exist`);
    if (!(options.ratePerSecond > 0)) throw new Error('ratePerSecond must be > 0');
    const rand = seededRandom(options.seed ?? 1);
    const maxSends = options.maxSends ?? 10_000;
    const defaults = options.defaults ?? {};

    // Mailboxes: the given ones (created and linked if missing), else the campaign's linked mailboxes.
    const mailboxes: { email: string; rates: MailboxRates }[] = [];
    if (options.perMailbox !== undefined) {
      for (const [email, rates] of Object.entries(options.perMailbox)) {
        let account = this.state.findEmailAccountByEmail(email);
        if (account === undefined) account = this.state.addEmailAccount({ fromEmail: email });
        if (!this.state.campaignAccounts.get(campaignId)?.has(account.id)) this.state.linkEmailAccount(campaignId, account.id);
        mailboxes.push({ email: account.fromEmail, rates: { ...defaults, ...rates } });
      }
    } else {
      for (const a of this.state.accountsOfCampaign(campaignId)) mailboxes.push({ email: a.fromEmail, rates: defaults });
    }
    if (mailboxes.length === 0) throw new Error(`campaign ${campaignId} has no mailboxes to send from`);

    const stats: TrafficStats = {
      sends: 0,
      hardBounces: 0,
      failures: 0,
      replies: 0,
      skipped: 0,
      delivered: 0,
      deliveryErrors: 0,
      running: true,
      perMailbox: Object.fromEntries(mailboxes.map((m) => [m.email, { sends: 0, hardBounces: 0, failures: 0, replies: 0 }])),
    };
    const queue: WebhookEventInput[] = [];
    let inFlight = 0;
    let rr = 0;
    let recipientSeq = 0;
    const recipientDomain = options.recipientDomain ?? 'prospects.example';
    let resolveDone: (s: TrafficStats) => void = () => undefined;
    const done = new Promise<TrafficStats>((r) => {
      resolveDone = r;
    });

    const canSend = (email: string): boolean => {
      const c = this.state.campaigns.get(campaignId);
      if (c === undefined || c.status !== 'ACTIVE') return false;
      const a = this.state.findEmailAccountByEmail(email);
      if (a === undefined || a.isSuspended || (options.respectDailyLimit === true && !this.state.hasDailyCapacity(a))) return false;
      return this.state.campaignAccounts.get(campaignId)?.has(a.id) ?? false;
    };
    const nextRecipient = (): string => {
      const leads = this.state.leadsOfCampaign(campaignId).filter((l) => l.status !== 'PAUSED' && l.status !== 'STOPPED');
      const i = recipientSeq++;
      if (i < leads.length) return leads[i]?.email ?? `prospect-${i}@${recipientDomain}`;
      return `prospect-${i}@${recipientDomain}`;
    };
    const maybeFinish = (): void => {
      if (!stats.running && queue.length === 0 && inFlight === 0) resolveDone({ ...stats });
    };
    const pump = (): void => {
      while (inFlight < 8 && queue.length > 0) {
        const ev = queue.shift();
        if (ev === undefined) break;
        inFlight += 1;
        void this.emit(ev, rand).then((d) => {
          inFlight -= 1;
          if (d.ok) stats.delivered += 1;
          else stats.deliveryErrors += 1;
          pump();
          maybeFinish();
        });
      }
    };
    const tick = (): void => {
      if (!stats.running) return;
      if (stats.sends >= maxSends) {
        stopNow();
        return;
      }
      let chosen: { email: string; rates: MailboxRates } | undefined;
      for (let k = 0; k < mailboxes.length; k += 1) {
        const m = mailboxes[(rr + k) % mailboxes.length];
        if (m !== undefined && canSend(m.email)) {
          chosen = m;
          rr = (rr + k + 1) % mailboxes.length;
          break;
        }
      }
      if (chosen === undefined) {
        stats.skipped += 1;
        return;
      }
      const to = nextRecipient();
      const per = stats.perMailbox[chosen.email];
      const base = { fromEmail: chosen.email, toEmail: to, campaignId };
      queue.push({ type: 'EMAIL_SENT', ...base });
      const sender = this.state.findEmailAccountByEmail(chosen.email);
      if (sender !== undefined) this.state.recordSend(sender.id);
      stats.sends += 1;
      if (per !== undefined) per.sends += 1;
      const r = rand();
      const bounceRate = chosen.rates.bounceRate ?? 0;
      const failureRate = chosen.rates.failureRate ?? 0;
      const replyRate = chosen.rates.replyRate ?? 0;
      if (r < bounceRate) {
        queue.push({ type: 'EMAIL_BOUNCE', bounce: 'hard', ...base });
        stats.hardBounces += 1;
        if (per !== undefined) per.hardBounces += 1;
      } else if (r < bounceRate + failureRate) {
        queue.push({ type: 'EMAIL_BOUNCE', bounce: 'soft', ...base });
        stats.failures += 1;
        if (per !== undefined) per.failures += 1;
      } else if (rand() < replyRate) {
        queue.push({ type: 'EMAIL_REPLY', ...base });
        stats.replies += 1;
        if (per !== undefined) per.replies += 1;
      }
      pump();
      if (stats.sends >= maxSends) stopNow();
    };

    const intervalMs = Math.max(1, Math.round(1000 / options.ratePerSecond));
    const perTick = Math.max(1, Math.round(options.ratePerSecond / (1000 / intervalMs)));
    const timer = setInterval(() => {
      for (let i = 0; i < perTick && stats.running; i += 1) tick();
    }, intervalMs);
    const deadline = options.durationMs === undefined ? undefined : setTimeout(() => stopNow(), options.durationMs);

    const stopNow = (): void => {
      if (!stats.running) return;
      stats.running = false;
      clearInterval(timer);
      if (deadline !== undefined) clearTimeout(deadline);
      this.traffic.delete(handle);
      maybeFinish();
    };
    const handle = {
      stats,
      done,
      stop: async (): Promise<TrafficStats> => {
        stopNow();
        return done;
      },
      stopNow,
    };
    this.traffic.add(handle);
    return handle;
  }

  /** Stop every traffic generator and wait for queued deliveries. */
  async stopAllTraffic(): Promise<void> {
    await Promise.all([...this.traffic].map((t) => t.stop()));
  }

  get activeTraffic(): TrafficHandle[] {
    return [...this.traffic];
  }
}

function describe(type: string, to: string): string {
  switch (type) {
    case 'EMAIL_SENT':
      return `Email sent to ${to}`;
    case 'EMAIL_BOUNCE':
      return `Email to ${to} bounced`;
    case 'EMAIL_REPLY':
      return `${to} replied`;
    default:
      return `${type} for ${to}`;
  }
}
