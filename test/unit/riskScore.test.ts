import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import { riskScore, type RiskState } from '../../src/domain/riskScore';
import { BUCKET_MS, summarizeWindows, type Bucket, type WindowSummary } from '../../src/domain/rollingWindows';
import type { Thresholds } from '../../src/domain/settings';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const HOUR = 3_600_000;

/** Sends, hard bounces, delivery failures and (of those failures) reputation blocks. */
type Counts = { sent: number; hard?: number; failed?: number; blocked?: number };
const bucket = (start: number, c: Counts): Bucket => [start, c.sent, c.hard ?? 0, (c.failed ?? 0) + (c.blocked ?? 0), c.blocked ?? 0];

/** A mailbox's windows: what it sent in the last hour, and earlier in the day. */
function windows(lastHour: Counts, earlierToday: Counts = { sent: 0 }): WindowSummary {
  const start = Math.floor(NOW / BUCKET_MS) * BUCKET_MS;
  return summarizeWindows({ buckets: [bucket(start - 6 * HOUR, earlierToday), bucket(start, lastHour)] }, NOW);
}

const score = (summary: WindowSummary, state: RiskState = 'healthy', thresholds: Thresholds = DEFAULT_THRESHOLDS): number =>
  riskScore({ summary, state, thresholds }).score;

describe('ExecutionRiskScore', () => {
  // Default thresholds: minSample 30; pause at 5% hard bounces, 10% failures, 3% reputation blocks; velocity warning 2 points.
  const table: [string, WindowSummary, RiskState, number][] = [
    ['no sends at all', windows({ sent: 0 }), 'healthy', 0],
    ['clean sending', windows({ sent: 200 }, { sent: 800 }), 'healthy', 0],
    ['one bounce out of one send (damped: cannot look alarming)', windows({ sent: 1, hard: 1 }), 'healthy', 1],
    ['three bounces out of ten sends (still under the minimum sample)', windows({ sent: 10, hard: 3 }), 'healthy', 10],
    ['hard bounces exactly at the pause threshold, steady all day', windows({ sent: 100, hard: 5 }, { sent: 100, hard: 5 }), 'healthy', 30],
    ['hard bounces at twice the pause threshold (saturated: the same)', windows({ sent: 100, hard: 10 }, { sent: 100, hard: 10 }), 'healthy', 30],
    ['hard bounces at the warning threshold', windows({ sent: 100, hard: 2 }, { sent: 100, hard: 2 }), 'healthy', 12],
    ['a burst of hard bounces this hour (velocity too)', windows({ sent: 100, hard: 5 }, { sent: 900 }), 'warning', 50],
    ['reputation blocks at their pause threshold (3%)', windows({ sent: 100, blocked: 3 }, { sent: 100, blocked: 3 }), 'healthy', 35],
    ['deferrals at the failure pause threshold', windows({ sent: 100, failed: 10 }, { sent: 100, failed: 10 }), 'healthy', 15],
    ['paused, with clean windows', windows({ sent: 0 }, { sent: 0 }), 'paused', 15],
    ['recovering, with clean windows', windows({ sent: 50 }), 'recovering', 5],
    ['paused at or beyond every pause threshold', windows({ sent: 100, hard: 20, blocked: 10 }, { sent: 100 }), 'paused', 100],
  ];
  for (const [what, summary, state, expected] of table) {
    it(`${what} → ${expected}`, () => assert.equal(score(summary, state), expected));
  }

  it('names each part in points, each within its weight', () => {
    const { parts } = riskScore({ summary: windows({ sent: 100, hard: 5, blocked: 1 }, { sent: 900 }), state: 'warning', thresholds: DEFAULT_THRESHOLDS });
    assert.deepEqual(parts, { hardBounces: 30, reputation: 10, failures: 1.5, velocity: 10, state: 10 });
  });

  it('stays an integer from 0 to 100 whatever the input', () => {
    const extremes: Counts[] = [{ sent: 0 }, { sent: 1, hard: 1 }, { sent: 5, hard: 5, failed: 5, blocked: 5 }, { sent: 1e6, hard: 1e6, blocked: 1e6 }, { sent: 1e6 }];
    for (const lastHour of extremes) {
      for (const earlier of extremes) {
        for (const state of ['healthy', 'warning', 'paused', 'recovering'] as const) {
          const s = score(windows(lastHour, earlier), state);
          assert.ok(Number.isInteger(s) && s >= 0 && s <= 100, `${s} for ${JSON.stringify([lastHour, earlier, state])}`);
        }
      }
    }
  });

  it('never goes down when more of the same sends bounce, fail or are blocked', () => {
    for (const sent of [1, 10, 30, 100, 1000]) {
      for (const kind of ['hard', 'failed', 'blocked'] as const) {
        let previous = -1;
        for (let n = 0; n <= sent; n += Math.max(1, Math.floor(sent / 20))) {
          const now = score(windows({ sent, [kind]: n }, { sent: 3 * sent }));
          assert.ok(now >= previous, `${kind}: ${n} of ${sent} scored ${now}, below ${previous}`);
          previous = now;
        }
      }
    }
  });

  it('never goes down when the same bounces come from fewer sends', () => {
    let previous = -1;
    for (const sent of [1000, 500, 200, 100, 60, 30]) {
      const now = score(windows({ sent, hard: 3 }, { sent: 3000 }));
      assert.ok(now >= previous, `3 of ${sent} scored ${now}, below ${previous}`);
      previous = now;
    }
  });

  it('orders the states: healthy < recovering < warning < paused', () => {
    const summary = windows({ sent: 100, hard: 1 }, { sent: 100, hard: 1 });
    const scores = (['healthy', 'recovering', 'warning', 'paused'] as const).map((state) => score(summary, state));
    assert.deepEqual(scores, [...scores].sort((a, b) => a - b));
    assert.equal(new Set(scores).size, 4);
  });

  it("reads the organization's own thresholds: the same windows score higher under stricter ones", () => {
    const summary = windows({ sent: 100, hard: 2 }, { sent: 100, hard: 2 });
    const strict: Thresholds = { ...DEFAULT_THRESHOLDS, hardBounceRate: { warning: 0.01, pause: 0.02 } };
    assert.deepEqual([score(summary), score(summary, 'healthy', strict)], [12, 30]);
    const smallSample: Thresholds = { ...DEFAULT_THRESHOLDS, minSample: 5 };
    assert.deepEqual([score(windows({ sent: 10, hard: 3 })), score(windows({ sent: 10, hard: 3 }), 'healthy', smallSample)], [10, 30], 'a smaller minimum sample believes small windows sooner');
    const zero: Thresholds = { ...DEFAULT_THRESHOLDS, reputationRate: { warning: 0, pause: 0 } };
    assert.equal(riskScore({ summary: windows({ sent: 100, blocked: 1 }, { sent: 100 }), state: 'healthy', thresholds: zero }).parts.reputation, 30, 'a threshold of 0: any block at all saturates');
  });
});
