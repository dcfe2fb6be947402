/**
 * The API's request handling in isolation: what input is refused before validation, which request ids are echoed,
 * what a log may say about a path, how audit entity ids are normalized, how requests the HTTP parser refuses are
 * answered, and which database refusals are the client's error.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { acceptableRequestId } from '../../src/api/app';
import { clientErrorProblem, rawProblemResponse } from '../../src/api/clientErrors';
import { errorHandler, redactedPath } from '../../src/api/problem';
import { auditEntityId } from '../../src/api/routes/audit';
import { MAX_INPUT_DEPTH, unsafeInputProblems } from '../../src/api/unsafeInput';
import { logger } from '../../src/lib/logger';

/** `levels` arrays, one inside the other, around `inner`. */
const nested = (levels: number, inner: unknown = 1): unknown => {
  let value = inner;
  for (let i = 0; i < levels; i += 1) value = [value];
  return value;
};

describe('request handling', () => {
  describe('input refused before validation', () => {
    const cases: [string, unknown, string, { path: string; message: RegExp }[]][] = [
      ['plain strings, numbers and nulls', { a: 'x', b: [1, null, true], c: { d: 'é 漢 😀' } }, '', []],
      ['NUL in a value', { name: 'a\u0000b' }, '', [{ path: 'name', message: /NUL character/ }]],
      ['NUL deep in a body', { events: [{ detail: { note: ['ok', '\u0000'] } }] }, '', [{ path: 'events.0.detail.note.1', message: /NUL/ }]],
      ['NUL in a key', { detail: { 'a\u0000': 1 } }, '', [{ path: 'detail.a\ufffd', message: /key that contains a NUL/ }]],
      ['a lone high surrogate', { detail: { x: 'a\ud800b' } }, '', [{ path: 'detail.x', message: /unpaired UTF-16 surrogate/ }]],
      ['a lone low surrogate', { detail: { x: '\udc00' } }, '', [{ path: 'detail.x', message: /unpaired/ }]],
      ['a surrogate pair (an emoji) is fine', { detail: { x: '\ud83d\ude00' } }, '', []],
      ['a query value, prefixed', { entityId: '\u0000' }, 'query', [{ path: 'query.entityId', message: /NUL/ }]],
      ['a bare string part', '\u0000', '', [{ path: '(root)', message: /NUL/ }]],
      [`${MAX_INPUT_DEPTH} levels`, nested(MAX_INPUT_DEPTH - 1, {}), '', []],
      [`${MAX_INPUT_DEPTH + 1} levels`, nested(MAX_INPUT_DEPTH, {}), '', [{ path: Array(MAX_INPUT_DEPTH).fill('0').join('.'), message: /nested more than 32 levels/ }]],
      ['5000 levels', { body: nested(5000) }, '', [{ path: ['body', ...Array(MAX_INPUT_DEPTH - 1).fill('0')].join('.'), message: /nested more than/ }]],
    ];
    for (const [what, value, prefix, expected] of cases) {
      it(what, () => {
        const problems = unsafeInputProblems(value, prefix);
        assert.deepEqual(problems.map((p) => p.path), expected.map((e) => e.path));
        problems.forEach((p, i) => assert.match(p.message, expected[i]!.message));
      });
    }

    it('names at most 20 problems', () => {
      assert.equal(unsafeInputProblems(Array(1000).fill('\u0000')).length, 20);
    });
  });

  describe('x-request-id', () => {
    const cases: [string, string | undefined, boolean][] = [
      ['absent', undefined, false],
      ['a UUID', '0b6f8f0e-3c2a-4f1e-9d7a-3f2b1c0d9e8a', true],
      ['printable ASCII with punctuation and spaces', 'req/42 +retry=1;trace:"abc"', true],
      ['200 characters', 'r'.repeat(200), true],
      ['201 characters', 'r'.repeat(201), false],
      ['empty', '', false],
      ['only spaces', '   ', false],
      ['a tab', 'a\tb', false],
      ['a newline', 'a\nb', false],
      ['non-ASCII', 'réq', false],
    ];
    for (const [what, given, echoed] of cases) it(`${what} → ${echoed ? 'echoed' : 'replaced'}`, () => assert.equal(acceptableRequestId(given), echoed));
  });

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

  describe('audit entity ids', () => {
    const cases: [string | undefined, string, string][] = [
      ['mailbox', 'Sam@Acme.COM', 'sam@acme.com'],
      ['domain', 'ACME-Mail.com', 'acme-mail.com'],
      [undefined, 'SAM@ACME.COM', 'sam@acme.com'],
      [undefined, 'Acme-Mail.COM', 'acme-mail.com'],
      [undefined, '0B6F8F0E-3C2A-4F1E-9D7A-3F2B1C0D9E8A', '0B6F8F0E-3C2A-4F1E-9D7A-3F2B1C0D9E8A'],
      [undefined, 'Smartlead', 'Smartlead'],
      ['campaign', 'Campaign.One', 'Campaign.One'],
      ['api_key', 'Key@Thing', 'Key@Thing'],
    ];
    for (const [type, given, stored] of cases) it(`${type ?? '(no type)'} ${given} → ${stored}`, () => assert.equal(auditEntityId(type, given), stored));
  });

  describe('requests the HTTP parser refuses', () => {
    const parserError = (code: string, reason?: string): NodeJS.ErrnoException => Object.assign(new Error(`Parse Error: ${reason ?? code}`), { code, reason });
    const cases: [string, NodeJS.ErrnoException, number | undefined, RegExp | undefined][] = [
      ['a bad chunk size', parserError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size'), 400, /: Invalid character in chunk size\.$/],
      ['a NUL in a header value', parserError('HPE_INVALID_HEADER_TOKEN', 'Invalid header value char'), 400, /: Invalid header value char\.$/],
      ['a reason that is not a plain phrase is not echoed', parserError('HPE_INVALID_METHOD', 'GET <script>'), 400, /cannot be read\.$/],
      ['headers over the limit', parserError('HPE_HEADER_OVERFLOW'), 431, /16384 bytes/],
      ['chunk extensions over the limit', parserError('HPE_CHUNK_EXTENSIONS_OVERFLOW'), 413, /chunk extensions/],
      ['a request not received in time', parserError('ERR_HTTP_REQUEST_TIMEOUT'), 408, /in time/],
      ['a connection reset by the client: no one to answer', parserError('ECONNRESET'), undefined, undefined],
    ];
    for (const [what, error, status, detail] of cases) {
      it(`${what} → ${status ?? 'no answer'}`, () => {
        const problem = clientErrorProblem(error, 16_384);
        assert.equal(problem?.status, status);
        if (detail !== undefined) assert.match(problem!.detail, detail);
      });
    }

    it('writes a complete response: status line, problem+json, exact length, connection closed', () => {
      const raw = rawProblemResponse(431, 'headers_too_large', 'Too big, “really”.');
      const [head, body] = raw.split('\r\n\r\n');
      assert.deepEqual(head!.split('\r\n'), [
        'HTTP/1.1 431 Request Header Fields Too Large',
        'Content-Type: application/problem+json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body!)}`,
        'Connection: close',
      ]);
      assert.deepEqual(JSON.parse(body!), { type: 'https://drason.dev/problems/headers_too_large', title: 'Request header fields too large', status: 431, detail: 'Too big, “really”.' });
    });
  });

  describe('database refusals of client values', () => {
    let url = '';
    let close = (): void => undefined;
    before(async () => {
      logger.silent = true; // the 500s below are logged as unhandled errors, on purpose
      const app = express();
      app.get('/fail/:sqlstate', (req) => {
        throw Object.assign(new Error('the database said no'), { code: req.params.sqlstate });
      });
      app.use(errorHandler);
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      close = () => void server.close();
    });
    after(() => {
      close();
      logger.silent = false;
    });

    const cases: [string, string, number][] = [
      ['22021', 'character not in repertoire', 422],
      ['22P05', 'untranslatable character (\\u0000 in jsonb)', 422],
      ['22007', 'invalid datetime format', 422],
      ['22008', 'datetime field overflow', 422],
      ['54001', 'statement too complex', 422],
      ['23505', 'unique violation (a bug, not the client)', 500],
      ['P0001', 'raised exception', 500],
    ];
    for (const [sqlstate, what, status] of cases) {
      it(`${sqlstate} (${what}) → ${status} problem+json`, async () => {
        const res = await fetch(`${url}/fail/${sqlstate}`);
        assert.equal(res.status, status);
        assert.match(res.headers.get('content-type') ?? '', /application\/problem\+json/);
        const body = (await res.json()) as { status: number };
        assert.equal(body.status, status);
      });
    }
  });
});
