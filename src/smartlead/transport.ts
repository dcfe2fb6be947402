/**
 * Transport: one HTTP request to Smartlead and the mapping of its answer to a parsed body or a typed error
 * (errors.ts). No retries, no rate limits, no circuit breaker here: the resilience policy (resilience.ts) decides
 * whether and when to call `send`, and retries what it throws.
 *
 * Secrets: the API key lives in a private field, is added to the URL at the last moment, never appears in an error
 * message (`redactSecrets` is applied to everything that echoes server text), and redirects are not followed (a
 * redirect would carry the key to another host).
 */
import { z } from 'zod';
import {
  SmartleadAuthError,
  SmartleadBadRequestError,
  SmartleadNotFoundError,
  SmartleadRateLimitedError,
  SmartleadResponseError,
  SmartleadUnavailableError,
  redactSecrets,
} from './errors';
import { fingerprint } from './resilience';

export const SMARTLEAD_DEFAULT_BASE_URL = 'https://server.smartlead.ai/api/v1';

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestSpec<S extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  query?: Query;
  body?: unknown;
  schema: S;
  signal?: AbortSignal;
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Retry-After: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The human part of an error body: `message`, `error`, `error.message`, or the text itself. */
function bodySummary(json: unknown, text: string): string {
  if (json !== null && typeof json === 'object') {
    const o = json as Record<string, unknown>;
    const err = o.error;
    if (typeof o.message === 'string' && o.message !== '') return o.message;
    if (typeof err === 'string' && err !== '') return err;
    if (err !== null && typeof err === 'object' && typeof (err as Record<string, unknown>).message === 'string') {
      return String((err as Record<string, unknown>).message);
    }
  }
  const flat = text.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}

function bodyRetryAfter(json: unknown): number | undefined {
  if (json === null || typeof json !== 'object') return undefined;
  const o = json as Record<string, unknown>;
  const candidate = o.retry_after ?? (o.error && typeof o.error === 'object' ? (o.error as Record<string, unknown>).retry_after : undefined);
  return typeof candidate === 'number' && candidate >= 0 ? candidate * 1000 : undefined;
}

type Issue = z.core.$ZodIssue;

/** Schema problems as "path: message"; for a union, the issues of the branch that got furthest. */
function flattenIssues(issues: readonly Issue[], prefix: PropertyKey[] = []): { path: PropertyKey[]; message: string }[] {
  const out: { path: PropertyKey[]; message: string }[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branches = issue.errors.map((b) => flattenIssues(b, path));
      const depth = (b: { path: PropertyKey[] }[]): number => Math.max(0, ...b.map((i) => i.path.length));
      const best = branches.reduce((a, b) => (depth(b) > depth(a) ? b : a));
      out.push(...best);
    } else {
      out.push({ path, message: issue.message });
    }
  }
  return out;
}

function zodIssues(error: z.ZodError): string[] {
  return flattenIssues(error.issues)
    .slice(0, 10)
    .map((i) => `${i.path.length > 0 ? i.path.map(String).join('.') : '(root)'}: ${i.message}`);
}

export interface TransportOptions {
  apiKey: string;
  baseUrl?: string;
  /** Retry-After assumed for a 429 that names none. */
  defaultRetryAfterMs: number;
}

/** Sends one request with the key and maps the answer. */
export class SmartleadTransport {
  readonly #apiKey: string;
  readonly baseUrl: string;
  private readonly defaultRetryAfterMs: number;

