/** The mailbox transition table (src/domain/mailboxMachine.ts), one test per row, with an injected clock. */
import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import {
  cooldownMinutes,
  decide,
  initialMachineState,
  judgeWindows,
  nextWake,
  RECHECK_MS,
  type DecisionInput,
  type DecisionSettings,
  type MachineState,
  type Trigger,
} from '../../src/domain/mailboxMachine';
import type { Mode } from '../../src/domain/settings';
import type { WindowCounts, WindowSummary } from '../../src/domain/rollingWindows';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 21, 12, 0);
const MAILBOX = 'sam@acme-mail.com';
const thresholds = { ...DEFAULT_THRESHOLDS, minSample: 20, sustainMinutes: 30, cooldownMinutes: 60, maxCooldownMinutes: 240, probationMinutes: 120 };
const settings = (mode: Mode = 'enforce', over: Partial<typeof thresholds> = {}): DecisionSettings => ({ mode, thresholds: { ...thresholds, ...over }, version: 7 });

const counts = (sent: number, hardBounces = 0, failures = 0, reputationBlocks = 0): WindowCounts => ({ sent, hardBounces, failures, reputationBlocks });
const rates = (w: WindowCounts) => ({
  hardBounceRate: w.sent === 0 ? 0 : w.hardBounces / w.sent,
  failureRate: w.sent === 0 ? 0 : w.failures / w.sent,
  reputationRate: w.sent === 0 ? 0 : (w.reputationBlocks ?? 0) / w.sent,
});
function summary(hour: WindowCounts, day: WindowCounts = hour): WindowSummary {
  return {
    windows: { '1h': hour, '24h': day, '7d': day },
    rates: { '1h': rates(hour), '24h': rates(day), '7d': rates(day) },
    velocity: { hardBounceRate: rates(hour).hardBounceRate - rates(day).hardBounceRate, failureRate: rates(hour).failureRate - rates(day).failureRate },
  };
}

const CLEAN = summary(counts(100));
const WARN = summary(counts(100, 3)); // 3% hard bounces: warning (2%), not pause (5%)
const PAUSE = summary(counts(100, 8)); // 8%: pause level
const input = (windows: WindowSummary, trigger: Trigger = { kind: 'events', signals: ['HardBounce'] }, sinceResume: WindowCounts = counts(0)): DecisionInput => ({
  mailbox: MAILBOX,
  decisionIdPrefix: 'mailbox/org/sam@acme-mail.com@run1',
  windows,
  sinceResume,
  trigger,
});
const state = (over: Partial<MachineState> = {}): MachineState => ({ ...initialMachineState(T0 - 60 * MIN), ...over });
const deadline: Trigger = { kind: 'deadline' };
const kinds = (d: ReturnType<typeof decide>) => d.commands.map((c) => c.kind);

describe('mailbox machine: judging', () => {
  it('judges the last hour when it has the minimum sample, else the last 24 hours, else nothing', () => {
    assert.equal(judgeWindows(summary(counts(20, 2), counts(500, 2)), thresholds).window, '1h');
    assert.equal(judgeWindows(summary(counts(19, 19), counts(500, 2)), thresholds).breach, undefined, '19 sends in the hour: the day (0.4%) is judged');
    assert.equal(judgeWindows(summary(counts(19, 19), counts(500, 2)), thresholds).window, '24h');
    assert.deepEqual(judgeWindows(summary(counts(5, 5), counts(19, 19)), thresholds), {}, 'below the sample everywhere: nothing is judged');
  });

  it('reaching a threshold is a breach; reputation blocks have their own, lower thresholds and come first', () => {
    assert.equal(judgeWindows(summary(counts(100, 2)), thresholds).breach?.level, 'warning');
    assert.equal(judgeWindows(summary(counts(100, 5)), thresholds).breach?.level, 'pause');
    const rep = judgeWindows(summary(counts(100, 0, 3, 3)), thresholds).breach;
    assert.deepEqual([rep?.metric, rep?.level], ['reputationRate', 'pause'], '3 blocks in 100 sends pause, where 3 failures alone would not');
    assert.equal(judgeWindows(summary(counts(100, 0, 5)), thresholds).breach?.metric, 'failureRate');
  });

  it('velocity (last hour minus 24 hours) warns only when both windows have the sample', () => {
    const rising = judgeWindows(summary(counts(100, 1), counts(1000, 0)), { ...thresholds, velocity: { warning: 0.005 } });
    assert.deepEqual([rising.breach?.metric, rising.breach?.level], ['velocity', 'warning']);
    assert.equal(judgeWindows(summary(counts(100, 1), counts(19, 0)), { ...thresholds, velocity: { warning: 0.005 } }).breach, undefined);
  });
});

