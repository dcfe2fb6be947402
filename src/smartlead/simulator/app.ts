/**
 * The simulator's HTTP surface:
 *  - `/api/v1/...`: the Smartlead API paths Drason uses, with Smartlead's auth (`?api_key=`), rate limit
 *    (429 + Retry-After + X-RateLimit-* headers), documented bodies and status codes;
 *  - `/__sim/...`: an admin API (no auth, not rate limited, not recorded) so another process can drive the
 *    simulator: faults, key revocation, deletions, webhooks, traffic.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { FaultInjector, FaultSpec, SlidingWindowLimiter } from './faults';
import { type SimCampaignStatus, type SimulatorState, normalizeEmail } from './state';
import type { TrafficHandle, TrafficOptions, WebhookEmitter, WebhookEventInput } from './webhooks';

export interface SimCall {
  seq: number;
  method: string;
  /** API path without `/api/v1` and without query string, e.g. `/campaigns/1001`. */
  path: string;
  /** Query parameters, `api_key` removed. */
  query: Record<string, string>;
  body: unknown;
  /** Arrival time (ms since epoch). */
  at: number;
  key: 'valid' | 'revoked' | 'invalid' | 'missing';
  /** Arrived while the key was over the simulator's rate limit. */
  overLimit: boolean;
  /** Injected fault applied to this request, if any. */
  fault?: string;
  /** Response status (set when the response finishes; null if the client went away first, or the connection was reset). */
  status: number | null;
  /** drop_after_commit: the status the route answered (its work done) before that answer was lost. */
  droppedStatus?: number;
}

export interface SimContext {
  state: SimulatorState;
  faults: FaultInjector;
  limiter: SlidingWindowLimiter;
  webhooks: WebhookEmitter;
  calls: SimCall[];
  overLimit: SimCall[];
  traffic: { current: TrafficHandle | null };
  reset(): void;
  log?: (line: string) => void;
}

const API_PREFIX = '/api/v1';
const CAMPAIGN_STATUS_COMMANDS: Record<string, SimCampaignStatus> = { START: 'ACTIVE', PAUSED: 'PAUSED', STOPPED: 'STOPPED' };
const LEAD_SETTINGS = ['ignore_global_block_list', 'ignore_unsubscribe_list', 'ignore_duplicate_leads_in_other_campaign', 'ignore_community_bounce_list'];
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function idParam(req: Request, name: string): number | null {
  const raw = req.params[name];
  const value = typeof raw === 'string' ? raw : '';
  return /^\d+$/.test(value) ? Number(value) : null;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Unknown paths and thrown errors answer the way Smartlead's server does (JSON `{error}`). */
function useSmartleadFallbacks(router: express.Router | express.Express): void {
  router.use((req: Request, res: Response) => {
    res.status(404).json({ error: `Cannot ${req.method} ${req.path}` });
  });
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = typeof err === 'object' && err !== null && 'status' in err && typeof err.status === 'number' ? err.status : 500;
    if (!res.headersSent) res.status(status).json({ error: status === 400 ? 'Invalid JSON body' : 'Internal server error occurred' });
  });
}

/**
 * drop_after_commit: the route runs and changes the state as usual; the answer it gives is then lost: replaced by
 * `spec.status` (a gateway error), or the connection is reset. `spec.delayMs` holds it first (a client timeout).
 */
function loseResponse(res: Response, call: SimCall, spec: FaultSpec): void {
  const send = res.json.bind(res);
  res.json = ((): Response => {
    call.droppedStatus = res.statusCode;
    const drop = (): void => {
      if (res.writableEnded || res.destroyed) return;
      if (spec.status === undefined) {
        res.socket?.destroy();
      } else if (spec.body !== undefined) {
        res.status(spec.status).type('text/html').send(spec.body);
      } else {
        res.status(spec.status);
        send({ error: 'Bad gateway' });
      }
    };
    if (spec.delayMs === undefined) {
      drop();
    } else {
      const t = setTimeout(drop, spec.delayMs);
      res.on('close', () => clearTimeout(t));
    }
    return res;
  }) as Response['json'];
}

