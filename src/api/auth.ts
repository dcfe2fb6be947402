/**
 * Authentication and role checks. Keys belong to one organization and carry one role:
 * admin > operator > viewer; `ingest` may only call ingestion endpoints. Every route declares its `access`.
 *
 * - API keys: `Authorization: Bearer <key>`; ingestion endpoints also take `X-Drason-Key: <key>` (Clay can only
 *   send static headers). Looked up by hash on every request, so a revocation applies to the very next one.
 * - Smartlead webhooks: the token in the path authenticates; an unknown token answers exactly like an unknown route.
 * - Platform bootstrap: the platform admin token.
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

/**
 * Records a key's last use at most once a minute per key and process; the UPDATE's own condition keeps it to once
 * a minute across processes. Bounded: forgets everything past 10 000 keys.
 */
export class KeyUsage {
  private readonly lastRecorded = new Map<string, number>();

  async record(db: Db, key: AuthContext, nowMs = Date.now()): Promise<void> {
    const last = this.lastRecorded.get(key.keyId);
    if (last !== undefined && nowMs - last < 60_000) return;
    if (this.lastRecorded.size >= 10_000) this.lastRecorded.clear();
    this.lastRecorded.set(key.keyId, nowMs);
    await withTenant(db, key.organizationId, (tx) => touchApiKey(tx, key.keyId)).catch((error: unknown) =>
      log.warn('could not record API key use', { keyId: key.keyId, error: String(error) }),
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

  apiKey(db: Db, key: string): ReturnType<typeof resolveApiKey> {
    return this.keys.run(key, () => resolveApiKey(db, key));
  }

  webhookToken(db: Db, token: string): ReturnType<typeof resolveWebhookToken> {
    return this.tokens.run(token, () => resolveWebhookToken(db, token));
  }
}

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
    if (!roleAllows(key.role, access)) {
      throw new ForbiddenError(`This endpoint needs the ${access} role${access === 'ingest' ? ' (or operator/admin)' : ' or higher'}; this key is ${key.role}.`);
    }
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
