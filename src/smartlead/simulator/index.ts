/**
 * A faithful local Smartlead, for tests, the demo and manual runs.
 *
 *   const sim = createSmartleadSimulator({ rateLimit: { maxRequests: 5, perMs: 500 } });
 *   await sim.start();                       // 127.0.0.1, free port
 *   const client = new SmartleadClient({ apiKey: sim.apiKey!, baseUrl: sim.url });
 *   sim.faults.rateLimit(3);                 // next 3 requests answer 429
 *   sim.revokeKey();                         // every request answers 401
 *   sim.calls / sim.overLimit                // what arrived, and what arrived faster than allowed
 *   await sim.stop();
 *
 * Everything is also reachable over HTTP under `/__sim/` (see app.ts) so another process can drive it.
 */
import type { AddressInfo } from 'node:net';
import { type Server, createServer } from 'node:http';
import type express from 'express';
import { type SimCall, type SimContext, createSimulatorApp } from './app';
import { FaultInjector, type SimRateLimit, SlidingWindowLimiter } from './faults';
import { SimulatorState } from './state';
import { type TrafficHandle, type TrafficOptions, type WebhookDelivery, WebhookEmitter, type WebhookEventInput } from './webhooks';

export type { SimCall } from './app';
export type { FaultKind, FaultSpec, SimRateLimit } from './faults';
export { FaultInjector, SlidingWindowLimiter } from './faults';
export type { KeyCheck, NewCampaign, NewEmailAccount, SimCampaign, SimCampaignStatus, SimEmailAccount, SimLead, SimLeadStatus } from './state';
export { SimulatorState, newSimulatorKey } from './state';
export type { BounceKind, MailboxRates, TrafficHandle, TrafficOptions, TrafficStats, WebhookDelivery, WebhookEventInput } from './webhooks';
export { HARD_BOUNCE_MESSAGES, SOFT_BOUNCE_MESSAGES, WebhookEmitter, isLoopbackUrl, seededRandom } from './webhooks';

export interface SmartleadSimulatorOptions {
  /** The valid API key (default: a random `sim_...`). */
  apiKey?: string;
  /** Simulator-side limit per key (default 10 per 2000 ms, like Smartlead); `false` disables it. */
  rateLimit?: SimRateLimit | false;
  /** Max leads per POST /campaigns/{id}/leads (default 100). */
  maxLeadsPerRequest?: number;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Webhook target and secret key. */
  webhook?: { url: string; secretKey?: string };
  /** Allow webhook targets that are not loopback addresses (default false). */
  allowRemoteWebhookTargets?: boolean;
  /** Line logger for each API request (default silent). */
  log?: (line: string) => void;
}

export interface SmartleadSimulator {
  /** Base URL of the API, e.g. `http://127.0.0.1:4010/api/v1` (pass as the client's baseUrl). Throws before start. */
  readonly url: string;
  /** `http://host:port` (admin API under `/__sim`). Throws before start. */
  readonly origin: string;
  /** The currently valid key (null after `revokeKey`). */
  readonly apiKey: string | null;
  readonly state: SimulatorState;
  /** Every API request received, in arrival order (live array). */
  readonly calls: SimCall[];
  /** Requests that arrived faster than the simulator's rate limit allows (live array). */
  readonly overLimit: SimCall[];
  readonly faults: FaultInjector;
  readonly limiter: SlidingWindowLimiter;
  readonly webhooks: WebhookEmitter;
  readonly app: express.Express;
  start(port?: number): Promise<string>;
  stop(): Promise<void>;
  /** Forget calls and over-limit records (state, faults and keys are kept). */
  clearCalls(): void;
  /** Back to an empty state (key: `options.apiKey`, or a new random one); faults, calls and traffic cleared. */
  reset(): void;
  revokeKey(): void;
  rotateKey(newKey?: string): string;
  deleteCampaign(id: number | string): boolean;
  removeEmailAccount(id: number | string): boolean;
  setWebhookTarget(url: string, opts?: { secretKey?: string }): void;
  emit(event: WebhookEventInput): Promise<WebhookDelivery>;
  emitMany(events: readonly WebhookEventInput[]): Promise<WebhookDelivery[]>;
  startTraffic(opts: TrafficOptions): TrafficHandle;
}

