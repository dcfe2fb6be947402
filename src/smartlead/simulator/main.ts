/**
 * `npm run simulator`: a local Smartlead on SIMULATOR_PORT (default 4010) with demo data.
 *
 * Environment:
 *   SIMULATOR_PORT             port (default 4010; 0 picks a free one)
 *   SIMULATOR_HOST             interface (default 127.0.0.1)
 *   SIMULATOR_API_KEY          the valid API key (default: random, printed)
 *   SIMULATOR_RATE_LIMIT       "<maxRequests>/<perMs>" (default 10/2000), or "off"
 *   SIMULATOR_WEBHOOK_URL      where webhooks go (e.g. Drason's /v1/webhooks/smartlead/<token>)
 *   SIMULATOR_WEBHOOK_SECRET   secret_key put in every webhook body
 *   SIMULATOR_LOG              "1" to print every API request
 */
import { createSmartleadSimulator } from './index';
import { seedDemoState } from './seed';

function parseRate(value: string | undefined): { maxRequests: number; perMs: number } | false | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (value.trim().toLowerCase() === 'off') return false;
  const m = /^(\d+)\s*\/\s*(\d+)$/.exec(value.trim());
  if (m === null) throw new Error(`SIMULATOR_RATE_LIMIT must look like "10/2000" or "off", got ${JSON.stringify(value)}`);
  return { maxRequests: Number(m[1]), perMs: Number(m[2]) };
}

async function main(): Promise<void> {
  const env = process.env;
  const port = env.SIMULATOR_PORT === undefined || env.SIMULATOR_PORT === '' ? 4010 : Number(env.SIMULATOR_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`SIMULATOR_PORT must be a port number, got ${String(env.SIMULATOR_PORT)}`);
  const rateLimit = parseRate(env.SIMULATOR_RATE_LIMIT);
  const sim = createSmartleadSimulator({
    ...(env.SIMULATOR_API_KEY ? { apiKey: env.SIMULATOR_API_KEY } : {}),
    ...(rateLimit !== undefined ? { rateLimit } : {}),
    host: env.SIMULATOR_HOST || '127.0.0.1',
    ...(env.SIMULATOR_WEBHOOK_URL ? { webhook: { url: env.SIMULATOR_WEBHOOK_URL, ...(env.SIMULATOR_WEBHOOK_SECRET ? { secretKey: env.SIMULATOR_WEBHOOK_SECRET } : {}) } } : {}),
    ...(env.SIMULATOR_LOG === '1' ? { log: (line: string) => console.log(`[smartlead-sim] ${line}`) } : {}),
  });
  seedDemoState(sim.state);
  const url = await sim.start(port);
  console.log(`Smartlead simulator listening on ${url}`);
  console.log(`API key: ${sim.apiKey ?? '(none)'}`);
  console.log(`Admin API: ${sim.origin}/__sim/state  (faults: POST ${sim.origin}/__sim/faults)`);
  console.log(`Try: curl "${url}/campaigns?api_key=${sim.apiKey ?? ''}"`);
  if (sim.webhooks.targetUrl !== null) console.log(`Webhooks go to ${sim.webhooks.targetUrl}`);

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    void sim.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
