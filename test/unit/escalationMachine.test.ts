/** Campaign and domain escalation (src/domain/escalationMachine.ts) on the shared transition table, with an injected clock. */
import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import { decideEscalation, memberDegraded, type DegradedMember, type EscalationDecisionInput, type EscalationKind, type MemberReport } from '../../src/domain/escalationMachine';
import { decide, initialMachineState, nextWake, RECHECK_MS, type Decision, type DecisionSettings, type MachineState, type Trigger } from '../../src/domain/mailboxMachine';
import type { Mode } from '../../src/domain/settings';
import { BUCKET_MS, summarizeWindows, type WindowCounts, type WindowSummary } from '../../src/domain/rollingWindows';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.UTC(2026, 10, 21, 12, 0);
const thresholds = {
  ...DEFAULT_THRESHOLDS,
  minSample: 20,
  sustainMinutes: 30,
  cooldownMinutes: 60,
  maxCooldownMinutes: 240,
  probationMinutes: 120,
  campaignDegradedMailboxes: 2,
  domainDegradedMailboxes: 2,
  escalationLoopPauses: 3,
};
type Over = Partial<typeof thresholds>;
const settings = (mode: Mode = 'enforce', over: Over = {}, detectLoops?: boolean): DecisionSettings => ({
  mode,
  thresholds: { ...thresholds, ...over },
  version: 7,
  ...(detectLoops === undefined ? {} : { detectLoops }),
});

const counts = (sent: number, hardBounces = 0): WindowCounts => ({ sent, hardBounces, failures: 0, reputationBlocks: 0 });
/** The entity's own windows: one bucket in the last hour (so the 1h and 24h windows hold the same sends). */
const windows = (sent: number, hardBounces = 0): WindowSummary => summarizeWindows({ buckets: [[T0 - BUCKET_MS, sent, hardBounces, 0, 0]] }, T0);
const QUIET = windows(0); // nothing sent: nothing of its own to judge
const OWN_WARN = windows(100, 3); // 3% hard bounces: warning level
const OWN_PAUSE = windows(100, 8); // 8%: pause level

const ANN = 'ann@acme-mail.com';
const BOB = 'bob@acme-mail.com';
const CAL = 'cal@acme-mail.com';
const member = (mailbox: string, state: DegradedMember['state'] = 'paused', campaigns: string[] = ['123']): DegradedMember => ({ mailbox, state, campaigns });

const events: Trigger = { kind: 'events', signals: ['member_state'] };
const deadline: Trigger = { kind: 'deadline' };
const override = (action: 'pause' | 'resume'): Trigger => ({ kind: 'override', action, reason: 'list looks bad', actor: 'api-key:ops', commandId: 'c1' });

interface Case {
  degraded?: DegradedMember[];
  windows?: WindowSummary;
  sinceResume?: WindowCounts;
  trigger?: Trigger;
}
const entityInput = (kind: EscalationKind, c: Case): EscalationDecisionInput => ({
  kind,
  key: kind === 'campaign' ? '123' : 'acme-mail.com',
  label: kind === 'campaign' ? '123 ("Q4 CTOs")' : 'acme-mail.com',
  decisionIdPrefix: `${kind}/org/${kind === 'campaign' ? '123' : 'acme-mail.com'}@run1`,
  windows: c.windows ?? QUIET,
  sinceResume: c.sinceResume ?? counts(0),
  degraded: c.degraded ?? [],
  trigger: c.trigger ?? events,
});
const campaign = (s: MachineState, c: Case, now: number, set: DecisionSettings = settings()): Decision => decideEscalation(s, entityInput('campaign', c), set, now);
const domain = (s: MachineState, c: Case, now: number, set: DecisionSettings = settings()): Decision => decideEscalation(s, entityInput('domain', c), set, now);

const state = (over: Partial<MachineState> = {}): MachineState => ({ ...initialMachineState(T0 - 60 * MIN), ...over });
const kinds = (d: Decision) => d.commands.map((c) => c.kind);
const TWO = [member(ANN, 'warning'), member(BOB, 'paused')];

