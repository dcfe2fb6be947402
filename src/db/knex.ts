/**
 * Knex instances. The application connects as a non-owner role subject to row-level security;
 * migrations connect as the owner role. Repositories return plain objects, never query builders.
 */
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { dbQueryDuration, queryOperation } from '../lib/metrics';

// Return bigint counts and numeric values as JS numbers and timestamps as Date (default), never strings we forget to parse.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

export type Db = Knex;

export interface DbOptions {
  url: string;
  poolMax?: number;
  /** Role that the application connects as; migrations grant it privileges. */
  appRole?: string;
}

export function createDb(options: DbOptions): Db {
  const db = knexFactory({
    client: 'pg',
    connection: { connectionString: options.url, application_name: 'drason' },
    pool: { min: 0, max: options.poolMax ?? 10, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 10_000,
  });
  const scoped = db.withUserParams({ appRole: options.appRole ?? 'drason_app' });
  timeQueries(scoped);
  return scoped;
}

interface QueryEvent {
  __knexQueryUid?: string;
  method?: string;
  sql?: string;
}

/** Query timings kept at once; a query whose answer never comes is dropped past this many (see timeQueries). */
const MAX_QUERIES_IN_FLIGHT = 10_000;

/**
 * Query latency into drason_db_query_duration_seconds, from knex's query / query-response / query-error events:
 * labelled by operation only (the SQL text and its bindings never leave this function).
 */
function timeQueries(db: Knex): void {
  const started = new Map<string, bigint>();
  const done = (query: QueryEvent, outcome: 'ok' | 'error'): void => {
    const uid = query.__knexQueryUid;
    const at = uid === undefined ? undefined : started.get(uid);
    if (uid === undefined || at === undefined) return;
    started.delete(uid);
    dbQueryDuration.observe({ operation: queryOperation(query.method, query.sql), outcome }, Number(process.hrtime.bigint() - at) / 1e9);
  };
  db.on('query', (query: QueryEvent) => {
    if (query.__knexQueryUid === undefined) return;
    // A query whose answer never comes must not stay here for the life of the process: past this many in flight
    // (far more than the pool can run at once) the oldest timings are dropped.
    if (started.size >= MAX_QUERIES_IN_FLIGHT) started.clear();
    started.set(query.__knexQueryUid, process.hrtime.bigint());
  });
  db.on('query-response', (_response: unknown, query: QueryEvent) => done(query, 'ok'));
  db.on('query-error', (_error: unknown, query: QueryEvent) => done(query, 'error'));
}

/** True when a simple query answers within the timeout. */
export async function pingDb(db: Db, timeoutMs = 2000): Promise<boolean> {
  try {
    await db.raw('select 1').timeout(timeoutMs, { cancel: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * The cross-organization counts behind the backlog, lead and integration gauges of /metrics: one call of the narrow
 * SECURITY DEFINER function of migration 015 (counts only), bounded so a slow database never hangs a scrape.
 */
export async function metricsSnapshot(db: Db, timeoutMs = 2000): Promise<{ metric: string; label: string; value: number }[]> {
  const result = (await db.raw('select metric, label, value from drason_metrics_snapshot()').timeout(timeoutMs, { cancel: true })) as {
    rows: { metric: string; label: string; value: number }[];
  };
  return result.rows;
}
