/**
 * Application errors. One base type carrying a machine code, an HTTP status for the API's error handler,
 * and whether the failure is catastrophic (the process should exit). Domain code throws these, never HTTP objects.
 */
export interface FieldProblem {
  path: string;
  message: string;
}

export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 500,
    readonly options: { catastrophic?: boolean; errors?: FieldProblem[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  get catastrophic(): boolean {
    return this.options.catastrophic ?? false;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, errors: FieldProblem[]) {
    super('validation_failed', message, 422, { errors });
  }
}

export class MalformedRequestError extends AppError {
  constructor(message: string) {
    super('malformed_request', message, 400);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'A valid API key is required: send `Authorization: Bearer <key>`.') {
    super('unauthenticated', message, 401, { headers: { 'www-authenticate': 'Bearer' } });
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string) {
    super('forbidden', message, 403);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super('not_found', message, 404);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super('conflict', message, 409);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(message: string) {
    super('payload_too_large', message, 413);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super('unsupported_media_type', message, 415);
  }
}

export class DependencyUnavailableError extends AppError {
  constructor(dependency: string, cause?: unknown) {
    super('dependency_unavailable', `${dependency} is not reachable right now; retry shortly.`, 503, { cause });
  }
}

export class RateLimitedError extends AppError {
  constructor(retryAfterSeconds: number) {
    super('rate_limited', `Too many requests; retry after ${retryAfterSeconds} s.`, 429, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}

/** A stored secret cannot be decrypted: its key is missing from DRASON_ENCRYPTION_KEYS, or the ciphertext was altered. */
export class SecretUnavailableError extends AppError {
  constructor(message: string, cause?: unknown) {
    super('secret_unavailable', message, 500, { cause });
  }
}
