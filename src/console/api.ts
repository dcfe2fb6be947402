/**
 * The console's only door to the server: the console session endpoints (/console/session) and the public JSON API
 * (/v1/*), same origin, with the session cookie. Every non-GET carries the session's CSRF token. Errors are
 * problem+json and become ApiError (title, detail and the per-field errors of a 422).
 */
import type { FieldProblem, Session } from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(detail === '' ? title : detail);
    this.name = 'ApiError';
  }
}

let csrfToken: string | null = null;
let onUnauthorized: (() => void) | null = null;

/** The session's CSRF token, sent as X-CSRF-Token on every non-GET. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when the API answers 401 to a signed-in request: the session ended (expired or signed out elsewhere). */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

async function problemOf(res: Response): Promise<ApiError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const b = (typeof body === 'object' && body !== null ? body : {}) as { title?: unknown; detail?: unknown; errors?: unknown };
  const title = typeof b.title === 'string' ? b.title : res.statusText || `HTTP ${res.status}`;
  const detail = typeof b.detail === 'string' ? b.detail : '';
  const errors = Array.isArray(b.errors)
    ? b.errors
        .filter((e): e is { path: unknown; message: unknown } => typeof e === 'object' && e !== null)
        .map((e) => ({ path: String(e.path ?? ''), message: String(e.message ?? '') }))
    : [];
  return new ApiError(res.status, title, detail, errors);
}

interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  /** Do not treat a 401 as "the session ended" (sign-in and the session probe). */
  quiet401?: boolean;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiError(0, 'Network error', 'Drason could not be reached. Check that it is running, then try again.');
  }
  if (!res.ok) {
    const error = await problemOf(res);
    if (res.status === 401 && options.quiet401 !== true) {
      forgetSession();
      onUnauthorized?.();
    }
    throw error;
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text === '' ? undefined : JSON.parse(text)) as T;
}

/** A query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

export const seg = encodeURIComponent;

// ---- Session ----

/**
 * A hint, not a secret: whether this browser signed in and has not signed out since. Without it the console does not
 * ask GET /console/session, so a first visit shows sign-in without a refused request (browsers log every 401 in the
 * console). The session itself lives only in the HttpOnly cookie and on the server.
 */
const SIGNED_IN_HINT = 'drason.console.signedIn';

function hint(on: boolean): void {
  try {
    if (on) window.localStorage.setItem(SIGNED_IN_HINT, '1');
    else window.localStorage.removeItem(SIGNED_IN_HINT);
  } catch {
    // Storage may be disabled: the probe then always runs.
  }
}

function hinted(): boolean {
  try {
    return window.localStorage.getItem(SIGNED_IN_HINT) !== null;
  } catch {
    return true;
  }
}

export async function signIn(apiKey: string): Promise<Session> {
  const session = await request<Session>('/console/session', { method: 'POST', body: { apiKey }, quiet401: true });
  hint(true);
  return session;
}

/** The current session, or null when signed out. */
export async function currentSession(): Promise<Session | null> {
  if (!hinted()) return null;
  try {
    return await request<Session>('/console/session', { quiet401: true });
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 404)) {
      hint(false);
      return null;
    }
    throw e;
  }
}

export async function signOut(): Promise<void> {
  await request<void>('/console/session', { method: 'DELETE', quiet401: true });
  hint(false);
}

/** The session ended on the server (a 401 from the API): forget the hint too. */
export function forgetSession(): void {
  hint(false);
  csrfToken = null;
}

/** Every page of a list endpoint, up to maxPages pages. */
export async function allPages<T>(path: string, params: Record<string, string | number | undefined>, maxPages = 20): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const page = await request<{ items: T[]; nextCursor: string | null }>(`${path}${query({ ...params, cursor })}`);
    items.push(...page.items);
    if (page.nextCursor === null) break;
    cursor = page.nextCursor;
  }
  return items;
}

/** A readable message for anything thrown. */
export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.detail === '' ? e.title : e.detail;
  if (e instanceof Error) return e.message;
  return String(e);
}
