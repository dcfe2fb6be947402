/**
 * Request rate limits (express-rate-limit, in-memory per process: with N API processes the effective limit is N
 * times the setting). Two limiters:
 * - per caller, after authentication: keyed by API key id, else by webhook token, else by IP, each with its own limit;
 * - per IP, before authentication, counting only requests that failed without identifying a caller (401, unknown
 *   webhook token, unknown route), so guessing keys or tokens is slowed down without touching honest traffic.
 * Both answer 429 problem+json with Retry-After.
 */
import type { RequestHandler, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { RateLimitSettings } from '../config';
import { RateLimitedError } from '../lib/errors';

type Identified = { auth?: { keyId: string }; webhook?: { tokenId: string } };
const locals = (res: Response): Identified => res.locals as Identified;
const ipKey = (req: Request): string => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`;

function retryAfterSeconds(req: Request, windowMs: number): number {
  const resetTime = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
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
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (req, _res, next) => next(new RateLimitedError(retryAfterSeconds(req, settings.windowMs))),
  });
}

export function failedAuthRateLimit(settings: RateLimitSettings): RequestHandler {
  return rateLimit({
    windowMs: settings.windowMs,
    limit: settings.failedAuthPerIp,
    keyGenerator: ipKey,
    // Operations endpoints are polled by monitors and answer 503 while a dependency is down: never limit them.
    skip: (req) => !req.path.startsWith('/v1/'),
    skipSuccessfulRequests: true,
    requestWasSuccessful: (_req, res) => res.statusCode < 400 || locals(res).auth !== undefined || locals(res).webhook !== undefined,
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req, _res, next) => next(new RateLimitedError(retryAfterSeconds(req, settings.windowMs))),
  });
}
