import assert from 'node:assert/strict';
import { describeDuration, futureEventMessage, judgeEventTime, outOfRangeEventMessage, STALE_AFTER_MS } from '../../src/domain/eventTiming';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const MIN = 60_000;

describe('event timing (clock skew and staleness)', () => {
  const table: [string, number, string][] = [
    ['now', NOW, 'ok'],
    ['14 minutes ahead (tolerated skew)', NOW + 14 * MIN, 'ok'],
    ['exactly 15 minutes ahead', NOW + 15 * MIN, 'ok'],
    ['16 minutes ahead', NOW + 16 * MIN, 'future'],
    ['6 days old', NOW - 6 * 1440 * MIN, 'ok'],
    ['exactly 7 days old', NOW - STALE_AFTER_MS, 'ok'],
    ['7 days and a minute old', NOW - STALE_AFTER_MS - MIN, 'stale'],
    ['2000-01-01, the earliest plausible time', Date.parse('2000-01-01T00:00:00Z'), 'stale'],
    ['a millisecond before 2000', Date.parse('1999-12-31T23:59:59.999Z'), 'out_of_range'],
    ['the Unix epoch', 0, 'out_of_range'],
    ["JavaScript's smallest date", Date.parse('-271821-04-20T00:00:00.000Z'), 'out_of_range'],
    ['a millisecond before 2100 (only far ahead)', Date.parse('2099-12-31T23:59:59.999Z'), 'future'],
    ['2100-01-01', Date.parse('2100-01-01T00:00:00Z'), 'out_of_range'],
    ["JavaScript's largest date", 8.64e15, 'out_of_range'],
    ['not a time at all (NaN)', Number.NaN, 'out_of_range'],
    ['infinity', Number.POSITIVE_INFINITY, 'out_of_range'],
  ];
  for (const [what, at, kind] of table) it(`${what} → ${kind}`, () => assert.equal(judgeEventTime(at, NOW).kind, kind));

  const durations: [number, string][] = [
    [40 * MIN, '40 min'],
    [120 * MIN, '2 h'],
    [125 * MIN, '2 h 5 min'],
    [3 * 1440 * MIN, '3 days'],
  ];
  for (const [ms, text] of durations) it(`describes ${ms} ms as "${text}"`, () => assert.equal(describeDuration(ms), text));

  it('tells the sender what to fix', () => assert.match(futureEventMessage(125 * MIN), /2 h 5 min ahead of Drason's clock.*15 minutes/));
  it('says which times are plausible', () => assert.match(outOfRangeEventMessage(), /not a plausible time.*2000-01-01T00:00:00\.000Z to before 2100-01-01T00:00:00\.000Z/));
});
