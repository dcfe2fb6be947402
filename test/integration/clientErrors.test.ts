/**
 * Requests Node's HTTP parser refuses before Express sees them, sent over raw sockets to the real API: each gets a
 * problem+json status (400, or 431 for oversized headers) and a closed connection, and the API keeps serving.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestApi, type TestApi } from '../support/api';

interface RawReply {
  statusLine: string;
  headers: Record<string, string>;
  body: string;
}

/** Writes `request` as is and reads until the server closes the connection. */
function exchange(port: number, request: string): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = text.split('\r\n\r\n', 2);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      resolve({ statusLine, headers, body });
    });
    socket.write(request);
  });
}

describe('requests the HTTP parser refuses (raw sockets, real API)', function () {
  this.timeout(120_000);
  let api: TestApi;
  let port = 0;

  before(async () => {
    api = await startTestApi();
    port = Number(new URL(api.url).port);
  });
  after(async () => {
    await api?.stop();
  });

  const cases: [string, string, string][] = [
    [
      'bad chunked encoding',
      'POST /v1/api-keys HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer drk_whatever\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      'HTTP/1.1 400 Bad Request',
    ],
    ['a NUL byte in a header value', 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Note: a\u0000b\r\n\r\n', 'HTTP/1.1 400 Bad Request'],
    ['headers over the size limit', `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 'HTTP/1.1 431 Request Header Fields Too Large'],
  ];
  for (const [what, request, statusLine] of cases) {
    it(`answers ${what} with "${statusLine}" problem+json and closes the connection`, async () => {
      const reply = await exchange(port, request);
      assert.equal(reply.statusLine, statusLine);
      assert.match(reply.headers['content-type'] ?? '', /^application\/problem\+json/);
      assert.equal(reply.headers.connection, 'close');
      assert.equal(Number(reply.headers['content-length']), Buffer.byteLength(reply.body));
      const problem = JSON.parse(reply.body) as Record<string, unknown>;
      assert.deepEqual(Object.keys(problem).sort(), ['detail', 'status', 'title', 'type']);
      assert.equal(problem.status, Number(statusLine.split(' ')[1]));
      assert.match(String(problem.type), /^https:\/\/drason\.dev\/problems\/\w+$/);
      assert.ok(String(problem.detail).length > 0);
      assert.equal((await api.call('GET', '/healthz')).status, 200, 'the API keeps serving');
    });
  }
});