describe('escalation: what counts as a degraded mailbox', () => {
  const table: [EscalationKind, MemberReport['state'], boolean, boolean][] = [
    ['campaign', 'warning', false, true],
    ['campaign', 'paused', false, true],
    ['campaign', 'paused', true, false],
    ['campaign', 'recovering', false, false],
    ['campaign', 'healthy', false, false],
    ['domain', 'paused', false, true],
    ['domain', 'paused', true, false],
    ['domain', 'warning', false, false],
    ['domain', 'recovering', false, false],
    ['domain', 'healthy', false, false],
  ];
  for (const [kind, s, manual, expected] of table) {
    it(`a ${manual ? 'manually ' : ''}${s} mailbox ${expected ? 'counts' : 'does not count'} against its ${kind}`, () => {
      assert.equal(memberDegraded(kind, { state: s, manual }), expected);
    });
  }
});

describe('campaign escalation: mailbox first, campaign next', () => {
  it('one degraded mailbox only moves the campaign to warning, and it never pauses for it', () => {
    const d = campaign(state(), { degraded: [member(ANN)] }, T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined, 'no pause is on its way');
    assert.deepEqual(kinds(d), ['record']);
    assert.equal(d.explanation!.action, 'campaign_warning');
    assert.deepEqual(d.explanation!.trigger.mailboxes, [ANN]);
    assert.match(d.explanation!.message, /^Campaign 123 \("Q4 CTOs"\) moved to warning: 1 of its mailboxes is degraded \(ann@acme-mail.com \(paused\)\), below the 2/);
    assert.deepEqual(campaign(d.next, { degraded: [member(ANN)], trigger: deadline }, T0 + DAY).commands, [], 'a day later: still only warning');
  });

  it('one degraded mailbox while the campaign’s own sends are at a pause threshold: warning, the mailbox is handled first', () => {
    const d = campaign(state(), { degraded: [member(ANN)], windows: OWN_PAUSE }, T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined);
    assert.deepEqual(d.explanation!.trigger.mailboxes, [ANN]);
    assert.equal(d.explanation!.trigger.metric, 'hardBounceRate');
    assert.match(d.explanation!.message, /its own hard-bounce rate 8% \(8 of 100 sends\) over the last hour reached the pause threshold 5%, but mailbox ann@acme-mail.com \(paused\) is already handled on its own \(mailbox first/);
    const later = campaign(d.next, { degraded: [member(ANN)], windows: OWN_PAUSE, trigger: deadline }, T0 + 60 * MIN);
    assert.deepEqual(later.commands, [], 'still not paused after the sustain time');
    assert.equal(later.next.state, 'warning');
  });

  it('two degraded mailboxes move the campaign to warning with a pause deadline', () => {
    const d = campaign(state(), { degraded: TWO }, T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, T0 + 30 * MIN);
    assert.equal(d.explanation!.action, 'campaign_warning');
    assert.deepEqual(d.explanation!.trigger, { signals: ['member_state'], metric: 'degradedMailboxes', observed: 2, threshold: 2, window: 'members', mailboxes: [ANN, BOB] });
    assert.match(d.explanation!.message, /will be paused if this lasts until 2026-11-21 12:30 UTC \(sustained 30 minutes\)/);
  });

  it('two degraded mailboxes still there at the deadline pause the campaign in Smartlead, naming them', () => {
    const warned = campaign(state(), { degraded: TWO }, T0).next;
    const d = campaign(warned, { degraded: TWO, trigger: deadline }, T0 + 30 * MIN);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.next.cooldownUntil, T0 + 90 * MIN);
    assert.deepEqual(d.next.recentPauses, [T0 + 30 * MIN]);
    const e = d.explanation!;
    assert.equal(e.action, 'campaign_paused');
    assert.deepEqual([e.from, e.to], ['warning', 'paused']);
    assert.deepEqual(e.trigger.mailboxes, [ANN, BOB]);
    assert.match(e.message, /^Paused campaign 123 \("Q4 CTOs"\): 2 of its mailboxes are degraded \(ann@acme-mail.com \(warning\), bob@acme-mail.com \(paused\)\)/);
    assert.match(e.message, /cooldown 1 hour until 2026-11-21 13:30 UTC \(settings version 7\)\.$/);
    assert.match(e.pauseReason ?? '', /ann@acme-mail.com .*bob@acme-mail.com/);
  });

  it('back to one degraded mailbox before the deadline: no pause (the sustain runs out in warning)', () => {
    const warned = campaign(state(), { degraded: TWO }, T0).next;
    assert.deepEqual(campaign(warned, { degraded: [member(BOB)] }, T0 + 10 * MIN).commands, [], 'the sustain keeps running');
    const d = campaign(warned, { degraded: [member(BOB)], trigger: deadline }, T0 + 30 * MIN);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined);
    assert.deepEqual(kinds(d), ['record']);
    assert.equal(d.explanation!.action, 'campaign_sustain_ended');
  });

  it('no degraded mailbox left before the deadline: healthy again, the pause is cancelled', () => {
    const warned = campaign(state(), { degraded: TWO }, T0).next;
    const d = campaign(warned, {}, T0 + 10 * MIN);
    assert.equal(d.next.state, 'healthy');
    assert.equal(d.next.sustainUntil, undefined);
    assert.equal(d.explanation!.action, 'campaign_sustain_cancelled');
    assert.match(d.explanation!.message, /healthy again: none of its mailboxes is degraded; the pause it would have led to at 2026-11-21 12:30 UTC is cancelled/);
  });

  it('spread thin: the campaign’s own sends at a pause threshold with no degraded mailbox pause it after the sustain', () => {
    const warned = campaign(state(), { windows: OWN_PAUSE }, T0);
    assert.equal(warned.next.sustainUntil, T0 + 30 * MIN);
    const d = campaign(warned.next, { windows: OWN_PAUSE, trigger: deadline }, T0 + 30 * MIN);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.explanation!.action, 'campaign_paused');
    assert.deepEqual(d.explanation!.trigger, { signals: ['deadline'], metric: 'hardBounceRate', observed: 0.08, threshold: 0.05, window: '1h', bounceClass: 'list_quality' });
  });

  it('the campaign’s own sends at a warning threshold only warn, with or without a degraded mailbox', () => {
    for (const degraded of [[], [member(ANN)]]) {
      const d = campaign(state(), { degraded, windows: OWN_WARN }, T0, settings('enforce', { sustainMinutes: 0 }));
      assert.equal(d.next.state, 'warning', `${degraded.length} degraded`);
      assert.equal(d.next.sustainUntil, undefined);
      assert.equal(d.explanation!.trigger.metric, 'hardBounceRate');
    }
  });

  it('sustainMinutes 0: two degraded mailboxes pause the campaign at once, from healthy or warning', () => {
    for (const from of [state(), state({ state: 'warning' })]) {
      const d = campaign(from, { degraded: TWO }, T0, settings('enforce', { sustainMinutes: 0 }));
      assert.equal(d.next.state, 'paused', `from ${from.state}`);
      assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
      assert.equal(d.explanation!.action, 'campaign_paused');
    }
  });
});