export function createSimulatorApp(ctx: SimContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/__sim', express.json({ limit: '5mb' }), adminRouter(ctx));
  app.use(API_PREFIX, apiRouter(ctx));
  useSmartleadFallbacks(app);
  return app;
}

// =========================================================================================================
// Smartlead API
// =========================================================================================================

function apiRouter(ctx: SimContext): Router {
  const r = express.Router();
  const { state } = ctx;

  // 1. Record the call, count it against the key's rate limit, apply faults, check the key.
  r.use((req: Request, res: Response, next: NextFunction) => {
    const at = Date.now();
    const url = new URL(req.originalUrl, 'http://sim');
    const apiKey = url.searchParams.get('api_key') ?? undefined;
    url.searchParams.delete('api_key');
    const path = req.path;
    const call: SimCall = {
      seq: ctx.calls.length + 1,
      method: req.method,
      path,
      query: Object.fromEntries(url.searchParams),
      body: undefined,
      at,
      key: state.checkKey(apiKey),
      overLimit: false,
      status: null,
    };
    ctx.calls.push(call);
    res.locals.call = call;
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    const rl = ctx.limiter.arrive(apiKey ?? '(none)', at);
    if (rl.over) {
      call.overLimit = true;
      ctx.overLimit.push(call);
    }
    if (ctx.limiter.config !== null) {
      res.setHeader('x-ratelimit-limit', String(ctx.limiter.config.maxRequests));
      res.setHeader('x-ratelimit-remaining', String(rl.remaining));
      res.setHeader('x-ratelimit-reset', String(Math.ceil(rl.resetAt / 1000)));
    }
    ctx.log?.(`${req.method} ${path} key=${call.key}${rl.over ? ' OVER-LIMIT' : ''}`);
    res.locals.rateLimit = rl;
    next();
  });
  r.use(express.json({ limit: '5mb' }));
  r.use(async (req: Request, res: Response, next: NextFunction) => {
    const call = res.locals.call as SimCall;
    call.body = req.body;
    const fault = ctx.faults.take(req.method, call.path);
    if (fault !== undefined) {
      call.fault = fault.kind;
      const spec = fault.spec;
      switch (fault.kind) {
        case 'rate_limit': {
          const seconds = spec.retryAfterSeconds ?? 1;
          res.setHeader('retry-after', spec.retryAfterAsDate ? new Date(Date.now() + seconds * 1000).toUTCString() : String(seconds));
          res.status(429).json({ message: 'Too many requests. Please slow down and retry later.' });
          return;
        }
        case 'server_error': {
          const status = spec.status ?? 500;
          if (spec.body !== undefined) res.status(status).type('text/html').send(spec.body);
          else res.status(status).json({ error: 'Internal server error occurred' });
          return;
        }
        case 'malformed':
          res.status(200).type('application/json').send(spec.body ?? '<html><body>Bad gateway</body></html>');
          return;
        case 'hang': {
          // Hold the request: answer 504 after delayMs if given, else never (until the client gives up).
          if (spec.delayMs !== undefined) {
            const t = setTimeout(() => {
              if (!res.writableEnded) res.status(504).json({ error: 'Gateway timeout' });
            }, spec.delayMs);
            res.on('close', () => clearTimeout(t));
          }
          return;
        }
        case 'latency':
          await sleep(spec.delayMs ?? 1000);
          if (res.destroyed) return;
          break;
        case 'drop_after_commit':
          break; // applied below, once the request is let through to its route
      }
    }
    const rl = res.locals.rateLimit as ReturnType<SlidingWindowLimiter['arrive']>;
    if (rl.over) {
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(rl.retryAfterMs / 1000))));
      res.status(429).json({ message: 'Too many requests. Please slow down and retry later.' });
      return;
    }
    if (call.key !== 'valid') {
      res.status(401).json({ message: 'Invalid API Key' });
      return;
    }
    if (fault?.kind === 'drop_after_commit') loseResponse(res, call, fault.spec);
    next();
  });

  // 2. Campaigns
  r.get('/campaigns', (_req, res) => {
    const list = [...state.campaigns.values()].sort((a, b) => b.id - a.id).map((c) => state.campaignJson(c));
    res.json(list);
  });

  r.get('/campaigns/:id', (req, res) => {
    const c = state.campaigns.get(idParam(req, 'id') ?? -1);
    if (c === undefined) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    res.json(state.campaignJson(c));
  });

  r.post('/campaigns/:id/status', (req, res) => {
    const id = idParam(req, 'id') ?? -1;
    const c = state.campaigns.get(id);
    if (c === undefined) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    const command = (req.body as { status?: unknown } | undefined)?.status;
    const next = typeof command === 'string' ? CAMPAIGN_STATUS_COMMANDS[command] : undefined;
    if (next === undefined) {
      res.status(400).json({ error: '"status" must be one of [START, PAUSED, STOPPED]' });
      return;
    }
    if (c.status === 'STOPPED' && next !== 'STOPPED') {
      res.status(400).json({ error: 'Campaign is stopped and cannot be restarted' });
      return;
    }
    state.setCampaignStatus(id, next);
    res.json({ success: true, message: 'Campaign status updated successfully', campaign: { id: c.id, status: c.status } });
  });

  r.get('/campaigns/:id/email-accounts', (req, res) => {
    const id = idParam(req, 'id') ?? -1;
    if (!state.campaigns.has(id)) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    res.json(state.accountsOfCampaign(id).map((a) => state.emailAccountJson(a)));
  });

  const accountIdsOf = (body: unknown): number[] | null => {
    const ids = (body as { email_account_ids?: unknown } | undefined)?.email_account_ids;
    if (!Array.isArray(ids) || ids.length === 0) return null;
    const out = ids.map((v) => Number(v));
    return out.every((n) => Number.isInteger(n)) ? out : null;
  };

  r.post('/campaigns/:id/email-accounts', (req, res) => {
    const id = idParam(req, 'id') ?? -1;
    if (!state.campaigns.has(id)) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    const ids = accountIdsOf(req.body);
    if (ids === null) {
      res.status(400).json({ error: '"email_account_ids" must be a non-empty array of integers' });
      return;
    }
    const unknown = ids.filter((a) => !state.emailAccounts.has(a));
    if (unknown.length > 0) {
      res.status(400).json({ error: `Email account not found: ${unknown.join(', ')}` });
      return;
    }
    for (const a of ids) state.linkEmailAccount(id, a);
    res.json({ ok: true });
  });

  r.delete('/campaigns/:id/email-accounts', (req, res) => {
    const id = idParam(req, 'id') ?? -1;
    const c = state.campaigns.get(id);
    if (c === undefined) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    const ids = accountIdsOf(req.body);
    if (ids === null) {
      res.status(400).json({ error: '"email_account_ids" must be a non-empty array of integers' });
      return;
    }
    const linked = state.campaignAccounts.get(id) ?? new Set<number>();
    const remaining = [...linked].filter((a) => !ids.includes(a));
    if (c.status === 'ACTIVE' && linked.size > 0 && remaining.length === 0) {
      res.status(400).json({ error: 'Cannot remove all email accounts from an active campaign' });
      return;
    }
    for (const a of ids) state.unlinkEmailAccount(id, a);
    res.json({ ok: true });
  });

  // 3. Email accounts
  r.get('/email-accounts', (req, res) => {
    const offset = req.query.offset === undefined ? 0 : Number(req.query.offset);
    const limit = req.query.limit === undefined ? 100 : Number(req.query.limit);
    if (!Number.isInteger(offset) || offset < 0) {
      res.status(400).json({ error: '"offset" must be greater than or equal to 0' });
      return;
    }
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      res.status(400).json({ error: '"limit" must be between 1 and 100' });
      return;
    }
    const all = [...state.emailAccounts.values()].sort((a, b) => a.id - b.id);
    res.json(all.slice(offset, offset + limit).map((a) => state.emailAccountJson(a)));
  });

  r.get('/email-accounts/:id', (req, res) => {
    const a = state.emailAccounts.get(idParam(req, 'id') ?? -1);
    if (a === undefined) {
      res.status(404).json({ error: 'Email account not found' });
      return;
    }
    res.json(state.emailAccountJson(a));
  });

  const setSuspended = (suspended: boolean) => (req: Request, res: Response) => {
    const a = state.emailAccounts.get(idParam(req, 'id') ?? -1);
    if (a === undefined) {
      // Documented as 400 for this endpoint.
      res.status(400).json({ error: 'Invalid account ID or account not found' });
      return;
    }
    state.setEmailAccountSuspended(a.id, suspended);
    res.json({
      success: true,
      message: suspended ? 'Email account suspended successfully' : 'Email account unsuspended successfully',
      data: { accountId: a.id, isSuspended: a.isSuspended },
    });
  };
  r.put('/email-accounts/suspend/:id', setSuspended(true));
  r.delete('/email-accounts/unsuspend/:id', setSuspended(false));

  // 4. Leads
  r.post('/campaigns/:id/leads', (req, res) => {
    const id = idParam(req, 'id') ?? -1;
    if (!state.campaigns.has(id)) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    const body = (req.body ?? {}) as { lead_list?: unknown; settings?: unknown };
    if (!Array.isArray(body.lead_list)) {
      res.status(400).json({ error: '"lead_list" is required and must be an array' });
      return;
    }
    if (body.lead_list.length > state.maxLeadsPerRequest) {
      res.status(400).json({ error: `"lead_list" must contain less than or equal to ${state.maxLeadsPerRequest} items` });
      return;
    }
    const settings: Record<string, unknown> = {};
    if (body.settings !== undefined) {
      if (body.settings === null || typeof body.settings !== 'object' || Array.isArray(body.settings)) {
        res.status(400).json({ error: '"settings" must be an object' });
        return;
      }
      for (const [k, v] of Object.entries(body.settings)) {
        if (!LEAD_SETTINGS.includes(k)) {
          res.status(400).json({ error: `"settings.${k}" is not allowed` });
          return;
        }
        if (typeof v !== 'boolean') {
          res.status(400).json({ error: `"settings.${k}" must be a boolean` });
          return;
        }
        settings[k] = v;
      }
    }
    const seen = new Set<string>();
    const result = {
      ok: true,
      upload_count: 0,
      total_leads: body.lead_list.length,
      block_count: 0,
      duplicate_count: 0,
      invalid_email_count: 0,
      invalid_emails: [] as string[],
      already_added_to_campaign: 0,
      unsubscribed_leads: [] as string[],
      is_lead_limit_exhausted: false,
      lead_import_stopped_count: 0,
      bounce_count: 0,
    };
    for (const item of body.lead_list as unknown[]) {
      const email = item !== null && typeof item === 'object' && typeof (item as { email?: unknown }).email === 'string' ? (item as { email: string }).email.trim() : '';
      if (!EMAIL_RE.test(email)) {
        result.invalid_email_count += 1;
        result.invalid_emails.push(email);
        continue;
      }
      const key = normalizeEmail(email);
      if (seen.has(key)) {
        result.duplicate_count += 1;
        continue;
      }
      seen.add(key);
      if (settings.ignore_global_block_list !== true && state.isBlocked(email)) {
        result.block_count += 1;
        continue;
      }
      if (settings.ignore_unsubscribe_list !== true && state.unsubscribed.has(key)) {
        result.unsubscribed_leads.push(email);
        continue;
      }
      const existing = state.findLeadByEmail(email);
      if (existing !== undefined) {
        const inCampaigns = state.campaignsOfLead(existing.id);
        if (inCampaigns.includes(id)) {
          result.already_added_to_campaign += 1;
          continue;
        }
        if (inCampaigns.length > 0 && settings.ignore_duplicate_leads_in_other_campaign !== true) {
          result.duplicate_count += 1;
          continue;
        }
      }
      if (state.leadCredits !== null && state.leadCredits <= 0) {
        result.is_lead_limit_exhausted = true;
        result.lead_import_stopped_count += 1;
        continue;
      }
      const lead = state.upsertLead(item as { email: string });
      state.enrollLead(id, lead.id);
      if (state.leadCredits !== null) state.leadCredits -= 1;
      result.upload_count += 1;
    }
    res.json(result);
  });

  r.get('/leads', (req, res) => {
    const email = typeof req.query.email === 'string' ? req.query.email.trim() : '';
    if (email === '') {
      res.status(400).json({ error: '"email" is required' });
      return;
    }
    const lead = state.findLeadByEmail(email);
    res.json(lead === undefined ? {} : state.leadJson(lead));
  });

  const leadAction = (action: 'pause' | 'resume') => (req: Request, res: Response) => {
    const cid = idParam(req, 'cid') ?? -1;
    const map = state.campaignLeads.get(cid);
    if (map === undefined) {
      res.status(404).json({ error: 'Campaign not found' });
      return;
    }
    const cl = map.get(idParam(req, 'lid') ?? -1);
    if (cl === undefined) {
      res.status(404).json({ error: 'Lead not found in campaign' });
      return;
    }
    cl.status = action === 'pause' ? 'PAUSED' : 'INPROGRESS';
    res.json({ ok: true, data: 'success' });
  };
  r.post('/campaigns/:cid/leads/:lid/pause', leadAction('pause'));
  r.post('/campaigns/:cid/leads/:lid/resume', leadAction('resume'));

  useSmartleadFallbacks(r);
  return r;
}