  constructor(options: TransportOptions) {
    if (typeof options.apiKey !== 'string' || options.apiKey.trim() === '') {
      throw new TypeError('SmartleadClient needs a non-empty apiKey');
    }
    this.#apiKey = options.apiKey.trim();
    this.baseUrl = trimSlash(options.baseUrl ?? SMARTLEAD_DEFAULT_BASE_URL);
    try {
      const u = new URL(this.baseUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('protocol');
    } catch {
      throw new TypeError('SmartleadClient baseUrl must be an absolute http(s) URL');
    }
    this.defaultRetryAfterMs = options.defaultRetryAfterMs;
  }

  /** A stable hash of base URL and key for a given purpose (never the key itself). */
  keyFingerprint(purpose: string): string {
    return fingerprint(purpose, this.baseUrl, this.#apiKey);
  }

  /** Text with the key (and any `api_key=`) removed, for messages that echo server text. */
  redact(text: string): string {
    return redactSecrets(text, [this.#apiKey]);
  }

  /** One HTTP attempt. `signal` aborts it (timeout or caller); the abort reason is thrown as is. */
  async send<S extends z.ZodType>(spec: RequestSpec<S>, signal: AbortSignal): Promise<z.output<S>> {
    const { method, path } = spec;
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(spec.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    url.searchParams.set('api_key', this.#apiKey);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'drason-smartlead-client/1' };
    if (spec.body !== undefined) headers['content-type'] = 'application/json';
    const secrets = [this.#apiKey];

    let status: number;
    let statusText: string;
    let text: string;
    let retryAfterHeader: string | null;
    try {
      const res = await fetch(url, {
        method,
        headers,
        body: spec.body === undefined ? undefined : JSON.stringify(spec.body),
        signal,
        redirect: 'manual',
      });
      status = res.status;
      statusText = res.statusText;
      retryAfterHeader = res.headers.get('retry-after');
      text = await res.text();
    } catch (err) {
      if (signal.aborted) throw err; // timeout or caller cancel: mapped by the caller
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
      const code = cause !== null && typeof cause === 'object' && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
      const why = cause instanceof Error ? cause.message : String(cause);
      throw new SmartleadUnavailableError(
        redactSecrets(`Smartlead ${method} ${path} unreachable (${code ?? 'network error'}): ${why}`, secrets),
        'network',
        { method, path },
      );
    }

    let json: unknown = null;
    let jsonOk = true;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        jsonOk = false;
      }
    }
    const details = { method, path, status };
    const summary = (): string => redactSecrets(bodySummary(json, text), secrets) || statusText || 'no details';

    if (status >= 200 && status < 300) {
      if (!jsonOk) {
        throw new SmartleadResponseError(`Smartlead ${method} ${path} answered ${status} with a body that is not JSON`, [], details);
      }
      const parsed = spec.schema.safeParse(json);
      if (!parsed.success) {
        const issues = zodIssues(parsed.error).map((i) => redactSecrets(i, secrets));
        throw new SmartleadResponseError(
          `Smartlead ${method} ${path} answered ${status} with an unexpected body (${issues.slice(0, 3).join('; ')})`,
          issues,
          details,
        );
      }
      return parsed.data as z.output<S>;
    }
    if (status === 401 || status === 403) {
      throw new SmartleadAuthError(
        `Smartlead rejected the API key on ${method} ${path} (${status}: ${summary()}). The key was probably revoked or rotated: ` +
          'save the current key in the Smartlead integration settings.',
        details,
      );
    }
    if (status === 404) {
      throw new SmartleadNotFoundError(`Smartlead ${method} ${path} answered 404 (${summary()}): it no longer exists in Smartlead (deleted there?)`, details);
    }
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(retryAfterHeader) ?? bodyRetryAfter(json) ?? this.defaultRetryAfterMs;
      throw new SmartleadRateLimitedError(
        `Smartlead ${method} ${path} answered 429: over the rate limit for this API key; retry after ${Math.ceil(retryAfterMs / 1000)}s`,
        retryAfterMs,
        details,
      );
    }
    if (status === 408 || status >= 500) {
      throw new SmartleadUnavailableError(`Smartlead ${method} ${path} answered ${status} (${summary()}): Smartlead is unavailable`, 'unavailable', details);
    }
    if (status >= 400) {
      const s = summary();
      // Smartlead documents some "does not exist" cases as 400 (e.g. suspend/unsuspend of an unknown account).
      if ((status === 400 || status === 422) && /\bnot found\b|does not exist|doesn't exist|invalid (campaign|account|lead)[ _]?id/i.test(s)) {
        throw new SmartleadNotFoundError(`Smartlead ${method} ${path} answered ${status} (${s}): it no longer exists in Smartlead (deleted there?)`, details);
      }
      throw new SmartleadBadRequestError(`Smartlead ${method} ${path} refused the request (${status}: ${s})`, details);
    }
    throw new SmartleadResponseError(`Smartlead ${method} ${path} answered an unexpected ${status}${status >= 300 && status < 400 ? ' redirect (not followed)' : ''}`, [], details);
  }
}
