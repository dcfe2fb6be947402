import assert from 'node:assert/strict';
import { describeDuration, futureEventMessage, judgeEventTime, REPLAY_WINDOW_MS, STALE_AFTER_MS } from '../../src/domain/eventTiming';

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
  it('remembers idempotency keys far longer than the longest window', () => assert.ok(REPLAY_WINDOW_MS >= 4 * STALE_AFTER_MS));
});
