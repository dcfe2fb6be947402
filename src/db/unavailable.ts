/**
 * Whether an error means PostgreSQL cannot be reached or cannot take work right now (as opposed to refusing a
 * query): the API answers such errors 503 with Retry-After, never 500, so senders retry instead of giving up.
 */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);
/** SQLSTATE classes 08 (connection exception) and 57P (operator intervention: shutdown, crash recovery), 53300 (too many connections). */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-4]|53300)$/;

export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { code?: unknown; name?: unknown; message?: unknown };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || UNAVAILABLE_SQLSTATE.test(e.code))) return true;
  // knex: no pooled connection could be had in time; pg: the server went away mid-query.
  if (e.name === 'KnexTimeoutError') return true;
  return typeof e.message === 'string' && /^Connection terminated( unexpectedly| due to connection timeout)?$/.test(e.message);
}