export function createSmartleadSimulator(options: SmartleadSimulatorOptions = {}): SmartleadSimulator {
  const initialKey = options.apiKey;
  const makeState = (): SimulatorState =>
    new SimulatorState({
      ...(initialKey !== undefined ? { apiKey: initialKey } : {}),
      ...(options.maxLeadsPerRequest !== undefined ? { maxLeadsPerRequest: options.maxLeadsPerRequest } : {}),
    });
  const rate: SimRateLimit | null = options.rateLimit === false ? null : (options.rateLimit ?? { maxRequests: 10, perMs: 2000 });

  let state = makeState();
  const calls: SimCall[] = [];
  const overLimit: SimCall[] = [];
  const faults = new FaultInjector();
  const limiter = new SlidingWindowLimiter(rate);
  let webhooks = new WebhookEmitter(state, { allowRemoteTargets: options.allowRemoteWebhookTargets ?? false });
  if (options.webhook !== undefined) webhooks.setTarget(options.webhook.url, { secretKey: options.webhook.secretKey ?? null });

  const ctx: SimContext = {
    get state() {
      return state;
    },
    faults,
    limiter,
    get webhooks() {
      return webhooks;
    },
    calls,
    overLimit,
    traffic: { current: null },
    reset: () => sim.reset(),
    ...(options.log !== undefined ? { log: options.log } : {}),
  };
  const app = createSimulatorApp(ctx);
  let server: Server | null = null;
  let address: { host: string; port: number } | null = null;

  const origin = (): string => {
    if (address === null) throw new Error('the Smartlead simulator is not started');
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    return `http://${host}:${address.port}`;
  };

  const sim: SmartleadSimulator = {
    get url() {
      return `${origin()}/api/v1`;
    },
    get origin() {
      return origin();
    },
    get apiKey() {
      return state.apiKey;
    },
    get state() {
      return state;
    },
    calls,
    overLimit,
    faults,
    limiter,
    get webhooks() {
      return webhooks;
    },
    app,
    async start(port = 0) {
      if (server !== null) return sim.url;
      const host = options.host ?? '127.0.0.1';
      const s = createServer(app);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, host, () => {
          s.off('error', reject);
          resolve();
        });
      });
      server = s;
      const a = s.address() as AddressInfo;
      address = { host, port: a.port };
      return sim.url;
    },
    async stop() {
      await webhooks.stopAllTraffic();
      const s = server;
      server = null;
      address = null;
      if (s === null) return;
      s.closeAllConnections(); // includes requests held by a "hang" fault
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    clearCalls() {
      calls.length = 0;
      overLimit.length = 0;
    },
    reset() {
      void webhooks.stopAllTraffic();
      const target = webhooks.targetUrl;
      state = makeState();
      webhooks = new WebhookEmitter(state, { allowRemoteTargets: options.allowRemoteWebhookTargets ?? false });
      if (target !== null && options.webhook !== undefined) webhooks.setTarget(options.webhook.url, { secretKey: options.webhook.secretKey ?? null });
      ctx.traffic.current = null;
      faults.clear();
      limiter.reset();
      sim.clearCalls();
    },
    revokeKey: () => state.revokeKey(),
    rotateKey: (newKey?: string) => state.rotateKey(newKey),
    deleteCampaign: (id) => state.deleteCampaign(Number(id)),
    removeEmailAccount: (id) => state.removeEmailAccount(Number(id)),
    setWebhookTarget: (url, opts = {}) => webhooks.setTarget(url, { secretKey: opts.secretKey ?? null }),
    emit: (event) => webhooks.emit(event),
    emitMany: (events) => webhooks.emitMany(events),
    startTraffic: (opts) => webhooks.startTraffic(opts),
  };
  return sim;
}