describe('domain escalation: the last resort', () => {
  it('two paused mailboxes sending for one campaign only warn the domain: that campaign’s problem', () => {
    const degraded = [member(ANN, 'paused', ['123']), member(BOB, 'paused', ['123'])];
    const d = domain(state(), { degraded }, T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined);
    assert.equal(d.explanation!.action, 'domain_warning');
    assert.deepEqual(d.explanation!.trigger.mailboxes, [ANN, BOB]);
    assert.match(d.explanation!.message, /^Domain acme-mail.com moved to warning: 2 of its mailboxes are paused .* all sending for campaign 123: left to the campaign level/);
    for (const s of [0, 30]) {
      const later = domain(d.next, { degraded, trigger: deadline }, T0 + DAY, settings('enforce', { sustainMinutes: s }));
      assert.deepEqual(later.commands, [], `never paused (sustainMinutes ${s})`);
    }
  });

  it('two paused mailboxes across two campaigns: sustain, then the domain is paused', () => {
    const degraded = [member(ANN, 'paused', ['123']), member(BOB, 'paused', ['456'])];
    const warned = domain(state(), { degraded }, T0);
    assert.equal(warned.next.state, 'warning');
    assert.equal(warned.next.sustainUntil, T0 + 30 * MIN);
    const d = domain(warned.next, { degraded, trigger: deadline }, T0 + 30 * MIN);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.explanation!.action, 'domain_paused');
    assert.deepEqual(d.explanation!.trigger.mailboxes, [ANN, BOB]);
    assert.match(d.explanation!.message, /^Paused domain acme-mail.com: 2 of its mailboxes are paused for their own bounces \(ann@acme-mail.com, bob@acme-mail.com\) across campaigns 123, 456/);
  });

  it('mailboxes in warning do not count toward a domain pause', () => {
    const reports: MemberReport[] = [
      { mailbox: ANN, state: 'warning', manual: false, at: T0 },
      { mailbox: BOB, state: 'warning', manual: false, at: T0 },
      { mailbox: CAL, state: 'paused', manual: true, at: T0 },
    ];
    const degraded = reports.filter((r) => memberDegraded('domain', r)).map((r, i) => member(r.mailbox, r.state, [String(100 + i)]));
    assert.deepEqual(degraded, []);
    const d = domain(state(), { degraded }, T0);
    assert.equal(d.next.state, 'healthy');
    assert.deepEqual(d.commands, []);
  });

  it('the domain’s own sends at a pause threshold only warn, even with sustainMinutes 0', () => {
    const d = domain(state(), { windows: OWN_PAUSE }, T0);
    assert.equal(d.next.state, 'warning');
    assert.equal(d.next.sustainUntil, undefined);
    assert.match(d.explanation!.message, /\(the domain as a whole; it pauses only when paused mailboxes span campaigns\)/);
    assert.deepEqual(domain(d.next, { windows: OWN_PAUSE, trigger: deadline }, T0 + 60 * MIN).commands, []);
    assert.equal(domain(state(), { windows: OWN_PAUSE }, T0, settings('enforce', { sustainMinutes: 0 })).next.state, 'warning');
  });
});

