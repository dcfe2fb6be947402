import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import { evaluateGate, GATE_CONDITIONS, type GateCondition, type GateInput, type GateMailbox } from '../../src/domain/executionGate';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const HOUR = 3_600_000;

const mailbox = (email: string, over: Partial<GateMailbox> = {}): GateMailbox => ({
  email,
  state: 'healthy',
  automationStopped: false,
  suspendedInSmartlead: false,
  messagePerDay: 50,
  dailySentCount: 10,
  ...over,
});

/** Every condition passes, enforce mode. */
function base(): GateInput {
  return {
    campaign: { id: '42', smartleadStatus: 'ACTIVE', deletedInSmartlead: false, state: 'healthy', riskScore: 10 },
    domains: [{ domain: 'acme.io', state: 'healthy' }],
    mailboxes: [mailbox('a@acme.io'), mailbox('b@acme.io')],
    source: { ruleId: 'r1', ruleName: 'VP Sales', quarantine: null },
    mode: 'enforce',
    thresholds: { gateMaxRiskScore: DEFAULT_THRESHOLDS.gateMaxRiskScore },
    now: NOW,
  };
}

type Change = (i: GateInput) => void;

/** One way to fail each condition, with the sentence it must give. */
const FAILING: Record<GateCondition, [Change, string]> = {
  campaign_smartlead: [(i) => (i.campaign.smartleadStatus = 'PAUSED'), 'campaign 42 is PAUSED in Smartlead, not ACTIVE: start it in Smartlead for its leads to be pushed'],
  campaign_drason: [
    (i) => {
      i.campaign.state = 'paused';
      i.campaign.pause = { reason: '2 of its mailboxes are degraded', cooldownUntil: NOW + 6 * HOUR };
    },
    'campaign 42 is paused by Drason (2 of its mailboxes are degraded; cooldown until 2026-11-21 18:00 UTC)',
  ],
  domain: [
    (i) => {
      i.domains[0] = { domain: 'acme.io', state: 'paused', pause: { cooldownUntil: NOW + 6 * HOUR } };
    },
    'domain acme.io is paused (cooldown until 2026-11-21 18:00 UTC)',
  ],
  mailbox: [
    (i) => (i.mailboxes = [mailbox('a@acme.io', { dailySentCount: 50 }), mailbox('b@acme.io', { dailySentCount: 50 }), mailbox('c@acme.io', { dailySentCount: 50 })]),
    "every mailbox of campaign 42 is at its daily capacity (3 of 3 at 50/50): leads wait for Smartlead's daily count to reset or for more sending capacity",
  ],
  risk_score: [(i) => (i.campaign.riskScore = 71), "campaign 42 has a risk score of 71, above the gate's maximum of 70: leads wait until its bounces and failures come down"],
  source_quality: [
    (i) => (i.source.quarantine = { since: NOW - HOUR, reason: '6 of 20 contacted leads hard-bounced as invalid addresses (30%)' }),
    'source quality: routing rule "VP Sales" is quarantined since 2026-11-21 11:00 UTC (6 of 20 contacted leads hard-bounced as invalid addresses (30%)); a person must release it',
  ],
};

const gate = (...changes: Change[]) => {
  const input = base();
  for (const c of changes) c(input);
  return evaluateGate(input);
};

