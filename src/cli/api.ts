/**
 * The CLI's calls to the public API (the same endpoints, roles and audit trail as any other client). A problem+json
 * answer becomes a CommandFailed naming the status and the API's detail; an unreachable API too.
 */
import { cliConfig, type ApiFlags } from './config';
import { CommandFailed, UsageError } from './errors';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are read as the API documents them
export type Json = any;

export interface ApiClient {
  call(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<Json>;
}

/** `token` is an API key or the platform token; `missing` is the usage error when it is not configured. */
export function apiClient(baseUrl: string, token: string | undefined, missing: string): ApiClient {
  const base = baseUrl.replace(/\/+$/, '');
  return {
    async call(method, path, body) {
      if (token === undefined) throw new UsageError(missing);
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new CommandFailed(`could not reach the Drason API at ${base} (${cause?.code ?? cause?.message ?? String(error)})`, { apiUrl: base });
      }
      const text = await res.text();
      let json: Json;
      try {
        json = text === '' ? undefined : JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!res.ok) {
        const fields = Array.isArray(json?.errors) ? ` (${(json.errors as { path: string; message: string }[]).map((e) => `${e.path}: ${e.message}`).join('; ')})` : '';
        const detail = typeof json?.detail === 'string' ? json.detail : text.slice(0, 200);
        throw new CommandFailed(`${method} ${path} answered ${res.status}: ${detail}${fields}`, { status: res.status, problem: json ?? null });
      }
      return json;
    },
  };
}

/** The API as an organization's key sees it (DRASON_API_KEY or --key). */
export function organizationApi(flags: ApiFlags): ApiClient {
  const cfg = cliConfig(flags);
  return apiClient(cfg.DRASON_API_URL, cfg.DRASON_API_KEY, 'an API key is required: set DRASON_API_KEY or pass --key');
}

/** The API with the platform token (DRASON_ADMIN_TOKEN or --admin-token). */
export function platformApi(flags: ApiFlags): ApiClient {
  const cfg = cliConfig(flags);
  return apiClient(cfg.DRASON_API_URL, cfg.DRASON_ADMIN_TOKEN, 'the platform token is required: set DRASON_ADMIN_TOKEN or pass --admin-token');
}
