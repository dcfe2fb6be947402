import assert from 'node:assert/strict';
import type { MonitoredEventType } from '../../src/domain/events';
import {
  BUCKET_MS,
  failureRate,
  hardBounceRate,
  summarizeWindows,
  velocity,
  windowCounts,
  type Bucket,
  type RollingCounts,
  type WindowCounts,
} from '../../src/domain/rollingWindows';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

const FIELD: Record<MonitoredEventType, 1 | 2 | 3> = { EmailSent: 1, HardBounce: 2, DeliveryFailure: 3 };

/** The buckets the relay would have written for these events (type, how long before `now`). */
function feed(events: [MonitoredEventType, number][], now = NOW): RollingCounts {
  const byStart = new Map<number, Bucket>();
  for (const [type, agoMs] of events) {
    const start = Math.floor((now - agoMs) / BUCKET_MS) * BUCKET_MS;
    const bucket = byStart.get(start) ?? [start, 0, 0, 0];
    bucket[FIELD[type]] += 1;
    byStart.set(start, bucket);
  }
  return { buckets: [...byStart.values()].sort((a, b) => a[0] - b[0]) };
}

describe('rolling windows', () => {
  const cases: { name: string; events: [MonitoredEventType, number][]; expect: Record<'1h' | '24h' | '7d', WindowCounts> }[] = [
    { name: 'nothing observed', events: [], expect: { '1h': z(), '24h': z(), '7d': z() } },
    {
      name: 'recent events count in every window',
      events: [['EmailSent', 1 * MIN], ['EmailSent', 2 * MIN], ['HardBounce', 3 * MIN], ['DeliveryFailure', 4 * MIN]],
      expect: { '1h': c(2, 1, 1), '24h': c(2, 1, 1), '7d': c(2, 1, 1) },
    },
    {
      name: 'a 3-hour-old bounce leaves the 1h window but not the 24h one',
      events: [['EmailSent', 10 * MIN], ['HardBounce', 3 * HOUR]],
      expect: { '1h': c(1, 0, 0), '24h': c(1, 1, 0), '7d': c(1, 1, 0) },
    },
    {
      name: 'a 3-day-old send counts only in 7d',
      events: [['EmailSent', 3 * DAY]],
      expect: { '1h': z(), '24h': z(), '7d': c(1, 0, 0) },
    },
    {
      name: 'events older than 7 days are ignored',
      events: [['HardBounce', 8 * DAY]],
      expect: { '1h': z(), '24h': z(), '7d': z() },
    },
    {
      name: 'events in the future do not count yet',
      events: [['HardBounce', -2 * HOUR]],
      expect: { '1h': z(), '24h': z(), '7d': z() },
    },
  ];
  for (const t of cases) {
    it(t.name, () => assert.deepEqual(windowCounts(feed(t.events), NOW), t.expect));
  }

  it('moves events out of the 1h window as time passes', () => {
    const counts = feed([['HardBounce', 5 * MIN]]);
    assert.equal(windowCounts(counts, NOW)['1h'].hardBounces, 1);
    assert.equal(windowCounts(counts, NOW + 2 * HOUR)['1h'].hardBounces, 0);
    assert.equal(windowCounts(counts, NOW + 2 * HOUR)['24h'].hardBounces, 1);
  });


  const ratioCases: [WindowCounts, number, number][] = [
    [c(0, 0, 0), 0, 0],
    [c(100, 5, 10), 0.05, 0.1],
    [c(10, 10, 0), 1, 0],
  ];
  for (const [w, bounce, failure] of ratioCases) {
    it(`ratios of ${JSON.stringify(w)}`, () => {
      assert.equal(hardBounceRate(w), bounce);
      assert.equal(failureRate(w), failure);
    });
  }

  it('velocity is short-window ratio minus long-window ratio', () => {
    assert.ok(Math.abs(velocity(c(100, 10, 0), c(1000, 20, 0)) - 0.08) < 1e-12);
    assert.ok(velocity(c(100, 1, 0), c(1000, 20, 0)) < 0, 'improving mailbox has negative velocity');
    assert.ok(Math.abs(velocity(c(10, 0, 2), c(100, 0, 5), failureRate) - 0.15) < 1e-12);
  });

  it('summarizes windows with their rates and velocity (1h rate minus 24h rate)', () => {
    const counts = feed([
      ...Array.from({ length: 90 }, (_, i): [MonitoredEventType, number] => ['EmailSent', 2 * HOUR + i * MIN]),
      ...Array.from({ length: 10 }, (_, i): [MonitoredEventType, number] => ['EmailSent', i * MIN]),
      ['HardBounce', 5 * MIN],
      ['HardBounce', 6 * MIN],
      ['DeliveryFailure', 3 * HOUR],
    ]);
    const summary = summarizeWindows(counts, NOW);
    assert.deepEqual(summary.windows['1h'], c(10, 2, 0));
    assert.deepEqual(summary.windows['24h'], c(100, 2, 1));
    assert.deepEqual(summary.rates['1h'], { hardBounceRate: 0.2, failureRate: 0, reputationRate: 0 });
    assert.deepEqual(summary.rates['24h'], { hardBounceRate: 0.02, failureRate: 0.01, reputationRate: 0 });
    assert.ok(Math.abs(summary.velocity.hardBounceRate - 0.18) < 1e-12, 'getting worse fast');
    assert.ok(Math.abs(summary.velocity.failureRate + 0.01) < 1e-12);
  });

  it('counts reputation blocks (a subset of failures) into their own rate; buckets from before they were kept count 0', () => {
    const start = Math.floor((NOW - 10 * MIN) / BUCKET_MS) * BUCKET_MS;
    const older = start - BUCKET_MS;
    const summary = summarizeWindows({ buckets: [[older, 50, 0, 0], [start, 50, 0, 4, 3]] }, NOW);
    assert.deepEqual(summary.windows['1h'], c(100, 0, 4, 3));
    assert.equal(summary.rates['1h'].reputationRate, 0.03);
    assert.equal(summary.rates['1h'].failureRate, 0.04);
  });

  it('summarizes an entity with no sends as zero rates, never NaN', () => {
    const summary = summarizeWindows({ buckets: [] }, NOW);
    assert.deepEqual(summary.rates['7d'], { hardBounceRate: 0, failureRate: 0, reputationRate: 0 });
    assert.deepEqual(summary.velocity, { hardBounceRate: 0, failureRate: 0 });
  });
});

function c(sent: number, hardBounces: number, failures: number, reputationBlocks = 0): WindowCounts {
  return { sent, hardBounces, failures, reputationBlocks };
}
function z(): WindowCounts {
  return c(0, 0, 0);
}
