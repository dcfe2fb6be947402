/**
 * Correlation for logs: what every log line written while serving a request (or running an activity) is tagged with.
 *
 * - HTTP requests: src/api/app.ts runs each request inside `runWithRequestContext`; the organization becomes known
 *   only after authentication, so the context reads it lazily (from `res.locals`, where src/api/auth.ts puts it).
 * - Activities: the Temporal activity context (workflow id, run id, activity type) is read by src/lib/logger.ts.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  requestId: string;
  /** The authenticated organization, once known (undefined before authentication or when it failed). */
  readonly organizationId?: string | undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/** The organization of whatever authenticated a request: an API key or session (`auth`) or a webhook token (`webhook`). */
export function organizationOfLocals(locals: Record<string, unknown>): string | undefined {
  for (const key of ['auth', 'webhook']) {
    const value = locals[key] as { organizationId?: unknown } | undefined;
    if (typeof value?.organizationId === 'string') return value.organizationId;
  }
  return undefined;
}
