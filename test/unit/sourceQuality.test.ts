import assert from 'node:assert/strict';
import { DEFAULT_THRESHOLDS } from '../../src/domain/defaultSettings';
import { judgeProbation } from '../../src/domain/mailboxMachine';
import { decideSource, DEFAULT_SOURCE_THRESHOLDS, judgeSource, releaseSource, type SourceEvidence } from '../../src/domain/sourceQuality';

const NOW = Date.parse('2026-11-21T12:00:00Z');
const evidence = (contacted: number, bounces: number, over: Partial<SourceEvidence> = {}): SourceEvidence => ({
  ruleId: 'r1',
  ruleName: 'VP Sales',
  pushed: contacted,
  contacted,
  listQualityBounces: bounces,
  ...over,
});

/** Would a mailbox with the default thresholds pause on these counts (a pause-level hard-bounce breach)? */
const mailboxWouldPause = (sent: number, hardBounces: number): boolean => {
  const j = judgeProbation({ sent, hardBounces, failures: 0 }, DEFAULT_THRESHOLDS);
  return j.breach?.metric === 'hardBounceRate' && j.breach.level === 'pause';
};

describe('source quality', () => {
  it('defaults: 20 contacted leads, 4%, at least 2 bounces', () => {
    assert.deepEqual(DEFAULT_SOURCE_THRESHOLDS, { minSample: 20, listQualityBounceRate: 0.04, minBounces: 2 });
  });

  describe('verdict with the default thresholds', () => {
    const table: [string, number, number, 'healthy' | 'quarantine', boolean][] = [
      ['nothing contacted yet', 0, 0, 'healthy', false],
      ['below the sample: 19 contacted, all bounced', 19, 19, 'healthy', false],
      ['below the sample: 30% invalid at 10', 10, 3, 'healthy', false],
      ['30% invalid at the minimum sample', 20, 6, 'quarantine', true],
      ['30% invalid after the minimum sample', 100, 30, 'quarantine', true],
      ['one bad address at 20 (5%) is tolerated: fewer than 2 bounces', 20, 1, 'healthy', true],
      ['2 of 20 (10%)', 20, 2, 'quarantine', true],
      ['exactly at the rate: 2 of 50 (4%)', 50, 2, 'quarantine', true],
      ['just below the rate: 2 of 51 (3.9%)', 51, 2, 'healthy', true],
      ['exactly at the rate: 4 of 100', 100, 4, 'quarantine', true],
      ['just below: 3 of 100', 100, 3, 'healthy', true],
      ['clean list', 500, 5, 'healthy', true],
    ];
    for (const [what, contacted, bounces, verdict, judged] of table) {
      it(`${what} → ${verdict}`, () => {
        const v = judgeSource(evidence(contacted, bounces));
        assert.equal(v.verdict, verdict);
        assert.equal(v.judged, judged);
        assert.equal(v.sample, contacted);
      });
    }
  });

  it('uses pushed when contacted is unknown', () => {
    assert.equal(judgeSource({ ruleId: 'r1', pushed: 20, listQualityBounces: 6 }).verdict, 'quarantine');
    assert.equal(judgeSource({ ruleId: 'r1', pushed: 40, contacted: 19, listQualityBounces: 6 }).verdict, 'healthy');
  });

  it('names pushed leads when it counted pushed leads', () => {
    assert.match(judgeSource({ ruleId: 'r1', pushed: 23, listQualityBounces: 7 }).reason, /^7 of 23 pushed leads hard-bounced as invalid addresses \(30\.4%\), at or above the source-quality limit of 4% over at least 20 leads: /);
  });

  it('explains itself in one sentence a person can act on', () => {
    assert.equal(
      judgeSource(evidence(20, 6, { claySource: 'tbl_123' })).reason,
      '6 of 20 contacted leads hard-bounced as invalid addresses (30%), at or above the source-quality limit of 4% over at least 20 leads: the list feeding routing rule "VP Sales" (Clay source tbl_123) has bad addresses; clean or verify it in Clay, then release the rule',
    );
    assert.equal(judgeSource(evidence(10, 3)).reason, 'routing rule "VP Sales" is not judged yet: 3 of 10 contacted leads hard-bounced as invalid addresses (30%), fewer than the 20 needed');
  });

  it('with custom thresholds', () => {
    const t = { minSample: 5, listQualityBounceRate: 0.5, minBounces: 1 };
    assert.equal(judgeSource(evidence(4, 4), t).verdict, 'healthy');
    assert.equal(judgeSource(evidence(5, 3), t).verdict, 'quarantine');
    assert.equal(judgeSource(evidence(6, 2), t).verdict, 'healthy');
  });

  describe('acts before a mailbox would, on the same evidence (default thresholds)', () => {
    it('wherever a mailbox would pause, the source is quarantined (every count up to 500 sends)', () => {
      for (let sent = 0; sent <= 500; sent++) {
        for (let bounces = 0; bounces <= sent; bounces++) {
          if (mailboxWouldPause(sent, bounces)) {
            assert.equal(judgeSource(evidence(sent, bounces)).verdict, 'quarantine', `${bounces}/${sent}`);
          }
        }
      }
    });

    it('a list with 30% invalid addresses, contacted one lead at a time: the source is stopped first', () => {
      // Every 10 leads, 3 are invalid (leads 1, 4, 7 of each ten).
      let bounces = 0;
      let quarantinedAt: number | undefined;
      let mailboxAt: number | undefined;
      for (let n = 1; n <= 200 && mailboxAt === undefined; n++) {
        if ([1, 4, 7].includes(n % 10)) bounces++;
        if (quarantinedAt === undefined && judgeSource(evidence(n, bounces)).verdict === 'quarantine') quarantinedAt = n;
        if (mailboxWouldPause(n, bounces)) mailboxAt = n;
      }
      assert.equal(quarantinedAt, 20);
      assert.equal(mailboxAt, 30);
    });

    it('counts a mailbox pauses on but a source quarantines sooner on', () => {
      assert.equal(mailboxWouldPause(20, 2), false);
      assert.equal(judgeSource(evidence(20, 2)).verdict, 'quarantine');
      assert.equal(mailboxWouldPause(100, 4), false);
      assert.equal(judgeSource(evidence(100, 4)).verdict, 'quarantine');
    });
  });

  describe('with source quarantine switched off for the organization (thresholds.features.sourceQuarantine)', () => {
    const bad = evidence(20, 6);
    const OFF = { ...DEFAULT_THRESHOLDS.features, sourceQuarantine: false };
    for (const mode of ['enforce', 'suggest', 'observe'] as const) {
      it(`a bad source is audited, never held nor recommended (${mode})`, () => {
        const d = decideSource({ evidence: bad, quarantine: null, mode, now: NOW, features: OFF });
        assert.equal(d.action, 'audit');
        assert.equal(d.quarantine, null);
        assert.match(d.sentence, /^Source quarantine is off for this organization: would quarantine routing rule "VP Sales": .*; its leads keep flowing$/);
      });
    }
    it('on, or absent, decides as before', () => {
      for (const features of [undefined, DEFAULT_THRESHOLDS.features, { velocity: false }]) {
        const d = decideSource({ evidence: bad, quarantine: null, mode: 'enforce', now: NOW, ...(features === undefined ? {} : { features }) });
        assert.equal(d.action, 'quarantine');
      }
    });
    it('a quarantine made before it was switched off stays until a person releases it', () => {
      const q = { since: NOW - 1000, reason: 'bad list' };
      const d = decideSource({ evidence: evidence(20, 0), quarantine: q, mode: 'enforce', now: NOW, features: OFF });
      assert.equal(d.action, 'none');
      assert.deepEqual(d.quarantine, q);
    });
    it('a healthy source: nothing to do', () => {
      assert.equal(decideSource({ evidence: evidence(20, 0), quarantine: null, mode: 'enforce', now: NOW, features: OFF }).action, 'none');
    });
  });

  describe('what each mode does', () => {
    const bad = evidence(20, 6);
    it('enforce: quarantines; new leads held for "source quality"', () => {
      const d = decideSource({ evidence: bad, quarantine: null, mode: 'enforce', now: NOW });
      assert.equal(d.action, 'quarantine');
      assert.deepEqual(d.quarantine, { since: NOW, reason: d.verdict.reason });
      assert.match(d.sentence, /^routing rule "VP Sales" quarantined: .* Its new leads are held with the reason "source quality" until a person releases it$/);
    });
    it('suggest: recommends, quarantines nothing', () => {
      const d = decideSource({ evidence: bad, quarantine: null, mode: 'suggest', now: NOW });
      assert.equal(d.action, 'recommend_quarantine');
      assert.equal(d.quarantine, null);
      assert.match(d.sentence, /^Recommend quarantining routing rule "VP Sales": /);
    });
    it('observe: audits only', () => {
      const d = decideSource({ evidence: bad, quarantine: null, mode: 'observe', now: NOW });
      assert.equal(d.action, 'audit');
      assert.equal(d.quarantine, null);
      assert.match(d.sentence, /^Observe mode: would quarantine routing rule "VP Sales": .*; its leads keep flowing$/);
    });
    for (const mode of ['enforce', 'suggest', 'observe'] as const) {
      it(`a healthy source: nothing to do (${mode})`, () => {
        const d = decideSource({ evidence: evidence(100, 1), quarantine: null, mode, now: NOW });
        assert.equal(d.action, 'none');
        assert.equal(d.quarantine, null);
      });
      it(`a quarantined source stays quarantined, even on clean counts, until a person releases it (${mode})`, () => {
        const q = { since: NOW - 3_600_000, reason: 'bad list' };
        const d = decideSource({ evidence: evidence(1000, 0), quarantine: q, mode, now: NOW });
        assert.equal(d.action, 'none');
        assert.equal(d.quarantine, q);
        assert.equal(d.sentence, 'routing rule "VP Sales" stays quarantined since 2026-11-21 11:00 UTC (bad list) until a person releases it');
      });
    }
    it('a person releases it; counting starts afresh', () => {
      const r = releaseSource(bad, { since: NOW - 3_600_000, reason: 'bad list' }, 'ops@acme.io', NOW);
      assert.deepEqual(r, {
        quarantine: null,
        countFrom: NOW,
        sentence: 'routing rule "VP Sales" released by ops@acme.io at 2026-11-21 12:00 UTC (quarantined since 2026-11-21 11:00 UTC); its held leads are evaluated again and its bounces are counted afresh',
      });
      assert.equal(decideSource({ evidence: evidence(5, 0), quarantine: r.quarantine, mode: 'enforce', now: NOW }).action, 'none');
    });
  });
});
