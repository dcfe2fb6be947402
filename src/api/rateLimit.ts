/**
 * Request rate limits (express-rate-limit, in-memory per process: with N API processes the effective limit is N
 * times the setting). Two limiters:
 * - per caller, after authentication: keyed by API key id, else by webhook token, else by IP, each with its own limit;
 * - failed authentication per IP: requests under /v1/ that failed without identifying a caller (401, unknown
 *   webhook token, unknown route) are counted per IP, and once an IP is over the limit such a failing request gets a
 *   429 instead of its 401/404. It runs on the error path, after authentication has failed, so a request that
 *   presents a valid key or webhook token is never refused because of other parties' failures from the same IP:
 *   Clay and Smartlead send every customer's traffic from shared addresses, and one tenant's stale webhook URL must
 *   not lock out everyone else. Keys and tokens are 192+ random bits, so this is about refusing misconfigured or
 *   misbehaving clients cheaply (a 429 they can back off from), not about hiding which secret is valid.
 * Both answer 429 problem+json with Retry-After. Operations endpoints (/healthz, /readyz, /metrics) are never limited.
 */
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { RateLimitSettings } from '../config';
import { AppError, RateLimitedError } from '../lib/errors';

type Identified = { auth?: { keyId: string }; webhook?: { tokenId: string } };
const locals = (res: Response): Identified => res.locals as Identified;
const ipKey = (req: Request): string => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;

/** Where each limiter leaves its count on the request (express-rate-limit's requestPropertyName). */
const CALLER_INFO = 'rateLimit';
const FAILED_AUTH_INFO = 'failedAuthRateLimit';

function retryAfterSeconds(req: Request, property: string, windowMs: number): number {
  const resetTime = (req as unknown as Record<string, { resetTime?: Date } | undefined>)[property]?.resetTime;
  const ms = resetTime === undefined ? windowMs : resetTime.getTime() - Date.now();
  return Math.max(1, Math.ceil(ms / 1000));
}

export function callerRateLimit(settings: RateLimitSettings): RequestHandler {
  return rateLimit({
    windowMs: settings.windowMs,
    limit: (_req, res) => {
      const { auth, webhook } = locals(res);
      if (auth !== undefined) return settings.perKey;
      return webhook !== undefined ? settings.perWebhookToken : settings.perIp;
    },
    keyGenerator: (req, res) => {
      const { auth, webhook } = locals(res);
      if (auth !== undefined) return `key:${auth.keyId}`;
      return webhook !== undefined ? `webhook:${webhook.tokenId}` : ipKey(req);
    },
    requestPropertyName: CALLER_INFO,
    // One caller limiter per route by construction (src/api/route.ts); its per-request bookkeeping check is pure cost
    // on the ingestion path, so it is off. The one-time configuration checks stay on.
    validate: { singleCount: false },
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, _res, next) => next(new RateLimitedError(retryAfterSeconds(req, CALLER_INFO, settings.windowMs))),
  });
}

/**
 * A request that failed without identifying a caller: a 401 or 404 under /v1/ with neither an API key nor a webhook
 * token resolved. A 404 or 401 after identification (a missing resource, a wrong webhook secret_key) is not a guess.
 */
export function failedToIdentify(error: unknown, req: Request, res: Response): boolean {
  if (!(error instanceof AppError) || (error.status !== 401 && error.status !== 404)) return false;
  // Operations endpoints are polled by monitors and answer 503 while a dependency is down: never limit them.
  if (!req.path.startsWith('/v1/')) return false;
  const { auth, webhook } = locals(res);
  return auth === undefined && webhook === undefined;
}

/**
 * Error-path middleware, mounted just before the error handler: counts each failed identification per IP and, over
 * the limit, replaces the failure with a 429. Successful requests never reach it, so they are never counted or refused.
 */
export function failedAuthRateLimit(settings: RateLimitSettings): ErrorRequestHandler {
  const countFailure = rateLimit({
    windowMs: settings.windowMs,
    limit: settings.failedAuthPerIp,
    keyGenerator: ipKey,
    requestPropertyName: FAILED_AUTH_INFO,
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req, _res, next) => next(new RateLimitedError(retryAfterSeconds(req, FAILED_AUTH_INFO, settings.windowMs))),
  });
  return (error: unknown, req, res, next) => {
    if (!failedToIdentify(error, req, res)) {
      next(error);
      return;
    }
    // Under the limit the limiter calls next() with nothing: the original 401/404 goes on to the error handler.
    void countFailure(req, res, (limited?: unknown) => next(limited ?? error));
  };
}