describe('mailbox machine: transition table', () => {
  it('H1 healthy stays healthy without a breach, and records nothing', () => {
    const d = decide(state(), input(CLEAN), settings(), T0);
    assert.equal(d.next.state, 'healthy');
    assert.deepEqual(d.commands, []);
    assert.equal(d.explanation, undefined);
  });

  it('minimum sample: 19 sends with 19 hard bounces is not judged at all', () => {
    const d = decide(state(), input(summary(counts(19, 19))), settings(), T0);
    assert.equal(d.next.state, 'healthy');
    assert.deepEqual(d.commands, []);
  });

  it('H2 healthy → warning on a warning-level breach, explained with mailbox, metric, value, threshold, window, class and settings version', () => {
    const d = decide(state(), input(WARN), settings(), T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined);
    assert.deepEqual(kinds(d), ['record']);
    const e = d.explanation!;
    assert.equal(e.decisionId, 'mailbox/org/sam@acme-mail.com@run1#1');
    assert.deepEqual(e.trigger, { signals: ['HardBounce'], metric: 'hardBounceRate', observed: 0.03, threshold: 0.02, window: '1h', bounceClass: 'list_quality' });
    assert.equal(
      e.message,
      'Mailbox sam@acme-mail.com moved to warning: hard-bounce rate 3% (3 of 100 sends, class list_quality: the addresses are bad) over the last hour reached the warning threshold 2% (settings version 7).',
    );
    assert.equal(e.settingsVersion, 7);
    assert.equal(d.next.decisions, 1);
  });

  it('H3 healthy → warning with the sustain deadline on a pause-level breach', () => {
    const d = decide(state(), input(PAUSE), settings(), T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, T0 + 30 * MIN);
    assert.match(d.explanation!.message, /will be paused if this lasts until 2026-11-21 12:30 UTC \(sustained 30 minutes\)/);
  });

  it('H4 healthy → paused at once when sustainMinutes is 0', () => {
    const d = decide(state(), input(PAUSE), settings('enforce', { sustainMinutes: 0 }), T0);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.next.cooldownUntil, T0 + 60 * MIN);
    assert.equal(d.explanation!.action, 'mailbox_paused');
    assert.match(d.explanation!.pauseReason ?? '', /hard-bounce rate 8%/);
    assert.ok(d.riskScore >= 45, `a paused mailbox beyond the pause threshold scores high (${d.riskScore})`);
    assert.equal(decide(state(), input(CLEAN), settings(), T0).riskScore, 0);
  });

  it('W1 a breach that clears before the sustained window ends goes back to healthy: no pause, audited', () => {
    const warned = decide(state(), input(PAUSE), settings(), T0).next;
    const d = decide(warned, input(CLEAN), settings(), T0 + 10 * MIN);
    assert.equal(d.next.state, 'healthy');
    assert.equal(d.next.sustainUntil, undefined);
    assert.deepEqual(kinds(d), ['record']);
    assert.equal(d.explanation!.action, 'mailbox_sustain_cancelled');
    assert.match(d.explanation!.message, /healthy again: no threshold reached over the last hour; the pause it would have led to at 2026-11-21 12:30 UTC is cancelled/);
  });

  it('W1 also when the windows fall below the minimum sample', () => {
    const d = decide(state({ state: 'warning' }), input(summary(counts(3, 3))), settings(), T0);
    assert.equal(d.next.state, 'healthy');
    assert.match(d.explanation!.message, /fewer than 20 sends to judge/);
  });

  it('W2 warning stays warning on a warning-level breach, recording nothing', () => {
    const d = decide(state({ state: 'warning' }), input(WARN), settings(), T0);
    assert.equal(d.next.state, 'warning');
    assert.deepEqual(d.commands, []);
  });

  it('W3 warning starts the sustain on a pause-level breach (and pauses at once with sustain 0)', () => {
    const d = decide(state({ state: 'warning' }), input(PAUSE), settings(), T0);
    assert.equal(d.next.sustainUntil, T0 + 30 * MIN);
    assert.match(d.explanation!.message, /stays in warning/);
    assert.equal(decide(state({ state: 'warning' }), input(PAUSE), settings('enforce', { sustainMinutes: 0 }), T0).next.state, 'paused');
  });

  it('W4 while the sustain runs nothing changes, even if the breach eases to warning level', () => {
    const s = state({ state: 'warning', sustainUntil: T0 + 30 * MIN });
    assert.deepEqual(decide(s, input(PAUSE), settings(), T0 + 29 * MIN).commands, []);
    assert.deepEqual(decide(s, input(WARN), settings(), T0 + 29 * MIN).commands, []);
  });

  it('W5 the sustain deadline with the pause-level breach still present pauses', () => {
    const s = state({ state: 'warning', sustainUntil: T0 + 30 * MIN });
    const d = decide(s, input(PAUSE, deadline), settings(), T0 + 30 * MIN);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.next.sustainUntil, undefined);
    assert.deepEqual(d.next.recentPauses, [T0 + 30 * MIN]);
    assert.match(d.explanation!.message, /^Paused mailbox sam@acme-mail.com: hard-bounce rate 8% .* still there when the sustained window ended at 2026-11-21 12:30 UTC; cooldown 1 hour until 2026-11-21 13:30 UTC \(settings version 7\)\.$/);
    assert.deepEqual(d.explanation!.trigger.signals, ['deadline']);
  });

  it('says short (demo) durations and deadlines to the second', () => {
    const s = state({ state: 'warning', sustainUntil: T0 + 15_000 });
    const d = decide(s, input(PAUSE, deadline), settings('enforce', { sustainMinutes: 0.25, cooldownMinutes: 0.25, maxCooldownMinutes: 1.5 }), T0 + 15_000);
    assert.equal(d.next.state, 'paused');
    assert.match(d.explanation!.message, /ended at 2026-11-21 12:00:15 UTC; cooldown 15 seconds until 2026-11-21 12:00:30 UTC/);
  });

  it('W6 the sustain deadline with only a warning-level breach ends the sustain without pausing', () => {
    const s = state({ state: 'warning', sustainUntil: T0 + 30 * MIN });
    const d = decide(s, input(WARN, deadline), settings(), T0 + 30 * MIN);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined);
    assert.equal(d.explanation!.action, 'mailbox_sustain_ended');
  });

  it('P1 a manual hold never resumes by itself', () => {
    const s = state({ state: 'paused', manualHold: { actor: 'ops', reason: 'x', at: T0 } });
    assert.deepEqual(decide(s, input(CLEAN, deadline), settings(), T0 + 10_000 * MIN).commands, []);
    assert.equal(nextWake(s, T0), undefined, 'no deadline to wake for');
  });

  it('P2 a cooldown not over yet keeps it paused', () => {
    const s = state({ state: 'paused', cooldownUntil: T0 + 60 * MIN });
    assert.deepEqual(decide(s, input(CLEAN), settings(), T0 + 59 * MIN).commands, []);
  });

  it('P3 the cooldown over → recovering: unsuspended, probation from now', () => {
    const s = state({ state: 'paused', cooldownUntil: T0 + 60 * MIN, recentPauses: [T0] });
    const d = decide(s, input(PAUSE, deadline), settings(), T0 + 60 * MIN);
    assert.equal(d.next.state, 'recovering');
    assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'automation' }]);
    assert.equal(d.next.resumedAt, T0 + 60 * MIN);
    assert.equal(d.next.probationUntil, T0 + 180 * MIN);
    assert.equal(d.next.cooldownUntil, undefined);
    assert.match(d.explanation!.message, /Resumed mailbox .*: its cooldown ended at 2026-11-21 13:00 UTC; probation until 2026-11-21 15:00 UTC judges only what it sends from now on/);
  });

  const recovering = (over: Partial<MachineState> = {}) =>
    state({ state: 'recovering', resumedAt: T0, probationUntil: T0 + 120 * MIN, recentPauses: [T0 - 60 * MIN], ...over });

  it('C1 a pause-level breach in probation (what was sent since the resume) pauses again, with a doubled cooldown', () => {
    const d = decide(recovering(), input(CLEAN, undefined, counts(40, 4)), settings(), T0 + 30 * MIN);
    assert.equal(d.next.state, 'paused');
    assert.equal(d.next.cooldownUntil, T0 + 30 * MIN + 120 * MIN, 'second pause within 7 days: 2 × 60 minutes');
    assert.match(d.explanation!.message, /again \(relapse during probation\): hard-bounce rate 10% \(4 of 40 sends.*\) over probation \(since the resume at 2026-11-21 12:00 UTC\)/);
    assert.match(d.explanation!.message, /pause 2 within 7 days of the previous one/);
  });

  it('C1 needs the minimum sample within probation too', () => {
    assert.deepEqual(decide(recovering(), input(CLEAN, undefined, counts(19, 19)), settings(), T0 + 30 * MIN).commands, []);
  });

  it('C2 probation over without a breach → healthy; below the sample counts as nothing against it', () => {
    const d = decide(recovering(), input(CLEAN, deadline, counts(200, 1)), settings(), T0 + 120 * MIN);
    assert.equal(d.next.state, 'healthy');
    assert.equal(d.next.probationUntil, undefined);
    assert.equal(d.next.resumedAt, T0, 'windows keep judging only what came after the resume');
    assert.match(d.explanation!.message, /passed probation and is healthy again: 200 sends since the resume stayed under every threshold/);
    assert.match(decide(recovering(), input(CLEAN, deadline, counts(3)), settings(), T0 + 120 * MIN).explanation!.message, /fewer than 20 sends since the resume/);
  });

  it('C3 probation over with a warning-level breach → warning', () => {
    const d = decide(recovering(), input(CLEAN, deadline, counts(100, 3)), settings(), T0 + 120 * MIN);
    assert.equal(d.next.state, 'warning');
    assert.match(d.explanation!.message, /finished probation in warning/);
  });

  it('C4 recovering stays recovering before probation ends, even with a warning-level breach', () => {
    assert.deepEqual(decide(recovering(), input(CLEAN, undefined, counts(100, 3)), settings(), T0 + 60 * MIN).commands, []);
  });
});

