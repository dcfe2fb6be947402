/** What every endpoint module stands on: a way to send a request under the resilience policy, and id/ack helpers. */
import type { z } from 'zod';
import { SmartleadBadRequestError } from '../errors';
import type { ackSchema } from '../schemas';
import type { RequestSpec } from '../transport';

export interface CallOptions {
  /** Cancels the call (waiting, backoff and the in-flight request). */
  signal?: AbortSignal;
}

export interface EndpointContext {
  /** Sends under the resilience policy and returns the parsed body. */
  request<S extends z.ZodType>(spec: RequestSpec<S>): Promise<z.output<S>>;
  /** Removes the API key from a text that echoes server output. */
  redact(text: string): string;
}

export function idSegment(id: string | number): string {
  const s = String(id).trim();
  if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new TypeError(`Invalid Smartlead id: ${JSON.stringify(s.slice(0, 40))}`);
  return s;
}

export function numericId(id: string | number): number | string {
  const s = idSegment(id);
  return /^\d+$/.test(s) && Number.isSafeInteger(Number(s)) ? Number(s) : s;
}

/** A 2xx that says `ok: false` / `success: false` is a refusal. */
export function assertAck(ctx: EndpointContext, res: z.output<typeof ackSchema>, method: string, path: string): void {
  if (res.ok === false || res.success === false) {
    const err = res.error;
    const why = res.message ?? (typeof err === 'string' ? err : err?.message) ?? 'the request was refused';
    throw new SmartleadBadRequestError(`Smartlead ${method} ${path} refused: ${ctx.redact(why)}`, { method, path, status: 200 });
  }
}
