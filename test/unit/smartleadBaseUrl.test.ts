import assert from 'node:assert/strict';
import { smartleadBaseUrlAllowed } from '../../src/domain/smartleadBaseUrl';

describe('where a tenant may point its Smartlead integration', () => {
  const cases: [string, boolean, boolean][] = [
    // url, production?, allowed
    ['https://server.smartlead.ai/api/v1', true, true],
    ['https://server.smartlead.ai/api/v1', false, true],
    ['http://server.smartlead.ai/api/v1', true, false],
    ['https://server.smartlead.ai.evil.example/api/v1', true, false],
    ['http://127.0.0.1:4010/api/v1', false, true],
    ['http://localhost:4010/api/v1', false, true],
    ['http://[::1]:4010/api/v1', false, true],
    ['http://127.0.0.1:4010/api/v1', true, false],
    ['http://10.0.0.5/api/v1', false, false],
    ['http://169.254.169.254/latest/meta-data', false, false],
    ['https://internal.corp.example/api', false, false],
    // Not URLs at all: refused, never thrown (a throw here was a 500).
    ['', false, false],
    ['not a url', false, false],
    ['http://127.0.0.1:70000', false, false],
    ['http://127.0.0.1:65535/api/v1', false, true],
    ['https://server.smartlead.ai:99999/api/v1', true, false],
  ];
  for (const [url, production, allowed] of cases) {
    it(`${allowed ? 'accepts' : 'refuses'} ${JSON.stringify(url)}${production ? ' in production' : ''}`, () => assert.equal(smartleadBaseUrlAllowed(url, production), allowed));
  }
});