describe('mailbox machine: cooldown growth', () => {
  it('doubles for each pause within 7 days of the previous one and stops at maxCooldownMinutes', () => {
    const day = 24 * 60 * MIN;
    assert.equal(cooldownMinutes([], T0, thresholds), 60);
    assert.equal(cooldownMinutes([T0 - day], T0, thresholds), 120);
    assert.equal(cooldownMinutes([T0 - 3 * day, T0 - day], T0, thresholds), 240);
    assert.equal(cooldownMinutes([T0 - 4 * day, T0 - 3 * day, T0 - day], T0, thresholds), 240, 'capped');
    assert.equal(cooldownMinutes([T0 - 20 * day, T0 - day], T0, thresholds), 120, 'the chain breaks at a gap over 7 days');
    assert.equal(cooldownMinutes([T0 - 8 * day], T0, thresholds), 60);
  });

  it('keeps a bounded list of recent pauses', () => {
    let s = state();
    for (let i = 0; i < 40; i += 1) {
      s = decide({ ...s, state: 'healthy', cooldownUntil: undefined }, input(PAUSE), settings('enforce', { sustainMinutes: 0 }), T0 + i * MIN).next;
    }
    assert.equal(s.recentPauses.length, 16);
    assert.equal(s.cooldownUntil, T0 + 39 * MIN + 240 * MIN, 'at the cap');
  });
});

