/**
 * Wakes the relay after ingestion stored countable events: a NOTIFY on `drason_events`, sent by the API process
 * outside the ingesting transaction and at most once per `minIntervalMs`.
 *
 * Why not NOTIFY inside the ingestion transaction: PostgreSQL takes a database-wide lock at the commit of every
 * transaction that notified, so all ingestions queued behind one another's WAL flush (measured by `npm run bench`:
 * `Lock:object` was most of PostgreSQL's waiting, and ingestion stalled at a fraction of a bare INSERT's rate).
 * Throttled here, a busy API sends ~50 notifications a second whatever its request rate.
 *
 * No commit goes unannounced: a poke while a notification is scheduled is covered by it (it runs after this commit);
 * a poke while one is in flight sends another afterwards (the one in flight may have reached the relay before this
 * commit). A lost notification costs at most the relay's poll interval.
 */
import type { Db } from '../db/knex';
import { componentLogger } from '../lib/logger';
import { EVENTS_CHANNEL } from './eventRelay';

const log = componentLogger('relay-waker');

export class RelayWaker {
  private state: 'idle' | 'scheduled' | 'sending' = 'idle';
  private pokedWhileSending = false;
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly minIntervalMs = 20,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call after a transaction that queued events has committed. */
  poke(): void {
    if (this.stopped) return;
    if (this.state === 'sending') {
      this.pokedWhileSending = true;
      return;
    }
    if (this.state === 'scheduled') return;
    this.state = 'scheduled';
    const wait = Math.max(0, this.lastSentAt + this.minIntervalMs - this.now());
    this.timer = setTimeout(() => void this.send(), wait);
    this.timer.unref();
  }

  private async send(): Promise<void> {
    this.timer = undefined;
    this.state = 'sending';
    this.pokedWhileSending = false;
    try {
      await this.db.raw('select pg_notify(?, ?)', [EVENTS_CHANNEL, '']);
    } catch (error) {
      log.debug('could not notify the relay; it will find the events at its next poll', { error: String(error) });
    }
    this.lastSentAt = this.now();
    this.state = 'idle';
    if (this.pokedWhileSending) this.poke();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}