describe('campaign and domain recovery', () => {
  const paused = state({ state: 'paused', since: T0 - 60 * MIN, cooldownUntil: T0, recentPauses: [T0 - 60 * MIN] });

  it('at the end of the cooldown a campaign whose mailboxes are still degraded stays paused and looks again every bucket', () => {
    const d = campaign(paused, { degraded: TWO, trigger: deadline }, T0);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, []);
    assert.equal(nextWake(d.next, T0, true), T0 + RECHECK_MS);
    assert.equal(nextWake(paused, T0 - 10 * MIN, true), T0, 'before the end of the cooldown it wakes at the end');
  });

  it('at the end of the cooldown a domain whose paused mailboxes still span campaigns stays paused', () => {
    const d = domain(paused, { degraded: [member(ANN, 'paused', ['123']), member(BOB, 'paused', ['456'])], trigger: deadline }, T0 + 5 * MIN);
    assert.deepEqual(d.commands, []);
    assert.equal(d.next.state, 'paused');
  });

  it('once its mailboxes have recovered it resumes: unsuspended, on probation', () => {
    for (const kind of ['campaign', 'domain'] as const) {
      const d = decideEscalation(paused, entityInput(kind, { degraded: [member(ANN)], trigger: deadline }), settings(), T0 + 5 * MIN);
      assert.equal(d.next.state, 'recovering', kind);
      assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'automation' }]);
      assert.equal(d.next.resumedAt, T0 + 5 * MIN);
      assert.equal(d.next.probationUntil, T0 + 125 * MIN);
      assert.equal(d.explanation!.action, `${kind}_resumed`);
    }
  });

  const recovering = state({ state: 'recovering', since: T0, resumedAt: T0, probationUntil: T0 + 120 * MIN, recentPauses: [T0 - 60 * MIN] });

  it('mailboxes degraded again during probation pause the campaign again, with a doubled cooldown', () => {
    const d = campaign(recovering, { degraded: TWO }, T0 + 30 * MIN);
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.next.cooldownUntil, T0 + 30 * MIN + 120 * MIN, 'second pause within 7 days: 2 × 60 minutes');
    assert.match(d.explanation!.message, /^Paused campaign 123 \("Q4 CTOs"\) again \(relapse during probation\): 2 of its mailboxes are degraded/);
  });

  it('one degraded mailbox during probation does not cut it short', () => {
    assert.deepEqual(campaign(recovering, { degraded: [member(ANN)] }, T0 + 30 * MIN).commands, []);
  });

  it('probation over with nothing degraded: healthy again', () => {
    const d = campaign(recovering, { sinceResume: counts(200, 1), trigger: deadline }, T0 + 120 * MIN);
    assert.equal(d.next.state, 'healthy');
    assert.equal(d.explanation!.action, 'campaign_healthy');
    assert.match(d.explanation!.message, /passed probation and is healthy again: none of its mailboxes is degraded and its own sends are under every threshold/);
  });
});

