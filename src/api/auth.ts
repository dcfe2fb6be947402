/**
 * Authentication and role checks. Keys belong to one organization and carry one role:
 * admin > operator > viewer; `ingest` may only call ingestion endpoints.
 */
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Db } from '../db/knex';
import { resolveApiKey, type Role } from '../db/repositories/organizations';
import { ForbiddenError, UnauthenticatedError } from '../lib/errors';

export interface AuthContext {
  organizationId: string;
  keyId: string;
  role: Role;
}

/** Who may call an endpoint. */
export type Access = 'public' | 'platform' | 'viewer' | 'operator' | 'admin' | 'ingest';

const RANK: Record<Role, number> = { ingest: 0, viewer: 1, operator: 2, admin: 3 };

export function roleAllows(role: Role, access: Access): boolean {
  switch (access) {
    case 'public':
      return true;
    case 'platform':
      return false;
    case 'ingest':
      return role === 'ingest' || RANK[role] >= RANK.operator;
    default:
      return role !== 'ingest' && RANK[role] >= RANK[access];
  }
}

function bearer(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

function safeEqual(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

export function authenticate(db: Db, access: Access, adminToken: string | undefined): RequestHandler {
  return async (req, res, next) => {
    if (access === 'public') return next();
    const token = bearer(req.headers.authorization);
    if (token === undefined) throw new UnauthenticatedError();
    if (access === 'platform') {
      if (adminToken === undefined || !safeEqual(token, adminToken)) {
        throw new UnauthenticatedError('This endpoint needs the platform admin token (DRASON_ADMIN_TOKEN).');
      }
      return next();
    }
    const key = await resolveApiKey(db, token);
    if (key === undefined || key.revoked) throw new UnauthenticatedError('Unknown or revoked API key.');
    if (!roleAllows(key.role, access)) {
      throw new ForbiddenError(`This endpoint needs the ${access} role${access === 'ingest' ? ' (or operator/admin)' : ' or higher'}; this key is ${key.role}.`);
    }
    const auth: AuthContext = { organizationId: key.organizationId, keyId: key.id, role: key.role };
    res.locals.auth = auth;
    next();
  };
}

export function authOf(res: { locals: Record<string, unknown> }): AuthContext {
  return res.locals.auth as AuthContext;
}
