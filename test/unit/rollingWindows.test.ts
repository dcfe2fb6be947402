import assert from 'node:assert/strict';
import type { MonitoredEventType } from '../../src/domain/events';
import {
  addEvent,
  emptyCounts,
  failureRate,
  hardBounceRate,
  velocity,
  windowCounts,
  type RollingCounts,
  type WindowCounts,
} from '../../src/domain/rollingWindows';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);

function feed(events: [MonitoredEventType, number][], now = NOW): RollingCounts {
  return events.reduce((c, [type, agoMs]) => addEvent(c, type, now - agoMs, now), emptyCounts());
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

  it('stays bounded: one bucket per 5 minutes, none older than 7 days', () => {
    let counts = emptyCounts();
    for (let t = 0; t < 10 * DAY; t += MIN) counts = addEvent(counts, 'EmailSent', NOW + t, NOW + t);
    assert.ok(counts.buckets.length <= 7 * 24 * 12 + 1, `kept ${counts.buckets.length} buckets`);
    assert.equal(windowCounts(counts, NOW + 10 * DAY)['1h'].sent, 60);
  });

  it('does not mutate its input', () => {
    const before = feed([['EmailSent', MIN]]);
    const snapshot = JSON.stringify(before);
    addEvent(before, 'HardBounce', NOW, NOW);
    assert.equal(JSON.stringify(before), snapshot);
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
});

function c(sent: number, hardBounces: number, failures: number): WindowCounts {
  return { sent, hardBounces, failures };
}
function z(): WindowCounts {
  return c(0, 0, 0);
}