describe('campaign modes', () => {
  const sustained = state({ state: 'warning', sustainUntil: T0 });

  it('observe: the same table, but it only says it would have paused (and later resumed) the campaign', () => {
    const d = campaign(sustained, { degraded: TWO, trigger: deadline }, T0, settings('observe'));
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(d.commands, [{ kind: 'would_have', action: 'pause' }]);
    assert.equal(d.explanation!.action, 'campaign_would_pause');
    assert.match(d.explanation!.message, /^Would have paused campaign 123 \("Q4 CTOs"\) \(observe mode: nothing changed in Smartlead\)/);
    const r = campaign(d.next, { trigger: deadline }, d.next.cooldownUntil!, settings('observe'));
    assert.deepEqual(r.commands, [{ kind: 'would_have', action: 'resume' }]);
    assert.equal(r.explanation!.action, 'campaign_would_resume');
  });

  it('suggest: it recommends the pause and the campaign stays in warning', () => {
    const d = campaign(sustained, { degraded: TWO, trigger: deadline }, T0, settings('suggest'));
    assert.equal(d.next.state, 'warning');
    assert.deepEqual(d.commands, [{ kind: 'recommend', action: 'pause' }]);
    assert.equal(d.explanation!.action, 'campaign_pause_recommended');
    assert.deepEqual(d.next.pendingRecommendation, { decisionId: d.explanation!.decisionId, action: 'pause' });
    assert.deepEqual(campaign(d.next, { degraded: TWO, trigger: deadline }, T0 + 5 * MIN, settings('suggest')).commands, [], 'one recommendation, not one per decision');
  });
});

describe('campaign manual overrides', () => {
  for (const mode of ['enforce', 'observe', 'suggest'] as const) {
    it(`a manual pause in ${mode} mode holds the campaign: no automatic resume after the cooldown`, () => {
      const d = campaign(state({ state: 'warning', sustainUntil: T0 + 10 * MIN }), { degraded: TWO, trigger: override('pause') }, T0, settings(mode));
      assert.equal(d.next.state, 'paused');
      assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'override' }]);
      assert.equal(d.explanation!.action, 'campaign_paused_manually');
      assert.deepEqual(d.next.recentPauses, []);
      assert.equal(nextWake(d.next, T0 + DAY, true), undefined, 'nothing to wake for');
      assert.deepEqual(campaign(d.next, { trigger: deadline }, T0 + 100 * DAY, settings(mode)).commands, []);
    });
  }

  it('a manual resume puts the campaign on probation at once, even with its mailboxes still degraded', () => {
    const held = state({ state: 'paused', manualHold: { actor: 'x', reason: 'y', at: T0 - MIN } });
    const d = campaign(held, { degraded: TWO, trigger: override('resume') }, T0);
    assert.equal(d.next.state, 'recovering');
    assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'override' }]);
    assert.equal(d.next.manualHold, undefined);
    assert.equal(d.explanation!.action, 'campaign_resumed_manually');
    assert.equal(d.explanation!.actor, 'api-key:ops');
  });
});