describe('mailbox machine: manual overrides', () => {
  const override = (action: 'pause' | 'resume'): Trigger => ({ kind: 'override', action, reason: 'list looks bad', actor: 'api-key:ops', commandId: 'c1' });

  for (const mode of ['enforce', 'observe', 'suggest'] as const) {
    it(`M1 a manual pause in ${mode} mode suspends and holds until a manual resume`, () => {
      const d = decide(state({ state: 'warning', sustainUntil: T0 + 10 * MIN }), input(PAUSE, override('pause')), settings(mode), T0);
      assert.equal(d.next.state, 'paused');
      assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'override' }]);
      assert.equal(d.next.sustainUntil, undefined);
      assert.deepEqual(d.next.manualHold, { actor: 'api-key:ops', reason: 'list looks bad', at: T0 });
      assert.equal(d.explanation!.actor, 'api-key:ops');
      assert.deepEqual(d.next.recentPauses, [], 'a manual pause does not grow the automatic cooldown');
      assert.deepEqual(decide(d.next, input(CLEAN, deadline), settings(mode), T0 + 100_000 * MIN).commands, []);
    });

    it(`M2 a manual resume in ${mode} mode unsuspends and starts a fresh probation judged only on what follows`, () => {
      const held = state({ state: 'paused', manualHold: { actor: 'x', reason: 'y', at: T0 - MIN } });
      const d = decide(held, input(PAUSE, override('resume')), settings(mode), T0);
      assert.equal(d.next.state, 'recovering');
      assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'override' }]);
      assert.equal(d.next.manualHold, undefined);
      assert.equal(d.next.resumedAt, T0);
      assert.equal(d.next.probationUntil, T0 + 120 * MIN);
      assert.equal(d.explanation!.action, 'mailbox_resumed_manually');
    });
  }

  it('M3 a manual resume of a healthy mailbox makes sure it is unsuspended and changes no state', () => {
    const d = decide(state(), input(CLEAN, override('resume')), settings(), T0);
    assert.equal(d.next.state, 'healthy');
    assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'override' }]);
  });

  it('a manual pause supersedes a pending recommendation', () => {
    const s = state({ state: 'warning', pendingRecommendation: { decisionId: 'd#1', action: 'pause' } });
    const d = decide(s, input(PAUSE, override('pause')), settings('suggest'), T0);
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'override' }, { kind: 'supersede_recommendation', decisionId: 'd#1' }]);
    assert.equal(d.next.pendingRecommendation, undefined);
  });
});

