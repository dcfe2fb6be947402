/**
 * The one error handler: normalises anything thrown into RFC 9457 problem+json, logs it once, and never lets a
 * client error become a 5xx.
 */
import type { ErrorRequestHandler, Request, Response } from 'express';
import { ZodError } from 'zod';
import { isDatabaseUnavailable } from '../db/unavailable';
import { AppError, ValidationError, type FieldProblem } from '../lib/errors';
import { componentLogger } from '../lib/logger';

const log = componentLogger('api');

const TITLES: Record<number, string> = {
  400: 'Malformed request',
  401: 'Unauthenticated',
  403: 'Forbidden',
  404: 'Not found',
  408: 'Request timeout',
  409: 'Conflict',
  413: 'Payload too large',
  415: 'Unsupported media type',
  422: 'Validation failed',
  429: 'Too many requests',
  431: 'Request header fields too large',
  500: 'Internal error',
  503: 'Service unavailable',
};

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: FieldProblem[];
}

/** The RFC 9457 body for a status, a machine code and a human detail. */
export function problemBody(status: number, code: string, detail: string, errors?: FieldProblem[]): Problem {
  return {
    type: `https://drason.dev/problems/${code}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    ...(errors === undefined ? {} : { errors }),
  };
}

export function sendProblem(res: Response, status: number, code: string, detail: string, errors?: FieldProblem[]): void {
  res.status(status).type('application/problem+json').json(problemBody(status, code, detail, errors));
}

export function zodProblems(error: ZodError, prefix = ''): FieldProblem[] {
  return error.issues.map((issue) => ({
    path: [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.') || '(root)',
    message: issue.message,
  }));
}

/** The route pattern (e.g. /v1/webhooks/smartlead/:token), or `unmatched`: what logs and metrics name a request by. */
export function routeOf(req: Pick<Request, 'route'>): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/**
 * A URL path fit for logs, for requests no route matched: segments other than plain words become `:param`. Never
 * log the URL itself: paths can carry secrets (Smartlead webhook tokens, keys pasted in the wrong place).
 */
export function redactedPath(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment === '' || /^(v\d{1,3}|[a-z][a-z-]{0,39})$/.test(segment) ? segment : ':param'))
    .join('/');
}

/**
 * Postgres refusing a value the client sent (by SQLSTATE). Input is checked before it gets there (src/api/route.ts,
 * the schemas), so reaching one of these is a gap in validation, but still the client's error: never a 5xx.
 */
const CLIENT_VALUE_SQLSTATES: Record<string, string> = {
  '22021': 'a character that is not valid in the database encoding',
  '22P05': 'a character that cannot be stored (such as \\u0000)',
  '22007': 'a date or time in a form that cannot be stored',
  '22008': 'a date or time outside the range that can be stored',
  '54001': 'a value nested too deeply to store',
};

export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  if (err instanceof ZodError) {
    sendProblem(res, 422, 'validation_failed', 'The request has invalid fields.', zodProblems(err));
    return;
  }
  if (err instanceof AppError) {
    for (const [name, value] of Object.entries(err.options.headers ?? {})) res.setHeader(name, value);
    if (err.status >= 500) log.error(err.message, { code: err.code, requestId: res.getHeader('x-request-id'), route: routeOf(req), cause: String(err.options.cause ?? '') });
    sendProblem(res, err.status, err.code, err.message, err instanceof ValidationError ? err.options.errors : err.options.errors);
    return;
  }
  // body-parser errors carry a status and a type.
  const e = err as { status?: number; type?: string; message?: string };
  if (e.type === 'entity.parse.failed') {
    sendProblem(res, 400, 'malformed_json', 'The request body is not valid JSON.');
    return;
  }
  if (e.type === 'entity.too.large') {
    sendProblem(res, 413, 'payload_too_large', 'The request body is larger than this endpoint accepts.');
    return;
  }
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    sendProblem(res, e.status, 'bad_request', e.message ?? 'Bad request.');
    return;
  }
  const route = routeOf(req);
  const where = route === 'unmatched' ? { route, path: redactedPath(req.path) } : { route };
  const sqlstate = (err as { code?: unknown } | null)?.code;
  if (typeof sqlstate === 'string' && Object.hasOwn(CLIENT_VALUE_SQLSTATES, sqlstate)) {
    log.warn('the database refused a value that validation let through', { requestId: res.getHeader('x-request-id'), ...where, sqlstate });
    sendProblem(res, 422, 'validation_failed', `The request holds ${CLIENT_VALUE_SQLSTATES[sqlstate]}.`);
    return;
  }
  if (isDatabaseUnavailable(err)) {
    // Nothing was acknowledged; the sender must retry (Smartlead and Clay do on a 5xx with Retry-After).
    log.warn('PostgreSQL is unavailable; answering 503', { requestId: res.getHeader('x-request-id'), ...where, error: String(err) });
    res.setHeader('retry-after', '5');
    sendProblem(res, 503, 'dependency_unavailable', 'PostgreSQL is not reachable right now; nothing was stored. Retry shortly.');
    return;
  }
  log.error('unhandled error', { requestId: res.getHeader('x-request-id'), ...where, error: err instanceof Error ? err.stack : String(err) });
  sendProblem(res, 500, 'internal_error', 'Something went wrong on our side; the request id identifies it in our logs.');
};
