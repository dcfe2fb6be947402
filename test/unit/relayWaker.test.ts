import assert from 'node:assert/strict';
import type { Db } from '../../src/db/knex';
import { RelayWaker } from '../../src/services/relayWaker';
import { until } from '../support/processes';

/** A database whose NOTIFY calls are recorded and complete only when the test says so. */
function fakeDb(): { db: Db; calls: string[]; finish(): void } {
  const calls: string[] = [];
  const pending: (() => void)[] = [];
  const db = {
    raw: (sql: string, bindings: unknown[]) => {
      calls.push(`${sql} ${JSON.stringify(bindings)}`);
      return new Promise<void>((resolve) => pending.push(resolve));
    },
  } as unknown as Db;
  return { db, calls, finish: () => pending.shift()?.() };
}

describe('RelayWaker: the API wakes the relay without a NOTIFY in the ingesting transaction', () => {
  it('sends one NOTIFY on drason_events for a poke', async () => {
    const { db, calls, finish } = fakeDb();
    const waker = new RelayWaker(db, 0);
    waker.poke();
    await until(async () => (calls.length === 1 ? true : undefined), 5000, 'the notify');
    assert.equal(calls[0], 'select pg_notify(?, ?) ["drason_events",""]');
    finish();
    waker.stop();
  });

  it('covers any number of pokes made before it is sent with one NOTIFY', async () => {
    const { db, calls, finish } = fakeDb();
    let now = 1_000;
    const waker = new RelayWaker(db, 50, () => now);
    for (let i = 0; i < 100; i += 1) waker.poke();
    await until(async () => (calls.length === 1 ? true : undefined), 5000, 'the notify');
    finish();
    now += 1;
    // Settled: no poke since it was sent, so nothing more goes out.
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 1);
    waker.stop();
  });

  it('sends another NOTIFY after the one in flight when poked meanwhile (that commit may be newer than it)', async () => {
    const { db, calls, finish } = fakeDb();
    const waker = new RelayWaker(db, 0);
    waker.poke();
    await until(async () => (calls.length === 1 ? true : undefined), 5000, 'the first notify');
    waker.poke(); // a commit lands while the first NOTIFY is in flight
    waker.poke();
    assert.equal(calls.length, 1, 'not sent twice at once');
    finish();
    await until(async () => (calls.length === 2 ? true : undefined), 5000, 'the second notify');
    finish();
    waker.stop();
  });

  it('keeps going when a NOTIFY fails (the relay polls anyway), and sends nothing once stopped', async () => {
    const calls: number[] = [];
    const db = { raw: () => (calls.push(1), Promise.reject(new Error('connection refused'))) } as unknown as Db;
    const waker = new RelayWaker(db, 0);
    waker.poke();
    await until(async () => (calls.length === 1 ? true : undefined), 5000, 'the failing notify');
    await new Promise((r) => setImmediate(r));
    waker.poke();
    await until(async () => (calls.length === 2 ? true : undefined), 5000, 'a later notify');
    waker.stop();
    waker.poke();
    await new Promise((r) => setImmediate(r));
    assert.equal(calls.length, 2);
  });
});
