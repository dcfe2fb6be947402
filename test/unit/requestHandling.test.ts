/**
 * The API's request handling in isolation, table by table.
 */
import assert from 'node:assert/strict';
import { redactedPath } from '../../src/api/problem';

describe('request handling', () => {
  describe('paths in logs', () => {
    const cases: [string, string][] = [
      ['/v1/webhooks/smartlead/whk_Zm9vYmFyYmF6', '/v1/webhooks/smartlead/:param'],
      ['/v1/webhooks/smartlead-nope/whk_x', '/v1/webhooks/smartlead-nope/:param'],
      ['/v1/api-keys/drk_secret', '/v1/api-keys/:param'],
      ['/v1/mailboxes/sam@acme.com/override', '/v1/mailboxes/:param/override'],
      ['/v1/campaigns/1001', '/v1/campaigns/:param'],
      ['/healthz', '/healthz'],
      ['/', '/'],
    ];
    for (const [path, logged] of cases) it(`logs ${path} as ${logged}`, () => assert.equal(redactedPath(path), logged));
  });
});
