/**
 * Authentication and role checks. Keys belong to one organization and carry one role:
 * admin > operator > viewer; `ingest` may only call ingestion endpoints. Every route declares its `access`.
 *
 * - API keys: `Authorization: Bearer <key>`; ingestion endpoints also take `X-Drason-Key: <key>` (Clay can only
 *   send static headers). Looked up by hash on every request, so a revocation applies to the very next one.
 * - Smartlead webhooks: the token in the path authenticates; an unknown token answers exactly like an unknown route.
 * - Platform bootstrap: the platform admin token.
 * - Console sessions (./consoleSession.ts): without a key, the `drason_session` cookie of a signed-in console
 *   authenticates as the key it was signed in with (same role checks, same actor in audit rows); a request it sends
 *   that changes something must carry X-CSRF-Token. A presented key always wins over the cookie.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Db } from '../db/knex';
import { resolveApiKey, touchApiKey, type Role } from '../db/repositories/organizations';
import { resolveWebhookToken } from '../db/repositories/integrations';
import { withTenant } from '../db/tenant';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../lib/errors';
import { componentLogger } from '../lib/logger';
import { SingleFlight } from '../lib/singleFlight';
import { constantTimeEqual } from '../security/tokens';
import { checkCsrf, endRevokedSession, resolveConsoleSession, sessionTokenFrom, touchConsoleSession, type ConsoleSession } from './consoleSession';
import type { ApiDeps } from './deps';

const log = componentLogger('auth');

export interface AuthContext {
  organizationId: string;
  keyId: string;
  role: Role;
}

export interface WebhookContext {
  organizationId: string;
  tokenId: string;
  /** The secret_key's hash, checked by the route against the body (null: none configured). */
  secretKeyHash: string | null;
}

/** Who may call an endpoint. `webhook`: the path's :token authenticates (no API key). */
export type Access = 'public' | 'platform' | 'viewer' | 'operator' | 'admin' | 'ingest' | 'webhook';

const RANK: Record<Role, number> = { ingest: 0, viewer: 1, operator: 2, admin: 3 };

export function roleAllows(role: Role, access: Access): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'platform':
    case 'webhook':
      return false;
    case 'ingest':
      return role === 'ingest' || RANK[role] >= RANK.operator;
    default:
      return role !== 'ingest' && RANK[role] >= RANK[access];
  }
}