describe('escalation loop: the Nth automatic pause in a chain stops automation', () => {
  const loops = (mode: Mode = 'enforce', detectLoops: boolean | 'absent' = true): DecisionSettings =>
    settings(mode, { sustainMinutes: 0 }, detectLoops === 'absent' ? undefined : detectLoops);

  /** Paused at T0, resumed at each cooldown's end and relapsing 30 minutes into each probation: returns the third decision to pause. */
  function thirdPause(set: DecisionSettings): Decision {
    let s = state();
    let now = T0;
    let d = campaign(s, { degraded: TWO }, now, set);
    for (let pause = 2; pause <= 3; pause += 1) {
      assert.equal(d.next.state, 'paused');
      assert.equal(d.next.automationStopped, undefined, `pause ${pause - 1} is an ordinary pause`);
      now = d.next.cooldownUntil!;
      s = campaign(d.next, { trigger: deadline }, now, set).next;
      assert.equal(s.state, 'recovering');
      now += 30 * MIN;
      d = campaign(s, { degraded: TWO }, now, set);
    }
    return d;
  }

  it('the third automatic pause in a row stops automation: paused, no cooldown, until a person resumes it', () => {
    const d = thirdPause(loops());
    assert.equal(d.explanation!.action, 'campaign_automation_stopped');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.next.state, 'paused');
    assert.equal(d.next.cooldownUntil, undefined);
    assert.equal(d.next.recentPauses.length, 3);
    assert.deepEqual(d.next.automationStopped, { at: d.next.since, reason: 'escalation loop: pause 3 in a row, each within 7 days of the previous one' });
    assert.match(d.explanation!.message, /an escalation loop, so automation stops for this campaign and only a person resumes it \(override\)/);
    assert.match(d.explanation!.pauseReason ?? '', /automation stopped until a person resumes it/);
  });

  it('after the stop no deadline resumes it, even with every mailbox recovered', () => {
    const stopped = thirdPause(loops()).next;
    const later = stopped.since + 30 * DAY;
    assert.equal(nextWake(stopped, stopped.since, true), undefined);
    assert.equal(nextWake(stopped, later, true), undefined);
    assert.deepEqual(campaign(stopped, { trigger: deadline }, later, loops()).commands, []);
    assert.deepEqual(campaign(stopped, { trigger: { kind: 'settings_changed', version: 8 } }, later, loops()).commands, []);
  });

  it('a manual resume clears the stop', () => {
    const stopped = thirdPause(loops()).next;
    const d = campaign(stopped, { trigger: override('resume') }, stopped.since + DAY, loops());
    assert.equal(d.next.state, 'recovering');
    assert.deepEqual(d.commands, [{ kind: 'unsuspend', via: 'override' }]);
    assert.equal(d.next.automationStopped, undefined);
    assert.equal(d.explanation!.action, 'campaign_resumed_manually');
  });

  it('observe mode simulates the stop and says it would have stopped automation', () => {
    const d = thirdPause(loops('observe'));
    assert.equal(d.explanation!.action, 'campaign_would_stop_automation');
    assert.deepEqual(d.commands, [{ kind: 'would_have', action: 'pause' }]);
    assert.notEqual(d.next.automationStopped, undefined);
  });

  for (const detectLoops of [false, 'absent'] as const) {
    it(`without loop detection (detectLoops ${detectLoops}, histories from before it) the third pause is an ordinary pause`, () => {
      const d = thirdPause(loops('enforce', detectLoops));
      assert.equal(d.explanation!.action, 'campaign_paused');
      assert.equal(d.next.automationStopped, undefined);
      assert.equal(d.next.cooldownUntil, d.next.since + 240 * MIN, '60 minutes doubled twice');
    });
  }

  it('a mailbox stops the same way through decide()', () => {
    const s = state({ recentPauses: [T0 - 2 * DAY, T0 - DAY] });
    const input = { mailbox: 'sam@acme-mail.com', decisionIdPrefix: 'mailbox/org/sam@acme-mail.com@run1', windows: OWN_PAUSE, sinceResume: counts(0), trigger: events };
    const d = decide(s, input, loops(), T0);
    assert.equal(d.explanation!.action, 'mailbox_automation_stopped');
    assert.deepEqual(d.commands, [{ kind: 'suspend', via: 'automation' }]);
    assert.equal(d.next.state, 'paused');
    assert.equal(d.next.cooldownUntil, undefined);
    assert.deepEqual(d.next.automationStopped, { at: T0, reason: 'escalation loop: pause 3 in a row, each within 7 days of the previous one' });
    assert.equal(decide(s, input, loops('enforce', false), T0).explanation!.action, 'mailbox_paused');
    assert.equal(decide(state({ recentPauses: [T0 - 9 * DAY, T0 - DAY] }), input, loops(), T0).explanation!.action, 'mailbox_paused', 'the chain breaks at a gap over 7 days');
  });
});

