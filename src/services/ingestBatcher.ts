/**
 * Group commit for ingestion: concurrent requests of one organization share one call of `drason_ingest_events` —
 * one round trip, one transaction, one WAL flush — and each request is answered only once that transaction has
 * committed its events. Nothing waits on purpose: a request that finds no call in flight is stored at once (after
 * the current I/O callbacks, so requests parsed together go together); requests that arrive while calls are in
 * flight form the next call. Under load, calls grow by themselves, as the relay's batches do.
 *
 * Why: a stored event costs PostgreSQL far more than the rows it writes (a function call, a transaction, a WAL
 * flush, row-level-security set-up); sharing those across concurrent requests is what lets ingestion approach a
 * bare INSERT's rate (docs/decisions/010-event-pipeline.md).
 *
 * A call that fails for any reason other than an unavailable database is retried request by request (nothing of
 * the failed call was committed), so one request the database refuses never fails the others.
 */
import type { Db } from '../db/knex';
import { creditRequests, ingestEvents, storeEvents, type IngestResult, type NewEvent } from '../db/repositories/events';
import { isDatabaseUnavailable } from '../db/unavailable';

interface Waiting {
  events: NewEvent[];
  resolve: (result: IngestResult) => void;
  reject: (error: unknown) => void;
}

export interface IngestBatcherOptions {
  /** Most events in one call (a request is never split). */
  maxEventsPerCall?: number;
  /** Calls in flight at once per organization. */
  maxCallsInFlight?: number;
}

export class IngestBatcher {
  private readonly waiting = new Map<string, Waiting[]>();
  private readonly inFlight = new Map<string, number>();
  private readonly scheduled = new Set<string>();
  private readonly maxEventsPerCall: number;
  private readonly maxCallsInFlight: number;

  constructor(
    private readonly db: Db,
    options: IngestBatcherOptions = {},
  ) {
    this.maxEventsPerCall = options.maxEventsPerCall ?? 1000;
    this.maxCallsInFlight = options.maxCallsInFlight ?? 2;
  }

  /** Stores one request's events; resolves once they are committed. */
  ingest(organizationId: string, events: NewEvent[]): Promise<IngestResult> {
    return new Promise<IngestResult>((resolve, reject) => {
      const queue = this.waiting.get(organizationId);
      if (queue === undefined) this.waiting.set(organizationId, [{ events, resolve, reject }]);
      else queue.push({ events, resolve, reject });
      if (!this.scheduled.has(organizationId)) {
        this.scheduled.add(organizationId);
        setImmediate(() => {
          this.scheduled.delete(organizationId);
          this.startCalls(organizationId);
        });
      }
    });
  }

  private startCalls(organizationId: string): void {
    const queue = this.waiting.get(organizationId);
    while (queue !== undefined && queue.length > 0 && (this.inFlight.get(organizationId) ?? 0) < this.maxCallsInFlight) {
      const batch: Waiting[] = [];
      let size = 0;
      while (queue.length > 0 && (batch.length === 0 || size + queue[0]!.events.length <= this.maxEventsPerCall)) {
        const next = queue.shift()!;
        size += next.events.length;
        batch.push(next);
      }
      if (queue.length === 0) this.waiting.delete(organizationId);
      this.inFlight.set(organizationId, (this.inFlight.get(organizationId) ?? 0) + 1);
      void this.call(organizationId, batch).finally(() => {
        const left = (this.inFlight.get(organizationId) ?? 1) - 1;
        if (left === 0) this.inFlight.delete(organizationId);
        else this.inFlight.set(organizationId, left);
        this.startCalls(organizationId);
      });
    }
  }

  private async call(organizationId: string, batch: Waiting[]): Promise<void> {
    try {
      const stored = await storeEvents(this.db, organizationId, batch.flatMap((w) => w.events));
      const results = creditRequests(
        batch.map((w) => w.events),
        stored,
      );
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1 || isDatabaseUnavailable(error)) {
        for (const w of batch) w.reject(error);
        return;
      }
      await Promise.all(
        batch.map(async (w) => {
          try {
            w.resolve(await ingestEvents(this.db, organizationId, w.events));
          } catch (alone) {
            w.reject(alone);
          }
        }),
      );
    }
  }
}
