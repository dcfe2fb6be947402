/**
 * Typed errors of the Smartlead client.
 *
 * Every failure the client raises is a `SmartleadError` carrying:
 *  - `code`      a stable machine code (switch on it, not on the class name, across process boundaries),
 *  - `status`    the HTTP status when Smartlead answered,
 *  - `retryable` whether trying the same call again later can succeed (credentials revoked or an object
 *                deleted in Smartlead will not fix themselves; a 5xx, a timeout or a 429 will).
 *
 * Secrets: Smartlead authenticates with `?api_key=` in the query string, so a URL is a secret. Messages only
 * ever name the method and the path (never the query), and every message passes through `redactSecrets`
 * before it reaches `Error.message` (and therefore `.stack`, which starts with the message).
 */

export type SmartleadErrorCode =
  | 'unauthorized'
  | 'not_found'
  | 'rate_limited'
  | 'unavailable'
  | 'timeout'
  | 'network'
  | 'circuit_open'
  | 'bad_request'
  | 'invalid_response';

export interface SmartleadErrorDetails {
  status?: number;
  method?: string;
  /** API path without query string, e.g. `/campaigns/42`. */
  path?: string;
}

const API_KEY_IN_TEXT = /(api[_-]?key["']?\s*[=:]\s*["']?)[^&\s"',;}]+/gi;

/**
 * Remove `api_key=...` (query strings, JSON, headers) and any literal secret from a text.
 * Secrets shorter than 4 characters are ignored: replacing them would mangle ordinary words.
 */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(API_KEY_IN_TEXT, '$1[redacted]');
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}

export class SmartleadError extends Error {
  readonly code: SmartleadErrorCode;
  readonly status?: number;
  readonly retryable: boolean;
  readonly method?: string;
  readonly path?: string;
  /** Number of HTTP attempts made before giving up (set by the client once retries are exhausted). */
  attempts?: number;

  constructor(code: SmartleadErrorCode, message: string, retryable: boolean, details: SmartleadErrorDetails = {}) {
    super(redactSecrets(message));
    this.name = new.target.name;
    this.code = code;
    this.retryable = retryable;
    if (details.status !== undefined) this.status = details.status;
    if (details.method !== undefined) this.method = details.method;
    if (details.path !== undefined) this.path = redactSecrets(details.path.split('?')[0] ?? details.path);
  }

  /** Safe, serialisable view (Temporal failure details, API problem documents, logs). */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      status: this.status,
      retryable: this.retryable,
      method: this.method,
      path: this.path,
      attempts: this.attempts,
    };
  }
}

/** 401/403: the API key was rejected (revoked, rotated, or the plan lost API access). Not retryable. */
export class SmartleadAuthError extends SmartleadError {
  constructor(message: string, details: SmartleadErrorDetails = {}) {
    super('unauthorized', message, false, details);
  }
}

/** 404 (or Smartlead's "not found" 400s): the campaign, mailbox or lead no longer exists in Smartlead. Not retryable. */
export class SmartleadNotFoundError extends SmartleadError {
  constructor(message: string, details: SmartleadErrorDetails = {}) {
    super('not_found', message, false, details);
  }
}

/** 429: over Smartlead's per-key rate limit. Retryable after `retryAfterMs`. */
export class SmartleadRateLimitedError extends SmartleadError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, details: SmartleadErrorDetails = {}) {
    super('rate_limited', message, true, details);
    this.retryAfterMs = retryAfterMs;
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/** 5xx, timeout, network failure, or the circuit breaker is open. Retryable later. */
export class SmartleadUnavailableError extends SmartleadError {
  constructor(
    message: string,
    code: Extract<SmartleadErrorCode, 'unavailable' | 'timeout' | 'network' | 'circuit_open'> = 'unavailable',
    details: SmartleadErrorDetails = {},
  ) {
    super(code, message, true, details);
  }
}

/** Any other 4xx: Smartlead refused the request as sent. Not retryable. */
export class SmartleadBadRequestError extends SmartleadError {
  constructor(message: string, details: SmartleadErrorDetails = {}) {
    super('bad_request', message, false, details);
  }
}

/** A 2xx whose body is not what Smartlead documents (not JSON, or fails schema validation). Not retryable. */
export class SmartleadResponseError extends SmartleadError {
  /** Human-readable list of the schema problems (paths and messages, never values). */
  readonly issues: string[];
  constructor(message: string, issues: string[] = [], details: SmartleadErrorDetails = {}) {
    super('invalid_response', message, false, details);
    this.issues = issues;
  }
}

export function isSmartleadError(error: unknown): error is SmartleadError {
  return error instanceof SmartleadError;
}