// =========================================================================================================
// Admin API (/__sim)
// =========================================================================================================

function adminRouter(ctx: SimContext): Router {
  const r = express.Router();
  const { state } = ctx;
  const wrap =
    (fn: (req: Request, res: Response) => unknown) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        const out = await fn(req, res);
        if (!res.headersSent) res.json(out ?? { ok: true });
      } catch (err) {
        if (!res.headersSent) res.status(400).json({ error: err instanceof Error ? err.message : String(err) });
      }
    };
  const body = (req: Request): Record<string, unknown> => (req.body !== null && typeof req.body === 'object' ? (req.body as Record<string, unknown>) : {});
  const capacityOf = (b: Record<string, unknown>): { messagePerDay?: number | null; dailySentCount?: number | null } => {
    const field = (v: unknown): number | null | undefined => (v === null ? null : typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : undefined);
    const messagePerDay = field(b.messagePerDay);
    const dailySentCount = field(b.dailySentCount);
    return { ...(messagePerDay === undefined ? {} : { messagePerDay }), ...(dailySentCount === undefined ? {} : { dailySentCount }) };
  };

  r.get('/state', wrap(() => state.snapshot()));
  r.post('/reset', wrap(() => ctx.reset()));
  r.get('/calls', wrap(() => ctx.calls));
  r.delete('/calls', wrap(() => {
    ctx.calls.length = 0;
    ctx.overLimit.length = 0;
  }));
  r.get('/over-limit', wrap(() => ctx.overLimit));
  r.put('/rate-limit', wrap((req) => {
    const b = body(req);
    ctx.limiter.config = b.disabled === true ? null : { maxRequests: Number(b.maxRequests), perMs: Number(b.perMs) };
    return { rateLimit: ctx.limiter.config };
  }));

  r.get('/faults', wrap(() => ctx.faults.list()));
  r.post('/faults', wrap((req) => ({ id: ctx.faults.inject(body(req) as unknown as FaultSpec) })));
  r.delete('/faults', wrap(() => ctx.faults.clear()));

  r.post('/keys/revoke', wrap(() => state.revokeKey()));
  r.post('/keys/rotate', wrap((req) => {
    const k = body(req).apiKey;
    return { apiKey: state.rotateKey(typeof k === 'string' && k !== '' ? k : undefined) };
  }));

  r.post('/campaigns', wrap((req) => {
    const b = body(req);
    return state.addCampaign({
      ...(typeof b.id === 'number' ? { id: b.id } : {}),
      ...(typeof b.name === 'string' ? { name: b.name } : {}),
      ...(typeof b.status === 'string' ? { status: b.status as SimCampaignStatus } : {}),
    });
  }));
  r.delete('/campaigns/:id', wrap((req) => ({ deleted: state.deleteCampaign(Number(req.params.id)) })));
  r.post('/campaigns/:id/email-accounts', wrap((req) => {
    const ids = body(req).emailAccountIds;
    if (!Array.isArray(ids)) throw new Error('emailAccountIds must be an array');
    for (const a of ids) state.linkEmailAccount(Number(req.params.id), Number(a));
  }));
  r.post('/email-accounts', wrap((req) => {
    const b = body(req);
    if (typeof b.fromEmail !== 'string') throw new Error('fromEmail is required');
    return state.addEmailAccount({
      fromEmail: b.fromEmail,
      ...(typeof b.id === 'number' ? { id: b.id } : {}),
      ...(typeof b.fromName === 'string' ? { fromName: b.fromName } : {}),
      ...(Array.isArray(b.campaignIds) ? { campaignIds: b.campaignIds.map(Number) } : {}),
      ...(typeof b.isSuspended === 'boolean' ? { isSuspended: b.isSuspended } : {}),
      ...capacityOf(b),
    });
  }));
  // What Smartlead reports of an account: `{messagePerDay?, dailySentCount?, isSuspended?}` (null: not reported).
  r.put('/email-accounts/:id', wrap((req) => {
    const b = body(req);
    const id = Number(req.params.id);
    if (typeof b.isSuspended === 'boolean') state.setEmailAccountSuspended(id, b.isSuspended);
    return state.setEmailAccountCapacity(id, capacityOf(b));
  }));
  // The day's turn: every account's daily_sent_count back to 0.
  r.post('/day-turn', wrap(() => state.turnDay()));
  r.delete('/email-accounts/:id', wrap((req) => ({ deleted: state.removeEmailAccount(Number(req.params.id)) })));
  r.post('/block-list', wrap((req) => {
    const entries = body(req).entries;
    if (!Array.isArray(entries)) throw new Error('entries must be an array');
    for (const e of entries) state.blockList.add(normalizeEmail(String(e)));
  }));

  r.put('/webhook', wrap((req) => {
    const b = body(req);
    if (typeof b.url !== 'string') throw new Error('url is required');
    ctx.webhooks.setTarget(b.url, { secretKey: typeof b.secretKey === 'string' ? b.secretKey : null });
    return { url: b.url };
  }));
  r.post('/webhook/emit', wrap(async (req) => {
    const b = body(req);
    const events = (Array.isArray(b.events) ? b.events : [b.event ?? b]) as WebhookEventInput[];
    const deliveries = await ctx.webhooks.emitMany(events);
    return deliveries.map(({ body: _body, ...d }) => d);
  }));
  r.get('/webhook/deliveries', wrap(() => ctx.webhooks.deliveries.map(({ body: _body, ...d }) => d)));

  r.post('/traffic', wrap(async (req) => {
    if (ctx.traffic.current !== null) await ctx.traffic.current.stop();
    ctx.traffic.current = ctx.webhooks.startTraffic(body(req) as unknown as TrafficOptions);
    return { started: true };
  }));
  r.get('/traffic', wrap(() => ctx.traffic.current?.stats ?? null));
  r.delete('/traffic', wrap(async () => {
    const t = ctx.traffic.current;
    ctx.traffic.current = null;
    return t === null ? null : t.stop();
  }));
  return r;
}
