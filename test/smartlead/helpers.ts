/** Shared helpers for the Smartlead tests (loopback only). */
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SmartleadClient, type SmartleadClientOptions, type SmartleadLogger } from '../../src/smartlead/client';
import { type SmartleadSimulator, type SmartleadSimulatorOptions, createSmartleadSimulator } from '../../src/smartlead/simulator';
import type { SimCall } from '../../src/smartlead/simulator/app';

let counter = 0;
export function uniqueKey(prefix = 'test'): string {
  counter += 1;
  return `sl_${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}_Secr3tValue`;
}

export async function startSimulator(opts: SmartleadSimulatorOptions = {}): Promise<SmartleadSimulator> {
  const sim = createSmartleadSimulator({ apiKey: uniqueKey('sim'), ...opts });
  await sim.start(0);
  return sim;
}

/** A client on the simulator with fast, test-sized resilience settings (override as needed). */
export function clientFor(sim: SmartleadSimulator, overrides: Partial<SmartleadClientOptions> = {}): SmartleadClient {
  const apiKey = sim.apiKey;
  if (apiKey === null) throw new Error('simulator has no valid key');
  return new SmartleadClient({
    apiKey,
    baseUrl: sim.url,
    limiterKey: `org-${uniqueKey('org')}`,
    rateLimit: { maxRequests: 50, perMs: 250 },
    timeoutMs: 2000,
    retry: { maxAttempts: 4, initialDelayMs: 20, maxDelayMs: 100 },
    breaker: { consecutiveFailures: 50, halfOpenAfterMs: 1000 },
    ...overrides,
  });
}

/** Largest number of arrivals inside any window (t - perMs, t]. */
export function maxInWindow(calls: readonly SimCall[], perMs: number): number {
  const times = calls.map((c) => c.at).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    const t = times[end] ?? 0;
    while ((times[start] ?? 0) <= t - perMs) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export interface CapturingLogger extends SmartleadLogger {
  lines: string[];
}

export function capturingLogger(): CapturingLogger {
  const lines: string[] = [];
  const rec =
    (level: string) =>
    (message: string, meta?: Record<string, unknown>): void => {
      lines.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`);
    };
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  json: unknown;
}

/** A loopback HTTP receiver recording every request (webhook target). */
export async function startReceiver(status = 202): Promise<{ url: string; received: ReceivedRequest[]; close(): Promise<void> }> {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = null;
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, json });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/webhooks/smartlead/tok_test`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function leads(n: number, prefix = 'lead'): { email: string; first_name: string }[] {
  return Array.from({ length: n }, (_, i) => ({ email: `${prefix}-${i}@prospects.example`, first_name: `Lead${i}` }));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