describe('campaign decision ids and explanations', () => {
  it('numbers decisions `${prefix}#n`, counting only decisions that record something, each with its from and to', () => {
    const steps: [Case, number][] = [
      [{ degraded: TWO }, T0], // healthy → warning (sustain)
      [{ degraded: TWO }, T0 + 10 * MIN], // nothing recorded
      [{ degraded: TWO, trigger: deadline }, T0 + 30 * MIN], // warning → paused
      [{ trigger: deadline }, T0 + 90 * MIN], // paused → recovering
      [{ trigger: deadline }, T0 + 210 * MIN], // recovering → healthy
    ];
    let s = state();
    const seen: [string, string, string][] = [];
    for (const [c, now] of steps) {
      const d = campaign(s, c, now);
      if (d.explanation !== undefined) seen.push([d.explanation.decisionId, d.explanation.from, d.explanation.to]);
      s = d.next;
    }
    assert.deepEqual(seen, [
      ['campaign/org/123@run1#1', 'healthy', 'warning'],
      ['campaign/org/123@run1#2', 'warning', 'paused'],
      ['campaign/org/123@run1#3', 'paused', 'recovering'],
      ['campaign/org/123@run1#4', 'recovering', 'healthy'],
    ]);
    assert.equal(s.decisions, 4);
  });
});

describe('escalation: per-organization switches (thresholds.features)', () => {
  const off = (feature: 'campaignEscalation' | 'domainEscalation'): Over => ({ features: { ...DEFAULT_THRESHOLDS.features, [feature]: false } });
  const SPREAD = [member(ANN, 'paused', ['1']), member(BOB, 'paused', ['2'])];
  const table: [what: string, decideFor: typeof campaign, c: Case, over: Over, to: MachineState['state']][] = [
    ['campaign escalation on: two degraded mailboxes start its sustain', campaign, { degraded: TWO }, {}, 'warning'],
    ['campaign escalation off: the same mailboxes change nothing', campaign, { degraded: TWO }, off('campaignEscalation'), 'healthy'],
    ['campaign escalation off: nor do its own windows', campaign, { windows: OWN_PAUSE }, off('campaignEscalation'), 'healthy'],
    ['campaign escalation off leaves domains alone', domain, { degraded: SPREAD }, off('campaignEscalation'), 'warning'],
    ['domain escalation on: paused mailboxes across campaigns start its sustain', domain, { degraded: SPREAD }, {}, 'warning'],
    ['domain escalation off: the same mailboxes change nothing', domain, { degraded: SPREAD }, off('domainEscalation'), 'healthy'],
    ['domain escalation off leaves campaigns alone', campaign, { degraded: TWO }, off('domainEscalation'), 'warning'],
  ];
  for (const [what, decideFor, c, over, to] of table) {
    it(what, () => assert.equal(decideFor(state(), c, T0, settings('enforce', over)).next.state, to));
  }

  it('switched off while warning: healthy again, saying why', () => {
    const d = campaign(state({ state: 'warning', sustainUntil: T0 + 10 * MIN }), { degraded: TWO }, T0, settings('enforce', off('campaignEscalation')));
    assert.equal(d.next.state, 'healthy');
    assert.equal(
      d.explanation!.message,
      'Campaign 123 ("Q4 CTOs") is healthy again: campaign escalation is off for this organization, so its mailboxes are judged only one by one; the pause it would have led to at 2026-11-21 12:10 UTC is cancelled (settings version 7; campaign escalation is off for this organization).',
    );
  });

  it('switched off while paused: resumes what it paused at the end of the cooldown, not before; a manual hold stays', () => {
    const set = settings('enforce', off('domainEscalation'));
    const paused = state({ state: 'paused', cooldownUntil: T0 + 10 * MIN, recentPauses: [T0 - 50 * MIN] });
    assert.deepEqual(kinds(domain(paused, { degraded: SPREAD, trigger: deadline }, T0, set)), []);
    const d = domain(paused, { degraded: SPREAD, trigger: deadline }, T0 + 10 * MIN, set);
    assert.equal(d.next.state, 'recovering');
    assert.deepEqual(kinds(d), ['unsuspend']);
    const held = state({ state: 'paused', manualHold: { actor: 'ops', reason: 'by hand', at: T0 - MIN } });
    assert.deepEqual(kinds(domain(held, { trigger: deadline }, T0 + DAY, set)), []);
  });

  it('overrides still work with escalation off', () => {
    const d = campaign(state(), { trigger: override('pause') }, T0, settings('enforce', off('campaignEscalation')));
    assert.equal(d.next.state, 'paused');
    assert.deepEqual(kinds(d), ['suspend']);
  });
});
