/**
 * The operator console's server side (issue 11): its session endpoints and its static files. The console itself
 * (src/console, built into dist/console by `npm run build:console`) uses the same public JSON API as any client.
 *
 * ## Contract
 *
 * Sessions (the cookie is `drason_session`: HttpOnly, SameSite=Strict, Path=/, Secure when the request came over
 * https directly or through a trusted proxy's X-Forwarded-Proto; a browser-session cookie, the server decides its life):
 * - `POST /console/session` body `{"apiKey": "drk_…"}` (Content-Type: application/json) → 200
 *   `{organizationId, organizationName, role, keyName, csrfToken, keyId, expiresAt}` and sets the cookie. The key is
 *   checked exactly as Bearer authentication checks it: unknown or revoked → 401 problem+json (failed sign-ins count
 *   per IP like every failed authentication: over RATE_LIMIT_FAILED_AUTH_PER_IP per window → 429 with Retry-After);
 *   an `ingest` key → 403 (it may read nothing). The key is never stored, only its id. Audited: entity api_key,
 *   action console_signed_in, actor `api-key:<key id>`.
 * - `GET /console/session` → 200 with the same body (the current CSRF token included), or 401 problem+json when
 *   not signed in, signed out, expired (12 h without use, or 7 days after sign-in) or when the key was revoked since
 *   (that session is deleted and its cookie cleared).
 * - `DELETE /console/session` (with `X-CSRF-Token`, like every cookie-authenticated change) → 204, deletes the
 *   session, clears the cookie; audited console_signed_out. Without a live session it still answers 204 and clears
 *   the cookie; a live session without the right X-CSRF-Token → 403.
 * - Every `/v1/*` endpoint takes the cookie instead of `Authorization: Bearer` (a presented key wins): the same role
 *   checks as the key it was signed in with, the same actor in audit rows (`api-key:<key id>`). A cookie-authenticated
 *   request other than GET/HEAD/OPTIONS must carry `X-CSRF-Token: <csrfToken>`, else 403 problem+json. 401 when the
 *   session has ended: sign in again.
 * `expiresAt` is the idle deadline as last recorded (use moves it, at most once a minute); `keyId` is the id in the
 * audit rows' actor.
 *
 * Static files (`dist/console/`, or the directory given to createApp):
 * - `GET /console/<file>` serves that file; file names carrying a content hash (`name-HASH.ext`, also `.js.map` and
 *   the like, HASH 8+ letters or digits, as esbuild's `[name]-[hash]` writes them) are sent with `Cache-Control: public, max-age=31536000,
 *   immutable`, every other file with `no-cache`.
 * - `GET /console`, `GET /console/` and any other `/console/<path>` that is no file → index.html with `no-cache`
 *   (client-side routes; the console uses hash routes, so this is only a safety net). index.html is served at several
 *   paths, so it must reference its assets by absolute paths (`/console/…`). A missing asset (a path ending in .js,
 *   .css, .map, .json, .png, .svg, .woff2 and similar) → 404 problem+json, never the page.
 * - When index.html is missing: 503 text/html saying "The console is not built: run npm run build:console".
 * - Every console response carries `Content-Security-Policy: default-src 'self'; script-src 'self'; style-src 'self';
 *   img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self';
 *   frame-ancestors 'none'` (no inline scripts or style elements/attributes, nothing from another origin; `data:`
 *   images only, for CSS icons). Styles set from script through the CSSOM (element.style) are allowed by CSP.
 * - `GET /` redirects (302) to `/console/`.
 *
 * Charts: `GET /v1/{mailboxes/:email,domains/:domain,campaigns/:campaignId}/series?window=24h|7d` (./series.ts).
 * The OpenAPI document is `GET /v1/openapi.json`; mailbox, domain and campaign reads carry `temporalUrl`.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Express, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { z } from 'zod';
import type { RateLimitSettings } from '../../config';
import { projectRoot } from '../../config';
import { appendAudit } from '../../db/repositories/audit';
import { getApiKey, getOrganization } from '../../db/repositories/organizations';
import { withTenant, type Tx } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { ForbiddenError, RateLimitedError, UnauthenticatedError } from '../../lib/errors';
import { actorOf, CredentialLookups, KeyUsage, requireConsoleSession, sessionAuth, type AuthContext } from '../auth';
import {
  checkCsrf,
  clearSessionCookie,
  createConsoleSession,
  deleteConsoleSession,
  IDLE_TIMEOUT_MS,
  MAX_LIFETIME_MS,
  sessionTokenFrom,
  setSessionCookie,
} from '../consoleSession';
import type { Routes } from '../route';

// ---- Sessions ----

const SignIn = z
  .object({ apiKey: z.string().trim().min(1).max(500).describe('An API key of the organization (admin, operator or viewer).') })
  .strict()
  .openapi('ConsoleSignIn');

const ConsoleSessionSchema = z
  .object({
    organizationId: z.string(),
    organizationName: z.string(),
    role: z.enum(['admin', 'operator', 'viewer']).describe("The key's role: what the console may show and change."),
    keyName: z.string(),
    keyId: z.string().describe('The id the audit log names this session by (actor `api-key:<keyId>`).'),
    csrfToken: z.string().describe('Send it as X-CSRF-Token with every request that changes something.'),
    expiresAt: z.string().describe('When the session ends if unused (ISO-8601); each use moves it, up to 7 days after sign-in.'),
  })
  .openapi('ConsoleSession');
type ConsoleSessionBody = z.infer<typeof ConsoleSessionSchema>;

const hours = (ms: number): number => ms / 3_600_000;

/** The session body: the organization's and the key's names, read in the tenant's transaction. */
async function sessionBody(tx: Tx, auth: AuthContext, csrfToken: string, expiresAt: Date): Promise<ConsoleSessionBody & { keyPrefix: string }> {
  const organization = await getOrganization(tx, auth.organizationId);
  const key = await getApiKey(tx, auth.keyId);
  return {
    organizationId: auth.organizationId,
    organizationName: organization?.name ?? '',
    role: auth.role as ConsoleSessionBody['role'],
    keyName: key?.name ?? '',
    keyId: auth.keyId,
    csrfToken,
    expiresAt: expiresAt.toISOString(),
    keyPrefix: key?.prefix ?? '',
  };
}