describe('mailbox machine: modes', () => {
  it('observe runs the same table but only says what it would have done', () => {
    const d = decide(state({ state: 'warning', sustainUntil: T0 }), input(PAUSE, deadline), settings('observe'), T0);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'would_have', action: 'pause' }]);
    assert.equal(d.explanation!.action, 'mailbox_would_pause');
    assert.match(d.explanation!.message, /^Would have paused mailbox sam@acme-mail.com \(observe mode: nothing changed in Smartlead\)/);
    assert.match(d.explanation!.pauseReason ?? '', /^Observe mode, still sending in Smartlead/);
    const r = decide(d.next, input(CLEAN, deadline), settings('observe'), d.next.cooldownUntil!);
    assert.equal(r.next.state, 'recovering');
    assert.deepEqual(r.commands, [{ kind: 'would_have', action: 'resume' }]);
  });

  it('suggest recommends a pause and waits in warning; applying it pauses as enforce would (A1)', () => {
    const d = decide(state({ state: 'warning', sustainUntil: T0 }), input(PAUSE, deadline), settings('suggest'), T0);
    assert.equal(d.next.state, 'warning');
    assert.deepEqual(d.commands, [{ kind: 'recommend', action: 'pause' }]);
    assert.deepEqual(d.next.pendingRecommendation, { decisionId: d.explanation!.decisionId, action: 'pause' });
    assert.equal(d.next.sustainUntil, undefined);
    assert.match(d.explanation!.message, /^Recommends pausing mailbox sam@acme-mail.com: .*It stays warning until an operator applies the recommendation/);
    assert.deepEqual(decide(d.next, input(PAUSE, deadline), settings('suggest'), T0 + 5 * MIN).commands, [], 'one recommendation, not one per decision');

    const applied: Trigger = { kind: 'recommendation_applied', decisionId: d.explanation!.decisionId, recommendationId: 'r1', actor: 'api-key:ops' };
    const a = decide(d.next, input(PAUSE, applied), settings('suggest'), T0 + 10 * MIN);
    assert.equal(a.next.state, 'paused');
    assert.deepEqual(a.commands, [
      { kind: 'suspend', via: 'recommendation' },
      { kind: 'resolve_recommendation', decisionId: d.explanation!.decisionId, status: 'applied', actor: 'api-key:ops' },
    ]);
    assert.equal(a.explanation!.actor, 'api-key:ops');
    assert.equal(a.next.pendingRecommendation, undefined);
  });

  it('suggest recommends the resume after the cooldown and stays paused until applied (A2)', () => {
    const s = state({ state: 'paused', cooldownUntil: T0 });
    const d = decide(s, input(CLEAN, deadline), settings('suggest'), T0);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'recommend', action: 'resume' }]);
    assert.equal(nextWake(d.next, T0), undefined, 'nothing to wake for until it is applied');
    const a = decide(d.next, input(CLEAN, { kind: 'recommendation_applied', decisionId: d.explanation!.decisionId, recommendationId: 'r', actor: 'ops' }), settings('suggest'), T0 + 60 * MIN);
    assert.equal(a.next.state, 'recovering');
    assert.deepEqual(a.commands, [
      { kind: 'unsuspend', via: 'recommendation' },
      { kind: 'resolve_recommendation', decisionId: d.explanation!.decisionId, status: 'applied', actor: 'ops' },
    ]);
    assert.equal(a.next.resumedAt, T0 + 60 * MIN);
  });

  it('A3 an applied recommendation that no longer applies changes nothing and says so', () => {
    const d = decide(state(), input(CLEAN, { kind: 'recommendation_applied', decisionId: 'old#3', recommendationId: 'r', actor: 'ops' }), settings('suggest'), T0);
    assert.equal(d.next.state, 'healthy');
    assert.deepEqual(d.commands, [{ kind: 'resolve_recommendation', decisionId: 'old#3', status: 'superseded', actor: 'ops' }], 'it no longer reads as pending');
    assert.equal(d.explanation!.action, 'recommendation_not_applicable');
  });

  it('a pending recommendation is superseded when the breach clears', () => {
    const s = state({ state: 'warning', pendingRecommendation: { decisionId: 'd#4', action: 'pause' } });
    const d = decide(s, input(CLEAN), settings('suggest'), T0);
    assert.equal(d.next.state, 'healthy');
    assert.deepEqual(d.commands, [{ kind: 'record' }, { kind: 'supersede_recommendation', decisionId: 'd#4' }]);
  });

  it('S1 after a switch from suggest to enforce the pending recommendation is superseded and the machine acts', () => {
    const s = state({ state: 'paused', cooldownUntil: T0 - MIN, pendingRecommendation: { decisionId: 'd#5', action: 'resume' } });
    const d = decide(s, input(CLEAN, { kind: 'settings_changed', version: 8 }), settings('enforce'), T0);
    assert.equal(d.next.state, 'recovering');
    assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'automation' }, { kind: 'supersede_recommendation', decisionId: 'd#5' }]);
    assert.deepEqual(d.explanation!.trigger.signals, ['settings_changed']);
  });
});

