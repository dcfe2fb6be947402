/**
 * Requests Node's HTTP parser refuses before Express ever sees them (bad chunked encoding, a NUL or other forbidden
 * byte in a header, headers over the size limit, a request not received in time). Node's own answer is a bare status
 * line with an empty body; Drason answers these like every other client error: problem+json, then the connection is
 * closed (the parser cannot continue on it). Nothing here may throw: a socket error is never a crash.
 */
import http, { type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { componentLogger } from '../lib/logger';
import { problemBody } from './problem';

const log = componentLogger('http');

/**
 * Status, problem code and detail for a parser (or socket) error; undefined when there is no one left to answer.
 * `maxHeaderSize`: the server's limit (Node's default unless started with --max-http-header-size).
 */
export function clientErrorProblem(error: NodeJS.ErrnoException, maxHeaderSize = http.maxHeaderSize): { status: number; code: string; detail: string } | undefined {
  switch (error.code) {
    case 'ECONNRESET':
    case 'EPIPE':
      return undefined;
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'headers_too_large', detail: `The request's headers are larger than this server accepts (${maxHeaderSize} bytes in all).` };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'payload_too_large', detail: 'The request body has chunk extensions larger than this server accepts.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'request_timeout', detail: 'The request was not received in time.' };
    default: {
      // llhttp's reason is a fixed phrase ("Invalid header value char"); never echo the request's own bytes.
      const reason = (error as { reason?: unknown }).reason;
      const why = typeof reason === 'string' && /^[\w .,'-]{1,100}$/.test(reason) ? `: ${reason}` : '';
      return { status: 400, code: 'malformed_request', detail: `The request is not valid HTTP/1.1 and cannot be read${why}.` };
    }
  }
}

/** The whole response, status line to body, for a connection that is closed right after it. */
export function rawProblemResponse(status: number, code: string, detail: string): string {
  const body = JSON.stringify(problemBody(status, code, detail));
  return [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}`,
    'Content-Type: application/problem+json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

function answer(error: NodeJS.ErrnoException, socket: Duplex): void {
  const problem = clientErrorProblem(error);
  // A response already under way on this connection must not be corrupted by a second one: just cut it.
  const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (problem === undefined || !socket.writable || inFlight?.headersSent === true) {
    socket.destroy();
    return;
  }
  log.http('refused a request the HTTP parser could not read', { code: error.code, status: problem.status });
  socket.end(rawProblemResponse(problem.status, problem.code, problem.detail), () => socket.destroy());
}

/** Answers parser-level client errors on `server` with problem+json (see above). */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    try {
      answer(error, socket);
    } catch (unexpected) {
      log.warn('could not answer a malformed request', { error: String(unexpected) });
      socket.destroy();
    }
  });
}