/** How the audit sentences name the key: `API key "Ops laptop" (drk_abc123…, operator)`. */
const keyNamed = (view: ConsoleSessionBody & { keyPrefix: string }): string => `API key "${view.keyName}" (${view.keyPrefix}…, ${view.role})`;

/** Sign-in and sign-out are audited on the key, by the key. */
const auditSession = (tx: Tx, auth: AuthContext, action: 'console_signed_in' | 'console_signed_out', message: string): Promise<boolean> =>
  appendAudit(tx, { organizationId: auth.organizationId, entityType: 'api_key', entityId: auth.keyId, action, actor: actorOf(auth), message, engineVersion: ENGINE_VERSION });

const publicBody = ({ keyPrefix: _prefix, ...body }: ConsoleSessionBody & { keyPrefix: string }): ConsoleSessionBody => body;

/**
 * Failed sign-ins per IP, with the failed-authentication limit of the rest of the API (./rateLimit.ts): counted only
 * when the key is refused, so a valid key is never refused for others' failures.
 */
function failedSignIns(settings: RateLimitSettings): (req: Request, res: Response) => Promise<void> {
  const property = 'consoleSignInRateLimit';
  const limiter = rateLimit({
    windowMs: settings.windowMs,
    limit: settings.failedAuthPerIp,
    keyGenerator: (req) => `ip:${ipKeyGenerator(req.ip ?? 'unknown')}`,
    requestPropertyName: property,
    standardHeaders: false,
    legacyHeaders: false,
    handler: (req, _res, next) => {
      const resetTime = (req as unknown as Record<string, { resetTime?: Date } | undefined>)[property]?.resetTime;
      next(new RateLimitedError(Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now() + settings.windowMs) - Date.now()) / 1000))));
    },
  });
  return (req, res) => new Promise<void>((resolve, reject) => void limiter(req, res, (limited?: unknown) => (limited === undefined ? resolve() : reject(limited))));
}