describe('mailbox machine: waking', () => {
  it('wakes at the nearest future deadline, and re-checks warning and recovering every bucket so windows decay', () => {
    assert.equal(nextWake(state(), T0), undefined);
    assert.equal(nextWake(state({ state: 'warning' }), T0), T0 + RECHECK_MS);
    assert.equal(nextWake(state({ state: 'warning', sustainUntil: T0 + MIN }), T0), T0 + MIN);
    assert.equal(nextWake(state({ state: 'paused', cooldownUntil: T0 + 60 * MIN }), T0), T0 + 60 * MIN);
    assert.equal(nextWake(state({ state: 'paused', cooldownUntil: T0 - MIN }), T0), undefined, 'a passed deadline never makes it spin');
  });
});

describe('mailbox machine: per-organization switches (thresholds.features)', () => {
  const off = (feature: 'velocity' | 'reputationClass'): Partial<typeof thresholds> => ({ features: { ...DEFAULT_THRESHOLDS.features, [feature]: false } });
  const RISING = summary(counts(100, 1), counts(1000, 0)); // 1h 1%, 24h 0.1%: velocity 0.9 points
  const BLOCKED = summary(counts(100, 0, 3, 3)); // 3 reputation blocks (also failures) in 100 sends
  const table: [what: string, windows: WindowSummary, over: Partial<typeof thresholds>, to: string, metric: string | undefined][] = [
    ['velocity on: a sudden rise warns', RISING, { velocity: { warning: 0.005 } }, 'warning', 'velocity'],
    ['velocity off: the same rise is no breach', RISING, { velocity: { warning: 0.005 }, ...off('velocity') }, 'healthy', undefined],
    ['reputation class on: 3% blocks pause-level', BLOCKED, {}, 'warning', 'reputationRate'],
    ['reputation class off: the blocks count only as failures (3% < 5%)', BLOCKED, off('reputationClass'), 'healthy', undefined],
    ['velocity off leaves hard bounces alone', PAUSE, off('velocity'), 'warning', 'hardBounceRate'],
  ];
  for (const [what, windows, over, to, metric] of table) {
    it(what, () => {
      const d = decide(state(), input(windows), settings('enforce', over), T0);
      assert.equal(d.next.state, to);
      assert.equal(d.judged.breach?.metric, metric);
    });
  }

  it('says in the sentence which judgement is off, and lowers the risk score by what it no longer counts', () => {
    const on = decide(state({ state: 'warning' }), input(RISING), settings('enforce', { velocity: { warning: 0.005 } }), T0);
    const d = decide(state({ state: 'warning' }), input(RISING), settings('enforce', { velocity: { warning: 0.005 }, ...off('velocity') }), T0);
    assert.equal(on.commands.length, 0, 'on: stays in warning (W2)');
    assert.equal(d.next.state, 'healthy');
    assert.equal(d.explanation!.message, 'Mailbox sam@acme-mail.com is healthy again: no threshold reached over the last hour (settings version 7; velocity judgement is off for this organization).');
    assert.ok(d.riskScore < on.riskScore, `${d.riskScore} < ${on.riskScore}`);
  });

  it('with every switch on (or absent, as in histories recorded before them) decides exactly as before', () => {
    const { features: _absent, ...before } = thresholds;
    for (const w of [CLEAN, WARN, PAUSE, RISING, BLOCKED]) {
      for (const s of [state(), state({ state: 'warning', sustainUntil: T0 - MIN }), state({ state: 'recovering', resumedAt: T0 - 200 * MIN, probationUntil: T0 - MIN })]) {
        const withSwitches = decide(s, input(w), settings('enforce'), T0);
        const without = decide(s, input(w), { mode: 'enforce', thresholds: before as typeof thresholds, version: 7 }, T0);
        assert.deepEqual(without, withSwitches);
        assert.doesNotMatch(withSwitches.explanation?.message ?? '', /off for this organization/);
      }
    }
  });
});