/** The 404 of a route that does not exist; a wrong webhook token answers with exactly this. */
export function noSuchRoute(req: Pick<Request, 'method' | 'path'>): NotFoundError {
  return new NotFoundError(`No route for ${req.method} ${req.path}.`);
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function presentedKey(req: Request, access: Access): string | undefined {
  const fromBearer = bearer(req.headers.authorization);
  if (fromBearer !== undefined || access !== 'ingest') return fromBearer;
  const header = req.header('x-drason-key')?.trim();
  return header === undefined || header === '' ? undefined : header;
}

/** Says yes at most once a minute per id (and process). Bounded: forgets everything past 10 000 ids. */
class OncePerMinute {
  private readonly last = new Map<string, number>();

  due(id: string, nowMs: number): boolean {
    const last = this.last.get(id);
    if (last !== undefined && nowMs - last < 60_000) return false;
    if (this.last.size >= 10_000) this.last.clear();
    this.last.set(id, nowMs);
    return true;
  }
}

/**
 * Records a key's last use at most once a minute per key and process; the UPDATE's own condition keeps it to once
 * a minute across processes. Console sessions likewise: their last use (which moves their idle deadline).
 */
export class KeyUsage {
  private readonly keys = new OncePerMinute();
  private readonly sessions = new OncePerMinute();

  async record(db: Db, key: AuthContext, nowMs = Date.now()): Promise<void> {
    if (!this.keys.due(key.keyId, nowMs)) return;
    await withTenant(db, key.organizationId, (tx) => touchApiKey(tx, key.keyId)).catch((error: unknown) =>
      log.warn('could not record API key use', { keyId: key.keyId, error: String(error) }),
    );
  }

  async recordSession(db: Db, session: ConsoleSession, nowMs = Date.now()): Promise<void> {
    if (!this.sessions.due(session.tokenHash, nowMs)) return;
    await touchConsoleSession(db, session).catch((error: unknown) =>
      log.warn('could not record console session use', { keyId: session.keyId, error: String(error) }),
    );
  }
}

/**
 * Key and webhook-token lookups, shared by concurrent requests presenting the same credential (src/lib/singleFlight.ts).
 * One instance per app, so every route shares it.
 */
export class CredentialLookups {
  private readonly keys = new SingleFlight<Awaited<ReturnType<typeof resolveApiKey>>>();
  private readonly tokens = new SingleFlight<Awaited<ReturnType<typeof resolveWebhookToken>>>();
  private readonly sessions = new SingleFlight<Awaited<ReturnType<typeof resolveConsoleSession>>>();

  apiKey(db: Db, key: string): ReturnType<typeof resolveApiKey> {
    return this.keys.run(key, () => resolveApiKey(db, key));
  }

  webhookToken(db: Db, token: string): ReturnType<typeof resolveWebhookToken> {
    return this.tokens.run(token, () => resolveWebhookToken(db, token));
  }

  consoleSession(db: Db, token: string): ReturnType<typeof resolveConsoleSession> {
    return this.sessions.run(token, () => resolveConsoleSession(db, token));
  }
}

/**
 * The live console session the request's cookie names, its use recorded; 401 when there is none (no cookie, unknown,
 * expired, signed out) or its key was revoked (the session is then deleted).
 */
export async function requireConsoleSession(deps: Pick<ApiDeps, 'db'>, req: Request, usage: KeyUsage, lookups: CredentialLookups): Promise<ConsoleSession> {
  const token = sessionTokenFrom(req);
  if (token === undefined) throw new UnauthenticatedError('Not signed in: send `Authorization: Bearer <key>`, or sign in to the console (POST /console/session).');
  const session = await lookups.consoleSession(deps.db, token);
  if (session === undefined) throw new UnauthenticatedError('The console session has ended (signed out, expired or unknown): sign in again.');
  if (session.keyRevoked) {
    await endRevokedSession(deps.db, session);
    throw new UnauthenticatedError('The API key this console session was signed in with has been revoked: sign in again with another key.');
  }
  await usage.recordSession(deps.db, session);
  return session;
}

/** A console session acts as the key it was signed in with. */
export const sessionAuth = (session: ConsoleSession): AuthContext => ({ organizationId: session.organizationId, keyId: session.keyId, role: session.role });

const forbidden = (access: Access, role: Role): ForbiddenError =>
  new ForbiddenError(`This endpoint needs the ${access} role${access === 'ingest' ? ' (or operator/admin)' : ' or higher'}; this key is ${role}.`);

export function authenticate(deps: ApiDeps, access: Access, usage: KeyUsage, lookups: CredentialLookups): RequestHandler {
  return async (req, res, next) => {
    if (access === 'public') return next();
    if (access === 'webhook') {
      const token = typeof req.params.token === 'string' ? req.params.token : '';
      const resolved = await lookups.webhookToken(deps.db, token);
      if (resolved === undefined) throw noSuchRoute(req);
      const webhook: WebhookContext = { organizationId: resolved.organizationId, tokenId: resolved.id, secretKeyHash: resolved.secretKeyHash };
      res.locals.webhook = webhook;
      return next();
    }
    const token = presentedKey(req, access);
    if (token === undefined && access !== 'platform' && sessionTokenFrom(req) !== undefined) {
      const session = await requireConsoleSession(deps, req, usage, lookups);
      const auth = sessionAuth(session);
      res.locals.auth = auth;
      await usage.record(deps.db, auth);
      checkCsrf(req, session);
      if (!roleAllows(session.role, access)) throw forbidden(access, session.role);
      return next();
    }
    if (token === undefined) {
      throw new UnauthenticatedError(
        access === 'ingest' ? 'A valid API key is required: send `Authorization: Bearer <key>` or `X-Drason-Key: <key>`.' : undefined,
      );
    }
    if (access === 'platform') {
      if (deps.adminToken === undefined || !constantTimeEqual(token, deps.adminToken)) {
        throw new UnauthenticatedError('This endpoint needs the platform admin token (DRASON_ADMIN_TOKEN).');
      }
      return next();
    }
    const key = await lookups.apiKey(deps.db, token);
    if (key === undefined || key.revoked) throw new UnauthenticatedError('Unknown or revoked API key.');
    const auth: AuthContext = { organizationId: key.organizationId, keyId: key.id, role: key.role };
    res.locals.auth = auth;
    await usage.record(deps.db, auth);
    if (!roleAllows(key.role, access)) throw forbidden(access, key.role);
    next();
  };
}

export function authOf(res: Response | { locals: Record<string, unknown> }): AuthContext {
  return res.locals.auth as AuthContext;
}

export function webhookOf(res: Response | { locals: Record<string, unknown> }): WebhookContext {
  return res.locals.webhook as WebhookContext;
}

/** How an audit row names the caller: the acting key's id (never the key). */
export function actorOf(auth: AuthContext): string {
  return `api-key:${auth.keyId}`;
}
