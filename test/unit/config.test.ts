import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, parseConfig } from '../../src/config';
import { externalSettings } from '../../src/workers/settings';

describe('configuration', () => {
  it('selects embedded Postgres and Temporal when nothing is configured', () => {
    const cfg = parseConfig({});
    assert.deepEqual(cfg.embedded, { postgres: true, temporal: true });
    assert.equal(cfg.PORT, 3000);
    assert.equal(cfg.EMBEDDED_PG_PORT, 54329);
    assert.equal(cfg.dataDir, path.resolve(__dirname, '../../.data'));
  });

  it('uses external services when their URLs are set', () => {
    const cfg = parseConfig({ DATABASE_URL: 'postgres://app:pw@db:5432/drason', TEMPORAL_ADDRESS: 'temporal:7233' });
    assert.deepEqual(cfg.embedded, { postgres: false, temporal: false });
  });

  it('reads rate limits and encryption keys', () => {
    const cfg = parseConfig({ RATE_LIMIT_WINDOW_SECONDS: '30', RATE_LIMIT_PER_KEY: '5', DRASON_ENCRYPTION_KEYS: `k2:${Buffer.alloc(32, 1).toString('base64')}` });
    assert.deepEqual(cfg.rateLimits, { windowMs: 30_000, perKey: 5, perWebhookToken: 6000, perIp: 300, failedAuthPerIp: 300 });
    assert.match(cfg.DRASON_ENCRYPTION_KEYS ?? '', /^k2:/);
  });

  it("reads the Smartlead client's rate limit, 10 per 2 s by default", () => {
    assert.deepEqual(parseConfig({}).smartleadRateLimit, { maxRequests: 10, perMs: 2000 });
    const cfg = parseConfig({ SMARTLEAD_RATE_LIMIT_REQUESTS: '5', SMARTLEAD_RATE_LIMIT_WINDOW_MS: '2500' });
    assert.deepEqual(cfg.smartleadRateLimit, { maxRequests: 5, perMs: 2500 });
    const external = { DATABASE_URL: 'postgres://app:pw@db:5432/drason', TEMPORAL_ADDRESS: 'temporal:7233', DRASON_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` };
    assert.deepEqual(externalSettings(parseConfig({ ...external, SMARTLEAD_RATE_LIMIT_REQUESTS: '3' })).smartleadRateLimit, { maxRequests: 3, perMs: 2000 });
  });

  it('turns TLS on for Temporal Cloud API keys and client certificates', () => {
    assert.equal(parseConfig({ TEMPORAL_API_KEY: 'k' }).temporalTls, true);
    assert.equal(parseConfig({ TEMPORAL_TLS_CERT: '/c', TEMPORAL_TLS_KEY: '/k' }).temporalTls, true);
    assert.equal(parseConfig({}).temporalTls, false);
  });

  const bad: [string, NodeJS.ProcessEnv, RegExp][] = [
    ['PORT', { PORT: 'eighty' }, /expected number/],
    ['PORT', { PORT: '70000' }, /65535|too big/i],
    ['EMBEDDED_PG_PORT', { EMBEDDED_PG_PORT: '-1' }, /./],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://x' }, /postgres:\/\//],
    ['TEMPORAL_ADDRESS', { TEMPORAL_ADDRESS: 'http://localhost:7233' }, /host:port/],
    ['TEMPORAL_TLS_KEY', { TEMPORAL_TLS_CERT: '/c' }, /set together/],
    ['DRASON_ADMIN_TOKEN', { DRASON_ADMIN_TOKEN: 'short' }, /24 characters/],
    ['LOG_LEVEL', { LOG_LEVEL: 'loud' }, /./],
    ['NODE_ENV', { NODE_ENV: 'staging' }, /./],
    ['DRASON_ENCRYPTION_KEYS', { DRASON_ENCRYPTION_KEYS: 'k1:c2hvcnQ=' }, /32 bytes/],
    ['DRASON_ENCRYPTION_KEYS', { DRASON_ENCRYPTION_KEYS: 'just-a-password' }, /id:base64/],
    ['RATE_LIMIT_PER_KEY', { RATE_LIMIT_PER_KEY: '0' }, /./],
    ['RATE_LIMIT_WINDOW_SECONDS', { RATE_LIMIT_WINDOW_SECONDS: 'a minute' }, /expected number/],
    ['SMARTLEAD_RATE_LIMIT_REQUESTS', { SMARTLEAD_RATE_LIMIT_REQUESTS: '0' }, /./],
    ['SMARTLEAD_RATE_LIMIT_WINDOW_MS', { SMARTLEAD_RATE_LIMIT_WINDOW_MS: '2s' }, /expected number/],
  ];
  for (const [variable, env, message] of bad) {
    it(`fails fast naming ${variable} for ${JSON.stringify(env)}`, () => {
      assert.throws(
        () => parseConfig(env),
        (error: unknown) => {
          assert.ok(error instanceof ConfigError);
          const problem = error.problems.find((p) => p.variable === variable);
          assert.ok(problem, `expected a problem for ${variable}, got ${error.message}`);
          assert.match(problem.message, message);
          assert.match(error.message, new RegExp(variable));
          return true;
        },
      );
    });
  }
});