describe('execution gate', () => {
  describe('modes, when every condition passes', () => {
    const table: [GateInput['mode'], string, string][] = [
      ['enforce', 'push', 'push to campaign 42: every gate condition passes: risk score 10 within the maximum of 70, 2 of 2 mailboxes available, no sending domain paused'],
      ['suggest', 'recommend', 'suggest mode: would recommend pushing to campaign 42 (every gate condition passes: risk score 10 within the maximum of 70, 2 of 2 mailboxes available, no sending domain paused); waiting for a person to apply it'],
      ['observe', 'record', 'observe mode: would push to campaign 42 (every gate condition passes: risk score 10 within the maximum of 70, 2 of 2 mailboxes available, no sending domain paused); nothing was pushed'],
    ];
    for (const [mode, action, summary] of table) {
      it(`${mode} → ${action}`, () => {
        const d = gate((i) => (i.mode = mode));
        assert.deepEqual(d, { allowed: true, action, failed: [], summary, notes: [] });
      });
    }
  });

  describe('each condition failing alone holds the lead, in every mode', () => {
    for (const condition of GATE_CONDITIONS) {
      for (const mode of ['enforce', 'suggest', 'observe'] as const) {
        it(`${condition} (${mode})`, () => {
          const [change, reason] = FAILING[condition];
          const d = gate(change, (i) => (i.mode = mode));
          assert.equal(d.allowed, false);
          assert.equal(d.action, 'hold');
          assert.deepEqual(d.failed, [{ condition, reason }]);
          assert.equal(d.summary, `held: 1 gate condition failed for campaign 42: ${reason}`);
        });
      }
    }
  });

  describe('every combination of failing conditions lists all of them, in the fixed order', () => {
    const n = GATE_CONDITIONS.length;
    for (let mask = 1; mask < 1 << n; mask++) {
      const chosen = GATE_CONDITIONS.filter((_, k) => (mask & (1 << k)) !== 0);
      it(chosen.join(' + '), () => {
        // Apply the changes in reverse order: the report order must not depend on it.
        const d = gate(...[...chosen].reverse().map((c) => FAILING[c][0]));
        assert.deepEqual(
          d.failed,
          chosen.map((c) => ({ condition: c, reason: FAILING[c][1] })),
        );
        assert.equal(d.action, 'hold');
        assert.ok(d.summary.startsWith(`held: ${chosen.length} gate condition${chosen.length === 1 ? '' : 's'} failed for campaign 42: `));
      });
    }
  });

  describe('campaign', () => {
    const table: [string, Change, string | null][] = [
      ['ACTIVE in Smartlead passes', () => {}, null],
      ['DRAFTED fails', (i) => (i.campaign.smartleadStatus = 'DRAFTED'), 'campaign 42 is DRAFTED in Smartlead, not ACTIVE: start it in Smartlead for its leads to be pushed'],
      ['COMPLETED fails', (i) => (i.campaign.smartleadStatus = 'COMPLETED'), 'campaign 42 is COMPLETED in Smartlead, not ACTIVE: start it in Smartlead for its leads to be pushed'],
      ['lower-case "active" is not ACTIVE', (i) => (i.campaign.smartleadStatus = 'active'), 'campaign 42 is active in Smartlead, not ACTIVE: start it in Smartlead for its leads to be pushed'],
      [
        'deleted in Smartlead (its last status does not matter)',
        (i) => {
          i.campaign.deletedInSmartlead = true;
          i.campaign.smartleadStatus = 'ACTIVE';
        },
        'campaign 42 "Q4" was deleted in Smartlead: point its routing rule at another campaign',
      ],
    ];
    for (const [what, change, reason] of table) {
      it(what, () => {
        const d = gate((i) => (i.campaign.name = what.startsWith('deleted') ? 'Q4' : undefined), change);
        assert.deepEqual(d.failed, reason === null ? [] : [{ condition: 'campaign_smartlead', reason }]);
      });
    }
    for (const state of ['healthy', 'warning', 'recovering'] as const) {
      it(`a ${state} campaign in Drason passes`, () => assert.deepEqual(gate((i) => (i.campaign.state = state)).failed, []));
    }
    it('a campaign paused by a person: until a person resumes it', () => {
      const d = gate((i) => {
        i.campaign.state = 'paused';
        i.campaign.pause = { reason: 'paused by ops' };
      });
      assert.deepEqual(d.failed, [{ condition: 'campaign_drason', reason: 'campaign 42 is paused by Drason (paused by ops; until a person resumes it)' }]);
    });
    it('a campaign whose cooldown ended but has not resumed', () => {
      const d = gate((i) => {
        i.campaign.state = 'paused';
        i.campaign.pause = { cooldownUntil: NOW - HOUR };
      });
      assert.equal(d.failed[0]!.reason, 'campaign 42 is paused by Drason (cooldown ended at 2026-11-21 11:00 UTC, not resumed yet: its breach has not cleared)');
    });
  });

  describe('domains', () => {
    it('one entry per paused domain, by name whatever the input order', () => {
      const d = gate((i) => {
        i.domains = [
          { domain: 'zeta.io', state: 'paused' },
          { domain: 'acme.io', state: 'warning' },
          { domain: 'beta.io', state: 'paused', pause: { cooldownUntil: NOW + HOUR } },
        ];
      });
      assert.deepEqual(d.failed, [
        { condition: 'domain', reason: 'domain beta.io is paused (cooldown until 2026-11-21 13:00 UTC)' },
        { condition: 'domain', reason: 'domain zeta.io is paused (until a person resumes it)' },
      ]);
    });
    for (const state of ['healthy', 'warning', 'recovering'] as const) {
      it(`a ${state} domain passes`, () => assert.deepEqual(gate((i) => (i.domains[0]!.state = state)).failed, []));
    }
  });

  describe('mailboxes: at least one available', () => {
    const only = (m: GateMailbox): Change => (i) => (i.mailboxes = [m]);
    const table: [string, GateMailbox[], string | null][] = [
      ['one below capacity (49/50)', [mailbox('a@acme.io', { dailySentCount: 49 })], null],
      ['one at capacity (50/50)', [mailbox('a@acme.io', { dailySentCount: 50 })], "every mailbox of campaign 42 is at its daily capacity (1 of 1 at 50/50): leads wait for Smartlead's daily count to reset or for more sending capacity"],
      ['one beyond capacity (52/50)', [mailbox('a@acme.io', { dailySentCount: 52 })], "every mailbox of campaign 42 is at its daily capacity (1 of 1 at 52/50): leads wait for Smartlead's daily count to reset or for more sending capacity"],
      ['a capacity of 0 (0/0)', [mailbox('a@acme.io', { messagePerDay: 0, dailySentCount: 0 })], "every mailbox of campaign 42 is at its daily capacity (1 of 1 at 0/0): leads wait for Smartlead's daily count to reset or for more sending capacity"],
      [
        'all full at different loads',
        [mailbox('b@acme.io', { messagePerDay: 40, dailySentCount: 40 }), mailbox('a@acme.io', { dailySentCount: 50 })],
        "every mailbox of campaign 42 is at its daily capacity (a@acme.io at 50/50, b@acme.io at 40/40): leads wait for Smartlead's daily count to reset or for more sending capacity",
      ],
      ['unknown capacity counts as available', [mailbox('a@acme.io', { messagePerDay: null, dailySentCount: null })], null],
      ['unknown sent count counts as available', [mailbox('a@acme.io', { dailySentCount: null })], null],
      ['warning mailbox is available', [mailbox('a@acme.io', { state: 'warning' })], null],
      ['recovering mailbox is available', [mailbox('a@acme.io', { state: 'recovering' })], null],
      ['one full, one free', [mailbox('a@acme.io', { dailySentCount: 50 }), mailbox('b@acme.io', { dailySentCount: 0 })], null],
      ['paused', [mailbox('a@acme.io', { state: 'paused' })], 'none of the 1 mailbox of campaign 42 can take a lead: 1 paused by Drason (a@acme.io)'],
      ['suspended in Smartlead', [mailbox('a@acme.io', { suspendedInSmartlead: true })], 'none of the 1 mailbox of campaign 42 can take a lead: 1 suspended in Smartlead (a@acme.io)'],
      [
        'automation stopped (even if healthy)',
        [mailbox('a@acme.io', { automationStopped: true })],
        'none of the 1 mailbox of campaign 42 can take a lead: 1 stopped after an escalation loop, waiting for a person to resume (a@acme.io)',
      ],
      ['no mailboxes at all', [], 'campaign 42 has no mailboxes in Smartlead: add a sending mailbox to it'],
      [
        'each blocked for a different reason, named once each by its first blocker, sorted',
        [
          mailbox('d@acme.io', { dailySentCount: 50 }),
          mailbox('c@acme.io', { suspendedInSmartlead: true, dailySentCount: 50 }),
          mailbox('b@acme.io', { state: 'paused', suspendedInSmartlead: true }),
          mailbox('e@acme.io', { state: 'paused' }),
          mailbox('a@acme.io', { state: 'paused', automationStopped: true }),
        ],
        'none of the 5 mailboxes of campaign 42 can take a lead: 1 stopped after an escalation loop, waiting for a person to resume (a@acme.io); 2 paused by Drason (b@acme.io, e@acme.io); 1 suspended in Smartlead (c@acme.io); 1 at daily capacity (d@acme.io at 50/50)',
      ],
      [
        'long lists are shortened',
        ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => mailbox(`${n}@acme.io`, { state: 'paused' })),
        'none of the 7 mailboxes of campaign 42 can take a lead: 7 paused by Drason (a@acme.io, b@acme.io, c@acme.io, d@acme.io, e@acme.io and 2 more)',
      ],
    ];
    for (const [what, mailboxes, reason] of table) {
      it(what, () => {
        const d = gate((i) => (i.mailboxes = mailboxes));
        assert.deepEqual(d.failed, reason === null ? [] : [{ condition: 'mailbox', reason }]);
      });
    }
    it('says so when only mailboxes of unknown capacity are available', () => {
      const d = gate(only(mailbox('a@acme.io', { messagePerDay: null })));
      assert.equal(d.action, 'push');
      assert.deepEqual(d.notes, [
        'no mailbox of campaign 42 with a known daily capacity is available; pushed on mailboxes whose capacity Smartlead did not report (a@acme.io), Smartlead enforces their daily limit itself',
      ]);
    });
  });

  describe('risk score against gateMaxRiskScore (at the maximum passes)', () => {
    const table: [number, number, boolean][] = [
      [0, 70, true],
      [69, 70, true],
      [70, 70, true],
      [71, 70, false],
      [100, 70, false],
      [0, 0, true],
      [1, 0, false],
      [100, 100, true],
      [Number.NaN, 70, false],
    ];
    for (const [score, max, passes] of table) {
      it(`${score} with a maximum of ${max} → ${passes ? 'passes' : 'held'}`, () => {
        const d = gate((i) => {
          i.campaign.riskScore = score;
          i.thresholds = { gateMaxRiskScore: max };
        });
        assert.equal(d.allowed, passes);
        assert.deepEqual(
          d.failed.map((f) => f.condition),
          passes ? [] : ['risk_score'],
        );
      });
    }
  });

  it('is deterministic: the same input (in any order) gives the same decision', () => {
    const mk = (reverse: boolean) =>
      gate(
        FAILING.domain[0],
        FAILING.risk_score[0],
        (i) => {
          i.domains.push({ domain: 'b.io', state: 'paused' });
          i.mailboxes = [mailbox('z@b.io', { state: 'paused' }), mailbox('a@acme.io', { suspendedInSmartlead: true })];
          if (reverse) {
            i.domains.reverse();
            i.mailboxes.reverse();
          }
        },
      );
    const first = mk(false);
    assert.deepEqual(mk(true), first);
    assert.deepEqual(mk(false), first);
    assert.deepEqual(
      first.failed.map((f) => f.condition),
      ['domain', 'domain', 'mailbox', 'risk_score'],
    );
  });

  it('does not change its input', () => {
    const input = base();
    input.mailboxes.reverse();
    const copy = structuredClone(input);
    evaluateGate(input);
    assert.deepEqual(input, copy);
  });
});
