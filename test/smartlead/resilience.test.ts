/**
 * Rate limiting, retries, timeouts, circuit breaking, credential failures and secret hygiene of the client,
 * observed from the simulator's side (what actually reached "Smartlead", and when).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import {
  SmartleadAuthError,
  SmartleadBadRequestError,
  SmartleadClient,
  SmartleadRateLimitedError,
  SmartleadUnavailableError,
  resetSmartleadRegistries,
} from '../../src/smartlead';
import type { SmartleadSimulator } from '../../src/smartlead/simulator';
import { seedDemoState } from '../../src/smartlead/simulator/seed';
import { capturingLogger, clientFor, leads, maxInWindow, sleep, startSimulator, uniqueKey } from './helpers';

// A safety margin above the default absorbs event-loop jitter: client and simulator share one busy process here.
const TIGHT = { maxRequests: 5, perMs: 500, safetyMarginMs: 40 };

function assertNoSecret(secret: string, ...texts: string[]): void {
  for (const t of texts) assert.ok(!t.includes(secret), `secret leaked in: ${t.slice(0, 300)}`);
}

describe('SmartleadClient resilience', function () {
  this.timeout(20_000);
  let sim: SmartleadSimulator;

  afterEach(async () => {
    await sim.stop();
    resetSmartleadRegistries();
  });

  describe('rate limit', () => {
    beforeEach(async () => {
      sim = await startSimulator({ rateLimit: TIGHT });
      seedDemoState(sim.state);
    });

    it('under a 429 storm and a 5xx burst: never faster than the limit, every call succeeds, re-adding adds nothing', async () => {
      const client = clientFor(sim, {
        rateLimit: TIGHT,
        retry: { maxAttempts: 8, initialDelayMs: 50, maxDelayMs: 200 },
        breaker: { consecutiveFailures: 20, halfOpenAfterMs: 1000 },
      });
      sim.faults.rateLimit(3, { retryAfterSeconds: 1 });
      sim.faults.serverError(3, { status: 503 });
      const batch = leads(250, 'storm');

      const results = await Promise.all([
        client.listCampaigns(),
        client.getCampaign('1001'),
        client.getCampaign('1002'),
        client.listCampaignEmailAccounts('1001'),
        client.listEmailAccounts(),
        client.addLeadsToCampaign('1002', batch),
        client.findLeadByEmail('maria@techstartup.io'),
        client.pauseCampaign('1003'),
      ]);
      assert.equal(results.length, 8);
      const firstAdd = results[5] as Awaited<ReturnType<SmartleadClient['addLeadsToCampaign']>>;
      assert.equal(firstAdd.added, 250);

      assert.equal(sim.calls.filter((c) => c.fault === 'rate_limit').length, 3, 'the 429s were served');
      assert.equal(sim.calls.filter((c) => c.fault === 'server_error').length, 3, 'the 503s were served');
      assert.deepEqual(sim.overLimit, [], 'no request arrived over the simulator-side limit');
      assert.ok(maxInWindow(sim.calls, TIGHT.perMs) <= TIGHT.maxRequests, `max ${maxInWindow(sim.calls, TIGHT.perMs)} in a window`);

      // Retry-After honoured for the whole key: nothing arrives within 1 s after a 429.
      for (const limited of sim.calls.filter((c) => c.fault === 'rate_limit')) {
        const early = sim.calls.filter((c) => c.at > limited.at && c.at < limited.at + 1000);
        assert.deepEqual(early.map((c) => c.seq), [], `requests sent during Retry-After of #${limited.seq}`);
      }

      const again = await client.addLeadsToCampaign('1002', batch);
      assert.equal(again.added, 0);
      assert.equal(again.alreadyInCampaign, 250);
      assert.equal(sim.state.leadsOfCampaign(1002).length, 250, 'no lead was added twice');
      assert.deepEqual(sim.overLimit, []);
    });

    it('two clients holding the same key share one budget', async () => {
      const a = clientFor(sim, { rateLimit: TIGHT });
      const b = clientFor(sim, { rateLimit: TIGHT });
      const started = Date.now();
      await Promise.all([...Array.from({ length: 6 }, () => a.listCampaigns()), ...Array.from({ length: 6 }, () => b.listCampaigns())]);
      assert.equal(sim.calls.length, 12);
      assert.deepEqual(sim.overLimit, []);
      assert.ok(maxInWindow(sim.calls, TIGHT.perMs) <= TIGHT.maxRequests);
      assert.ok(Date.now() - started >= 1000, '12 requests at 5 per 500 ms take more than a second');
    });

    it('honours Retry-After given as an HTTP date', async () => {
      const client = clientFor(sim, { rateLimit: TIGHT });
      sim.faults.rateLimit(1, { retryAfterSeconds: 1, retryAfterAsDate: true });
      const campaigns = await client.listCampaigns();
      assert.equal(campaigns.length, 3);
      assert.equal(sim.calls.length, 2);
      assert.equal(sim.calls[0]?.status, 429);
      assert.equal(sim.calls[1]?.status, 200);
    });

    it('gives up at once on a Retry-After longer than it may wait, with a retryable error carrying the delay', async () => {
      const client = clientFor(sim, { rateLimit: TIGHT, retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 5000 } });
      sim.faults.rateLimit(1, { retryAfterSeconds: 120 });
      await assert.rejects(client.listCampaigns(), (err: unknown) => {
        assert.ok(err instanceof SmartleadRateLimitedError);
        assert.equal(err.code, 'rate_limited');
        assert.equal(err.retryable, true);
        assert.equal(err.retryAfterMs, 120_000);
        assert.match(err.message, /retry after 120s/);
        return true;
      });
      assert.equal(sim.calls.length, 1);
    });
  });

  describe('credentials', () => {
    beforeEach(async () => {
      sim = await startSimulator({ rateLimit: { maxRequests: 50, perMs: 250 } });
      seedDemoState(sim.state);
    });

    it('a revoked key is SmartleadAuthError, not retried, with a readable key-free message', async () => {
      const key = sim.apiKey ?? '';
      const logger = capturingLogger();
      const client = clientFor(sim, { logger, retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 20 } });
      sim.revokeKey();
      const err = await client.listCampaigns().then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof SmartleadAuthError);
      assert.equal(err.code, 'unauthorized');
      assert.equal(err.status, 401);
      assert.equal(err.retryable, false);
      assert.equal(sim.calls.length, 1, 'exactly one request reached Smartlead');
      assert.equal(sim.calls[0]?.key, 'revoked');
      assert.match(err.message, /Smartlead rejected the API key on GET \/campaigns \(401: Invalid API Key\)/);
      assert.match(err.message, /revoked or rotated/);
      assertNoSecret(key, err.message, err.stack ?? '', JSON.stringify(err), String(err), inspect(err), inspect(client), logger.lines.join('\n'));
    });

    it('after rotation, the old key fails and a client with the new key works', async () => {
      const old = clientFor(sim);
      const newKey = sim.rotateKey(uniqueKey('rotated'));
      await assert.rejects(old.listCampaigns(), SmartleadAuthError);
      const fresh = new SmartleadClient({ apiKey: newKey, baseUrl: sim.url, rateLimit: { maxRequests: 50, perMs: 250 } });
      assert.equal((await fresh.listCampaigns()).length, 3);
    });

    it('never puts the key in messages, even when the server echoes it or the network fails', async () => {
      const key = sim.apiKey ?? '';
      const logger = capturingLogger();
      const client = clientFor(sim, { logger, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 } });
      sim.faults.serverError(1, { status: 400, body: `<p>bad request for /api/v1/campaigns?api_key=${key} (key ${key})</p>` });
      const echoed = await client.listCampaigns().then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(echoed instanceof SmartleadBadRequestError);
      assert.match(echoed.message, /bad request for/);
      assertNoSecret(key, echoed.message, echoed.stack ?? '', JSON.stringify(echoed));

      sim.faults.serverError(2, { status: 502, body: `upstream said api_key=${key}` });
      const burst = await client.listCampaigns().then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(burst instanceof SmartleadUnavailableError);
      assert.equal(burst.attempts, 2);
      assertNoSecret(key, burst.message, burst.stack ?? '', logger.lines.join('\n'));
      assert.ok(logger.lines.some((l) => l.includes('retrying')), 'the retry was logged');

      // Nothing listens on this port any more: network error.
      const dead = createServer();
      await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
      const port = (dead.address() as AddressInfo).port;
      await new Promise<void>((r) => dead.close(() => r()));
      const offline = new SmartleadClient({
        apiKey: key,
        baseUrl: `http://127.0.0.1:${port}/api/v1`,
        retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 },
        logger,
      });
      const netErr = await offline.listCampaigns().then(
        () => assert.fail('expected a rejection'),
        (e: unknown) => e,
      );
      assert.ok(netErr instanceof SmartleadUnavailableError);
      assert.equal(netErr.code, 'network');
      assert.equal(netErr.retryable, true);
      assert.equal(netErr.attempts, 2);
      assert.match(netErr.message, /unreachable/);
      assertNoSecret(key, netErr.message, netErr.stack ?? '', JSON.stringify(netErr), inspect(netErr), logger.lines.join('\n'));
    });
  });

  describe('timeouts and the circuit breaker', () => {
    beforeEach(async () => {
      sim = await startSimulator({ rateLimit: { maxRequests: 50, perMs: 250 } });
      seedDemoState(sim.state);
    });

    it('a request that hangs times out and is retried', async () => {
      const client = clientFor(sim, { timeoutMs: 200 });
      sim.faults.hang(1);
      const started = Date.now();
      const campaigns = await client.listCampaigns();
      assert.equal(campaigns.length, 3);
      assert.ok(Date.now() - started >= 200);
      assert.equal(sim.calls.length, 2);
      assert.equal(sim.calls[0]?.fault, 'hang');

      sim.faults.hang('always');
      const impatient = clientFor(sim, { timeoutMs: 100, retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 }, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 5000 } });
      await assert.rejects(impatient.listCampaigns(), (err: unknown) => {
        assert.ok(err instanceof SmartleadUnavailableError);
        assert.equal(err.code, 'timeout');
        assert.match(err.message, /timed out after 100 ms/);
        return true;
      });
      assert.equal(impatient.circuitState, 'open', 'timeouts count as failures for the breaker');
    });

    it('a caller abort stops waiting and retrying at once', async () => {
      const client = clientFor(sim, { retry: { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 1000 } });
      sim.faults.serverError('always');
      const ctrl = new AbortController();
      const started = Date.now();
      const pending = client.listCampaigns({ signal: ctrl.signal });
      await sleep(100);
      ctrl.abort(new Error('activity cancelled'));
      await assert.rejects(pending, /activity cancelled/);
      assert.ok(Date.now() - started < 600);
      await sleep(50);
      assert.equal(sim.calls.length, 1, 'no request after the abort');
    });

    it('opens after repeated 5xx, fails fast without sending anything, then recovers', async () => {
      const limiterKey = `org-${uniqueKey('breaker')}`;
      const logger = capturingLogger();
      const opts = {
        limiterKey,
        logger,
        retry: { maxAttempts: 5, initialDelayMs: 10, maxDelayMs: 20 },
        breaker: { consecutiveFailures: 3, halfOpenAfterMs: 400 },
      };
      const client = clientFor(sim, opts);
      const faultId = sim.faults.inject({ kind: 'server_error', count: 'always', status: 500 });

      await assert.rejects(client.listCampaigns(), (err: unknown) => {
        assert.ok(err instanceof SmartleadUnavailableError);
        assert.equal(err.code, 'circuit_open');
        assert.equal(err.retryable, true);
        return true;
      });
      assert.equal(sim.calls.length, 3, 'three 500s opened the circuit; the fourth attempt was not sent');
      assert.equal(client.circuitState, 'open');

      // Open: fail fast, nothing sent, for this client and any other client of the same organization.
      const t0 = Date.now();
      await assert.rejects(client.getCampaign('1001'), (err: unknown) => err instanceof SmartleadUnavailableError && err.code === 'circuit_open');
      const sibling = new SmartleadClient({ apiKey: sim.apiKey ?? '', baseUrl: sim.url, limiterKey, rateLimit: { maxRequests: 50, perMs: 250 } });
      await assert.rejects(sibling.listEmailAccounts(), (err: unknown) => {
        assert.ok(err instanceof SmartleadUnavailableError);
        assert.match(err.message, /circuit open/);
        return true;
      });
      assert.ok(Date.now() - t0 < 100, 'failed fast');
      assert.equal(sim.calls.length, 3, 'no request sent while open');

      // Smartlead recovers; after the cool-down one trial request closes the circuit.
      sim.faults.remove(faultId);
      await sleep(450);
      const campaigns = await client.listCampaigns();
      assert.equal(campaigns.length, 3);
      assert.equal(sim.calls.length, 4);
      assert.equal(client.circuitState, 'closed');
      assert.equal((await sibling.listEmailAccounts()).length, 8);
      assert.ok(logger.lines.some((l) => l.includes('circuit opened')));
      assert.ok(logger.lines.some((l) => l.includes('circuit closed')));
    });

    it('a failed trial re-opens the circuit', async () => {
      const client = clientFor(sim, { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 200 } });
      sim.faults.serverError(3);
      await assert.rejects(client.listCampaigns(), SmartleadUnavailableError);
      await assert.rejects(client.listCampaigns(), SmartleadUnavailableError);
      assert.equal(client.circuitState, 'open');
      await sleep(230);
      await assert.rejects(client.listCampaigns(), (err: unknown) => err instanceof SmartleadUnavailableError && err.code === 'unavailable');
      assert.equal(client.circuitState, 'open');
      assert.equal(sim.calls.length, 3);
      await assert.rejects(client.listCampaigns(), (err: unknown) => err instanceof SmartleadUnavailableError && err.code === 'circuit_open');
      assert.equal(sim.calls.length, 3);
    });

    it('4xx answers do not open the circuit', async () => {
      const client = clientFor(sim, { breaker: { consecutiveFailures: 2, halfOpenAfterMs: 5000 } });
      sim.deleteCampaign(1001);
      for (let i = 0; i < 4; i += 1) await assert.rejects(client.getCampaign('1001'));
      assert.equal(client.circuitState, 'closed');
      assert.equal((await client.listCampaigns()).length, 2);
    });
  });
});
