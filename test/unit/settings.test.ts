import assert from 'node:assert/strict';
import { DEFAULT_MODE, DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import {
  applySettingsPatch,
  describeModeChange,
  describeSettingsChange,
  diffSettings,
  featureOn,
  featuresOffNote,
  FEATURES,
  settingsPatchSchema,
  thresholdsSchema,
  type Settings,
  type SettingsPatch,
} from '../../src/domain/settings';

const defaults: Settings = { mode: DEFAULT_MODE, thresholds: DEFAULT_THRESHOLDS };

describe('settings', () => {
  it('starts new organizations in observe mode with valid default thresholds', () => {
    assert.equal(DEFAULT_MODE, 'observe');
    assert.deepEqual(thresholdsSchema.parse(DEFAULT_THRESHOLDS), DEFAULT_THRESHOLDS);
  });

  const accepted: [string, SettingsPatch, string[]][] = [
    ['nothing', {}, []],
    ['the same values', { mode: 'observe', thresholds: { minSample: DEFAULT_THRESHOLDS.minSample } }, []],
    ['the mode', { mode: 'enforce' }, ['the mode changed from observe to enforce']],
    ['one level of one rate', { thresholds: { hardBounceRate: { pause: 0.04 } } }, ['the hard-bounce pause threshold changed from 5% to 4%']],
    ['sustain to zero (escalate at once)', { thresholds: { sustainMinutes: 0 } }, ['the time a breach must last before it escalates changed from 30 minutes to 0 minutes (at once)']],
    [
      'fractional minutes (a demo: seconds instead of hours)',
      { thresholds: { sustainMinutes: 0.25, cooldownMinutes: 0.5, maxCooldownMinutes: 1.5, probationMinutes: 0.1 } },
      [
        'the time a breach must last before it escalates changed from 30 minutes to 0.25 minutes (15 s)',
        'the cooldown after a pause changed from 360 minutes to 0.5 minutes (30 s)',
        'the longest cooldown after repeated pauses changed from 2880 minutes to 1.5 minutes (1 min 30 s)',
        'the probation before a recovering entity counts as healthy changed from 120 minutes to 0.1 minutes (6 s)',
      ],
    ],
    [
      'a fraction of a long cooldown',
      { thresholds: { cooldownMinutes: 90.5, maxCooldownMinutes: 2880 } },
      ['the cooldown after a pause changed from 360 minutes to 90.5 minutes (1 h 30 min 30 s)'],
    ],
    [
      'several fields',
      { thresholds: { failureRate: { warning: 0.06 }, velocity: { warning: 0.015 }, gateMaxRiskScore: 60 } },
      [
        'the delivery-failure warning threshold changed from 5% to 6%',
        'the bounce-velocity warning threshold changed from 2 percentage points to 1.5 percentage points',
        'the highest risk score the execution gate lets through changed from 70 to 60',
      ],
    ],
  ];
  for (const [what, patch, sentences] of accepted) {
    it(`applies a partial update of ${what}`, () => {
      const result = applySettingsPatch(defaults, settingsPatchSchema.parse(patch));
      assert.ok(result.ok);
      assert.deepEqual(result.changes.map((c) => c.sentence), sentences);
      assert.equal(result.settings.thresholds.hardBounceRate.warning, DEFAULT_THRESHOLDS.hardBounceRate.warning, 'untouched fields keep their value');
    });
  }

  const refused: [string, unknown, string][] = [
    ['a warning above its pause', { thresholds: { hardBounceRate: { warning: 0.08 } } }, 'thresholds.hardBounceRate.warning'],
    ['a rate above 1', { thresholds: { failureRate: { pause: 1.5 } } }, 'thresholds.failureRate.pause'],
    ['negative minutes', { thresholds: { cooldownMinutes: -1 } }, 'thresholds.cooldownMinutes'],
    ['a fraction of a second', { thresholds: { sustainMinutes: 0.001 } }, 'thresholds.sustainMinutes'],
    ['more than 7 days, by half a minute', { thresholds: { probationMinutes: 7 * 24 * 60 + 0.5 } }, 'thresholds.probationMinutes'],
    ['a cap below a fractional cooldown', { thresholds: { cooldownMinutes: 0.5, maxCooldownMinutes: 0.25 } }, 'thresholds.maxCooldownMinutes'],
    ['a risk score above 100', { thresholds: { gateMaxRiskScore: 101 } }, 'thresholds.gateMaxRiskScore'],
    ['zero mailboxes', { thresholds: { domainDegradedMailboxes: 0 } }, 'thresholds.domainDegradedMailboxes'],
  ];
  for (const [what, patch, path] of refused) {
    it(`refuses ${what}, naming the field`, () => {
      const parsed = settingsPatchSchema.safeParse(patch);
      const problems = parsed.success
        ? (() => {
            const r = applySettingsPatch(defaults, parsed.data);
            return r.ok ? [] : r.problems.map((p) => p.path);
          })()
        : parsed.error.issues.map((i) => ['', ...i.path].join('.').slice(1));
      assert.ok(problems.includes(path), `expected ${path} among ${JSON.stringify(problems)}`);
    });
  }

  it('accepts any whole number of seconds up to 7 days, and each gives deadlines in whole milliseconds', () => {
    // The mailbox machine's deadlines are `now + minutes × 60,000` (epoch ms); timers and the API want whole ms.
    const now = Date.UTC(2026, 10, 21, 15, 38, 21, 123);
    const week = 7 * 24 * 60 * 60;
    for (let seconds = 0; seconds <= week; seconds += 1) {
      const minutes = seconds / 60;
      assert.ok(Number.isInteger(now + minutes * 60_000), `${seconds} s`);
      assert.ok(Number.isInteger(now + minutes * 2 ** 5 * 60_000), `${seconds} s, cooldown doubled 5 times`);
    }
    for (const seconds of [1, 15, 31, 59, 61, 125, 3599, 86_399, week - 1, week]) {
      const result = applySettingsPatch(defaults, { thresholds: { sustainMinutes: seconds / 60, maxCooldownMinutes: week / 60 } });
      assert.ok(result.ok, `${seconds} s: ${JSON.stringify(result.ok ? '' : result.problems)}`);
    }
  });

  it('refuses unknown fields and unknown modes', () => {
    assert.equal(settingsPatchSchema.safeParse({ thresholds: { bounceRate: 0.1 } }).success, false);
    assert.equal(settingsPatchSchema.safeParse({ thresholds: { hardBounceRate: { panic: 0.1 } } }).success, false);
    assert.equal(settingsPatchSchema.safeParse({ mode: 'yolo' }).success, false);
    assert.equal(settingsPatchSchema.safeParse({ color: 'blue' }).success, false);
  });

  it('describes every setting in plain English (a new threshold needs a sentence)', () => {
    const everything: Settings = {
      mode: 'enforce',
      thresholds: {
        minSample: 1,
        hardBounceRate: { warning: 0.5, pause: 0.6 },
        failureRate: { warning: 0.5, pause: 0.6 },
        reputationRate: { warning: 0.5, pause: 0.6 },
        velocity: { warning: 0.5 },
        sustainMinutes: 1,
        cooldownMinutes: 1,
        maxCooldownMinutes: 1,
        probationMinutes: 1,
        campaignDegradedMailboxes: 1,
        domainDegradedMailboxes: 1,
        escalationLoopPauses: 2,
        gateMaxRiskScore: 1,
        features: { velocity: false, reputationClass: false, campaignEscalation: false, domainEscalation: false, sourceQuarantine: false },
      },
    };
    const leaves = (o: object): number => Object.values(o).reduce<number>((n, v) => n + (typeof v === 'object' && v !== null ? leaves(v) : 1), 0);
    assert.equal(diffSettings(defaults, everything).length, leaves(everything));
  });

  describe('feature switches for the risk logic (thresholds.features)', () => {
    it('are all on by default: the behaviour from before the switches', () => {
      for (const f of FEATURES) assert.equal(DEFAULT_THRESHOLDS.features[f], true, f);
    });

    const switched: [SettingsPatch, string[]][] = [
      [{ thresholds: { features: { velocity: false } } }, ['velocity judgement turned off']],
      [{ thresholds: { features: { reputationClass: false } } }, ['reputation-class judgement turned off']],
      [{ thresholds: { features: { campaignEscalation: false, domainEscalation: false } } }, ['campaign escalation turned off', 'domain escalation turned off']],
      [{ thresholds: { features: { sourceQuarantine: false } } }, ['source quarantine turned off']],
      [{ thresholds: { features: { velocity: true } } }, []],
    ];
    for (const [patch, sentences] of switched) {
      it(`switches ${JSON.stringify(patch.thresholds?.features)} alone, in one sentence each`, () => {
        const result = applySettingsPatch(defaults, settingsPatchSchema.parse(patch));
        assert.ok(result.ok);
        assert.deepEqual(result.changes.map((c) => c.sentence), sentences);
        for (const f of FEATURES) {
          assert.equal(result.settings.thresholds.features[f], patch.thresholds?.features?.[f] ?? true, `${f}: the others stay on`);
        }
      });
    }

    it('turns back on, audited as such', () => {
      const off = applySettingsPatch(defaults, { thresholds: { features: { velocity: false } } });
      assert.ok(off.ok);
      const on = applySettingsPatch(off.settings, { thresholds: { features: { velocity: true } } });
      assert.ok(on.ok);
      assert.deepEqual(on.changes.map((c) => [c.path, c.before, c.after, c.sentence]), [['thresholds.features.velocity', false, true, 'velocity judgement turned on']]);
    });

    it('refuses unknown switches and non-booleans, naming the field', () => {
      assert.equal(settingsPatchSchema.safeParse({ thresholds: { features: { teleport: false } } }).success, false);
      const bad = settingsPatchSchema.safeParse({ thresholds: { features: { velocity: 'no' } } });
      assert.equal(bad.success, false);
      assert.ok(!bad.success && bad.error.issues.some((i) => i.path.join('.') === 'thresholds.features.velocity'));
    });

    it('reads a document without them (stored, or recorded in a workflow history, before they existed) as all on', () => {
      const { features: _none, ...older } = DEFAULT_THRESHOLDS;
      for (const f of FEATURES) assert.equal(featureOn(older, f), true, f);
      assert.equal(featureOn(undefined, 'velocity'), true);
      assert.equal(featureOn({ features: { velocity: false } }, 'velocity'), false);
      assert.equal(featuresOffNote(older, FEATURES), undefined);
      assert.equal(featuresOffNote({ features: { velocity: false } }, ['velocity', 'reputationClass']), 'velocity judgement is off for this organization');
      assert.equal(
        featuresOffNote({ features: { velocity: false, reputationClass: false, campaignEscalation: false } }, ['velocity', 'reputationClass', 'campaignEscalation']),
        'velocity judgement, reputation-class judgement and campaign escalation are off for this organization',
      );
      const { features: _gone, ...storedBefore } = thresholdsSchema.parse(DEFAULT_THRESHOLDS);
      assert.deepEqual(thresholdsSchema.parse({ ...DEFAULT_THRESHOLDS, ...storedBefore }).features, DEFAULT_THRESHOLDS.features, 'the repository fills them from the defaults');
    });
  });

  it('writes one audit sentence for a change, and one for a mode change', () => {
    const result = applySettingsPatch(defaults, { mode: 'enforce', thresholds: { minSample: 50 } });
    assert.ok(result.ok);
    assert.equal(
      describeSettingsChange(4, 'API key "ops"', result.changes),
      'Settings version 4 by API key "ops": the mode changed from observe to enforce; the minimum sample before rates are judged changed from 30 sends to 50 sends.',
    );
    assert.equal(
      describeModeChange('observe', 'enforce', 'API key "ops"'),
      'Mode changed from observe to enforce by API key "ops": from now on Drason will pause and resume mailboxes, domains and campaigns by itself.',
    );
  });
});