export function mountConsoleSession(routes: Routes, rateLimits: RateLimitSettings): void {
  const usage = new KeyUsage();
  const lookups = new CredentialLookups();
  const countFailedSignIn = failedSignIns(rateLimits);
  const noStore = (res: Response) => res.setHeader('cache-control', 'no-store');

  routes.add({
    method: 'post',
    path: '/console/session',
    summary: 'Console sign-in: checks the API key as Bearer authentication does, stores a server-side session and sets the HttpOnly drason_session cookie.',
    tags: ['console'],
    access: 'public',
    bodyLimit: '4kb',
    body: SignIn,
    responses: { 200: { description: 'Signed in (Set-Cookie: drason_session)', schema: ConsoleSessionSchema } },
    handler: async ({ body, req, res, deps }) => {
      const key = await lookups.apiKey(deps.db, body.apiKey);
      if (key === undefined || key.revoked) {
        await countFailedSignIn(req, res);
        throw new UnauthenticatedError('Unknown or revoked API key.');
      }
      if (key.role === 'ingest') throw new ForbiddenError('An ingest key may only send events; sign in to the console with a viewer, operator or admin key.');
      const auth: AuthContext = { organizationId: key.organizationId, keyId: key.id, role: key.role };
      const { token, view } = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const session = await createConsoleSession(tx, auth);
        const view = await sessionBody(tx, auth, session.csrfToken, session.expiresAt);
        await auditSession(
          tx,
          auth,
          'console_signed_in',
          `${keyNamed(view)} signed in to the console; the session acts as this key until it signs out, ` +
            `goes unused for ${hours(IDLE_TIMEOUT_MS)} hours, reaches ${hours(MAX_LIFETIME_MS) / 24} days, or the key is revoked.`,
        );
        return { token: session.token, view };
      });
      await usage.record(deps.db, auth);
      setSessionCookie(req, res, token);
      noStore(res);
      res.json(publicBody(view));
    },
  });

  routes.add({
    method: 'get',
    path: '/console/session',
    summary: 'The console session the drason_session cookie names (with its CSRF token), or 401.',
    tags: ['console'],
    access: 'public',
    responses: { 200: { description: 'Signed in', schema: ConsoleSessionSchema } },
    handler: async ({ req, res, deps }) => {
      noStore(res);
      const session = await requireConsoleSession(deps, req, usage, lookups).catch((error: unknown) => {
        if (sessionTokenFrom(req) !== undefined) clearSessionCookie(req, res);
        throw error;
      });
      const auth = sessionAuth(session);
      const view = await withTenant(deps.db, auth.organizationId, (tx) => sessionBody(tx, auth, session.csrfToken, session.expiresAt));
      res.json(publicBody(view));
    },
  });

  routes.add({
    method: 'delete',
    path: '/console/session',
    summary: 'Console sign-out (send X-CSRF-Token): deletes the session and clears the cookie. 204 also when there was no session.',
    tags: ['console'],
    access: 'public',
    responses: { 204: { description: 'Signed out' } },
    handler: async ({ req, res, deps }) => {
      const token = sessionTokenFrom(req);
      const session = token === undefined ? undefined : await lookups.consoleSession(deps.db, token);
      if (session !== undefined) {
        checkCsrf(req, session);
        const auth = sessionAuth(session);
        await withTenant(deps.db, auth.organizationId, async (tx) => {
          const ended = await deleteConsoleSession(tx, session.tokenHash);
          if (ended === undefined || session.keyRevoked) return;
          const view = await sessionBody(tx, auth, session.csrfToken, session.expiresAt);
          await auditSession(
            tx,
            auth,
            'console_signed_out',
            `${keyNamed(view)} signed out of the console; the session it started at ${ended.createdAt.toISOString()} is ended and its cookie no longer works.`,
          );
        });
      }
      if (token !== undefined) clearSessionCookie(req, res);
      noStore(res);
      res.status(204).end();
    },
  });
}

// ---- Static files ----

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Where `npm run build:console` writes the console. */
export const defaultConsoleDir = (): string => path.join(projectRoot(), 'dist', 'console');

/** `name-HASH.ext` (and `name-HASH.js.map`, `name-HASH.css.LEGAL.txt`): content-addressed, never changed under its name. */
const HASHED_FILE = /-[A-Za-z0-9_]{8,}(?:\.[A-Za-z0-9]+)+$/;

/** A missing file of these kinds is a 404, not the page: a browser asking for a script must not get HTML. */
const ASSET_FILE = /\.(?:m?js|css|map|json|txt|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|otf|webmanifest)$/i;

const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Drason console not built</title></head>
<body>
<h1>The console is not built</h1>
<p>The console is not built: run npm run build:console</p>
<p>Then reload this page. The JSON API is available meanwhile; its OpenAPI document is at <a href="/v1/openapi.json">/v1/openapi.json</a>.</p>
</body>
</html>
`;

const cacheControlFor = (file: string): string => (path.basename(file) !== 'index.html' && HASHED_FILE.test(path.basename(file)) ? 'public, max-age=31536000, immutable' : 'no-cache');

/** Serves the built console at /console/ (see the contract above); `/` redirects there. */
export function mountConsoleApp(app: Express, dir: string): void {
  const withCsp: RequestHandler = (_req, res, next) => {
    res.setHeader('content-security-policy', CONSOLE_CSP);
    next();
  };
  app.get('/', (_req, res) => res.redirect(302, '/console/'));
  app.use(
    '/console',
    withCsp,
    express.static(dir, {
      index: false,
      redirect: false,
      dotfiles: 'ignore',
      cacheControl: false,
      setHeaders: (res, file) => res.setHeader('cache-control', cacheControlFor(file)),
    }),
  );
  const indexHtml: RequestHandler = (req, res, next) => {
    if (ASSET_FILE.test(req.path)) return next();
    const index = path.join(dir, 'index.html');
    res.setHeader('cache-control', 'no-cache');
    if (!fs.existsSync(index)) {
      res.status(503).type('html').send(NOT_BUILT_PAGE);
      return;
    }
    res.sendFile(index, { cacheControl: false, dotfiles: 'allow' }, (error?: Error) => {
      if (error !== undefined && !res.headersSent) next(error);
    });
  };
  app.get(['/console', '/console/*rest'], indexHtml);
}
