import assert from 'node:assert/strict';
import type { MonitoredEventType } from '../../src/domain/events';
import { bufferEvents, bufferSize, emptyBuffer, noneSeen, tallyBuffer, takeSequences, type SeenSequences } from '../../src/domain/delivery';

describe('delivery: dedupe by event-store sequence', () => {
  const cases: { name: string; seen: SeenSequences; seqs: number[]; max?: number; fresh: boolean[]; after: SeenSequences }[] = [
    { name: 'first delivery: everything is fresh', seen: noneSeen(), seqs: [3, 5, 9], fresh: [true, true, true], after: { through: 0, above: [3, 5, 9] } },
    { name: 'a redelivered batch is dropped whole', seen: { through: 0, above: [3, 5, 9] }, seqs: [3, 5, 9], fresh: [false, false, false], after: { through: 0, above: [3, 5, 9] } },
    { name: 'a repeat inside one signal is taken once', seen: noneSeen(), seqs: [4, 4], fresh: [true, false], after: { through: 0, above: [4] } },
    {
      name: 'a late commit (older number after newer ones) is still taken',
      seen: { through: 0, above: [10, 12] },
      seqs: [11],
      fresh: [true],
      after: { through: 0, above: [10, 11, 12] },
    },
    {
      name: 'past the bound, the oldest numbers fold into the watermark',
      seen: { through: 0, above: [1, 2, 3] },
      seqs: [4, 5],
      max: 3,
      fresh: [true, true],
      after: { through: 2, above: [3, 4, 5] },
    },
    {
      name: 'at or below the watermark counts as seen',
      seen: { through: 20, above: [25] },
      seqs: [20, 7, 21],
      fresh: [false, false, true],
      after: { through: 20, above: [21, 25] },
    },
  ];
  for (const t of cases) {
    it(t.name, () => {
      const result = takeSequences(t.seen, t.seqs, t.max);
      assert.deepEqual(result.fresh, t.fresh);
      assert.deepEqual(result.seen, t.after);
    });
  }

  it('stays small: after 100,000 deliveries it remembers at most MAX_SEEN_ABOVE numbers, and never takes one twice', () => {
    let seen = noneSeen();
    let taken = 0;
    for (let start = 1; start <= 100_000; start += 100) {
      const batch = Array.from({ length: 100 }, (_, i) => start + i);
      // Every batch arrives twice (a redelivery) and the previous one's tail once more (a late repeat).
      for (const seqs of [batch, batch, [start - 1, start - 2].filter((n) => n > 0)]) {
        const r = takeSequences(seen, seqs);
        seen = r.seen;
        taken += r.fresh.filter(Boolean).length;
      }
    }
    assert.equal(taken, 100_000);
    assert.ok(seen.above.length <= 512);
    assert.ok(JSON.stringify(seen).length < 8 * 1024, `${JSON.stringify(seen).length} bytes`);
  });
});

describe('delivery: the bounded buffer', () => {
  const e = (type: MonitoredEventType, seq: number) => ({ type, occurredAt: 0, seq });

  it('keeps events in detail up to the bound and counts the rest by type', () => {
    const buffer = bufferEvents(emptyBuffer(), [e('HardBounce', 1), e('HardBounce', 2), e('DeliveryFailure', 3), e('HardBounce', 4)], 2);
    assert.deepEqual(buffer.events.map((x) => x.seq), [1, 2]);
    assert.deepEqual(buffer.overflow, { DeliveryFailure: 1, HardBounce: 1 });
    assert.equal(bufferSize(buffer), 4, 'nothing is lost, only its detail');
    assert.deepEqual(tallyBuffer(buffer), { HardBounce: 3, DeliveryFailure: 1 });
  });

  it('appends to a partly full buffer without exceeding the bound', () => {
    const once = bufferEvents(emptyBuffer(), [e('HardBounce', 1)], 2);
    const twice = bufferEvents(once, [e('DeliveryFailure', 2), e('DeliveryFailure', 3)], 2);
    assert.deepEqual(twice.events.map((x) => x.seq), [1, 2]);
    assert.deepEqual(twice.overflow, { DeliveryFailure: 1 });
    assert.deepEqual(once.events.length, 1, 'the input is not changed');
  });

  it('an empty buffer holds nothing', () => {
    assert.equal(bufferSize(emptyBuffer()), 0);
    assert.deepEqual(tallyBuffer(emptyBuffer()), {});
  });
});
