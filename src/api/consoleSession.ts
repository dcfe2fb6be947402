/**
 * Console sessions: what the browser holds instead of an API key (issue 11; table console_sessions, migration 013).
 *
 * - Signing in with an API key stores a row keyed by the SHA-256 of a fresh random session token; the cookie
 *   `drason_session` carries the token (HttpOnly, SameSite=Strict, Path=/, Secure when the request came over https,
 *   directly or through a trusted proxy's X-Forwarded-Proto). The API key is never stored: only its id.
 * - The session is looked up on every request through `drason_resolve_console_session` (SECURITY DEFINER, one row
 *   by hash, only while unexpired), which also says whether its key is revoked: a revoked key's session is deleted and
 *   refused at its next request. Idle timeout IDLE_TIMEOUT_MS (expires_at slides on use, written at most once a
 *   minute), never beyond MAX_LIFETIME_MS after sign-in.
 * - CSRF: a cookie-authenticated request whose method changes something (not GET, HEAD or OPTIONS) must carry
 *   `X-CSRF-Token` equal to the session's CSRF token (a second random value, returned by sign-in and GET
 *   /console/session). Bearer-authenticated requests carry no ambient credential and are not checked.
 */
import crypto from 'node:crypto';
import type { Request, Response } from 'express';
import type { Db } from '../db/knex';
import type { Role } from '../db/repositories/organizations';
import { withTenant, type Tx } from '../db/tenant';
import { ForbiddenError } from '../lib/errors';
import { constantTimeEqual, randomToken, sha256Hex } from '../security/tokens';

export const SESSION_COOKIE = 'drason_session';
export const CSRF_HEADER = 'x-csrf-token';
/** A session unused this long ends. */
export const IDLE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
/** However often it is used, a session ends this long after sign-in. */
export const MAX_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

const SESSION_TOKEN_PREFIX = 'dcs_';
/** The shape of a token we issue: anything else in the cookie is refused without a database round trip. */
const SESSION_TOKEN = /^dcs_[A-Za-z0-9_-]{43}$/;

/** A live session, as resolved from its token. */
export interface ConsoleSession {
  tokenHash: string;
  organizationId: string;
  keyId: string;
  /** The key's role. */
  role: Role;
  keyRevoked: boolean;
  csrfToken: string;
  expiresAt: Date;
}

/** The session token in the request's Cookie header, when it has the shape of one. */
export function sessionTokenFrom(req: Pick<Request, 'headers'>): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SESSION_TOKEN.test(value)) return value;
  }
  return undefined;
}

/** Looks a session up across tenants by its token's hash (narrow SECURITY DEFINER function); undefined when unknown or expired. */
export async function resolveConsoleSession(db: Db, token: string): Promise<ConsoleSession | undefined> {
  const tokenHash = sha256Hex(token);
  const result = await db.raw<{
    rows: { organization_id: string; api_key_id: string; role: Role; key_revoked: boolean; csrf_token: string; expires_at: Date }[];
  }>('select * from drason_resolve_console_session(?)', [tokenHash]);
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return {
    tokenHash,
    organizationId: row.organization_id,
    keyId: row.api_key_id,
    role: row.role,
    keyRevoked: row.key_revoked,
    csrfToken: row.csrf_token,
    expiresAt: row.expires_at,
  };
}

/**
 * Stores a new session for a key of the current organization (and forgets the organization's expired ones). Returns
 * the token for the cookie, which exists nowhere else.
 */
export async function createConsoleSession(
  tx: Tx,
  key: { organizationId: string; keyId: string; role: Role },
): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
  await tx('console_sessions').where('expires_at', '<=', tx.fn.now()).delete();
  const token = randomToken(SESSION_TOKEN_PREFIX, 32);
  const csrfToken = crypto.randomBytes(32).toString('base64url');
  const [row] = (await tx('console_sessions')
    .insert({
      organization_id: key.organizationId,
      token_hash: sha256Hex(token),
      api_key_id: key.keyId,
      role: key.role,
      csrf_token: csrfToken,
      expires_at: tx.raw(`now() + make_interval(secs => ?)`, [IDLE_TIMEOUT_MS / 1000]),
    })
    .returning('expires_at')) as { expires_at: Date }[];
  return { token, csrfToken, expiresAt: row!.expires_at };
}

/** Records a use: the idle deadline moves to now + the idle timeout, never past the session's absolute end. */
export async function touchConsoleSession(db: Db, session: Pick<ConsoleSession, 'organizationId' | 'tokenHash'>): Promise<void> {
  await withTenant(db, session.organizationId, (tx) =>
    tx('console_sessions')
      .where({ token_hash: session.tokenHash })
      .andWhere('expires_at', '>', tx.fn.now())
      .update({
        last_seen_at: tx.fn.now(),
        expires_at: tx.raw('least(now() + make_interval(secs => ?), created_at + make_interval(secs => ?))', [IDLE_TIMEOUT_MS / 1000, MAX_LIFETIME_MS / 1000]),
      }),
  );
}

/** Deletes a session of the current organization; returns when it had started, or undefined when there was none. */
export async function deleteConsoleSession(tx: Tx, tokenHash: string): Promise<{ createdAt: Date } | undefined> {
  const [row] = (await tx('console_sessions').where({ token_hash: tokenHash }).delete().returning('created_at')) as { created_at: Date }[];
  return row === undefined ? undefined : { createdAt: row.created_at };
}

/** Ends a session whose key was revoked (nothing to audit: the revocation was). */
export async function endRevokedSession(db: Db, session: Pick<ConsoleSession, 'organizationId' | 'tokenHash'>): Promise<void> {
  await withTenant(db, session.organizationId, (tx) => deleteConsoleSession(tx, session.tokenHash));
}

const cookieOptions = (req: Request) => ({ httpOnly: true, sameSite: 'strict' as const, path: '/', secure: req.secure });

/** A browser-session cookie: the server-side row decides how long it is good for. */
export function setSessionCookie(req: Request, res: Response, token: string): void {
  res.cookie(SESSION_COOKIE, token, cookieOptions(req));
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(req));
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** 403 unless a cookie-authenticated request that changes something carries the session's CSRF token. */
export function checkCsrf(req: Pick<Request, 'method' | 'header'>, session: Pick<ConsoleSession, 'csrfToken'>): void {
  if (SAFE_METHODS.has(req.method)) return;
  const presented = req.header(CSRF_HEADER);
  if (presented === undefined || !constantTimeEqual(presented, session.csrfToken)) {
    throw new ForbiddenError(
      `A console session request that changes something must carry the header X-CSRF-Token with the session's csrfToken (from POST or GET /console/session).`,
    );
  }
}
