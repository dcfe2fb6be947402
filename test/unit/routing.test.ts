import assert from 'node:assert/strict';
import { describeRule, parseRoutingRules, route, validateRuleCampaigns, type RoutingRule } from '../../src/domain/routing';

function rules(body: unknown): RoutingRule[] {
  const result = parseRoutingRules(body);
  assert.ok(result.ok, `expected rules, got ${JSON.stringify(result)}`);
  return result.rules;
}

function problems(body: unknown): Record<string, string> {
  const result = parseRoutingRules(body);
  assert.ok(!result.ok, 'expected problems');
  return Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
}

const one = (when: object): RoutingRule[] => rules([{ name: 'r', when, campaignId: 1 }]);

describe('routing rules', () => {
  describe('one condition or a combination', () => {
    // [what, when, persona, score, matches]
    const table: [string, object, string, number, boolean][] = [
      ['persona string, same case', { persona: 'CTO' }, 'CTO', 10, true],
      ['persona string, other case', { persona: 'cto' }, 'Cto', 10, true],
      ['persona string, spaces around the lead', { persona: 'CTO' }, '  cto ', 10, true],
      ['persona string, spaces around the rule', { persona: '  VP   Sales ' }, 'vp sales', 10, true],
      ['persona string, other persona', { persona: 'CTO' }, 'CIO', 10, false],
      ['persona string, not a substring match', { persona: 'CTO' }, 'CTO, co-founder', 10, false],
      ['persona list, first', { persona: ['CTO', 'CIO'] }, 'cto', 10, true],
      ['persona list, last, other case', { persona: ['CTO', 'CIO'] }, ' CIO', 10, true],
      ['persona list, none', { persona: ['CTO', 'CIO'] }, 'CFO', 10, false],
      ['min only, above', { minScore: 80 }, 'x', 81, true],
      ['min only, at (inclusive)', { minScore: 80 }, 'x', 80, true],
      ['min only, below', { minScore: 80 }, 'x', 79, false],
      ['max only, below', { maxScore: 20 }, 'x', 19, true],
      ['max only, at (inclusive)', { maxScore: 20 }, 'x', 20, true],
      ['max only, above', { maxScore: 20 }, 'x', 21, false],
      ['min and max, at min', { minScore: 50, maxScore: 60 }, 'x', 50, true],
      ['min and max, at max', { minScore: 50, maxScore: 60 }, 'x', 60, true],
      ['min and max, inside', { minScore: 50, maxScore: 60 }, 'x', 55, true],
      ['min and max, below', { minScore: 50, maxScore: 60 }, 'x', 49, false],
      ['min and max, above', { minScore: 50, maxScore: 60 }, 'x', 61, false],
      ['min equal to max, at it', { minScore: 50, maxScore: 50 }, 'x', 50, true],
      ['negative bounds', { minScore: -10, maxScore: -5 }, 'x', -7, true],
      ['persona and min, both hold', { persona: 'CTO', minScore: 80 }, 'cto', 87, true],
      ['persona and min, persona fails', { persona: 'CTO', minScore: 80 }, 'CIO', 87, false],
      ['persona and min, score fails', { persona: 'CTO', minScore: 80 }, 'CTO', 79, false],
      ['persona and min, both fail', { persona: 'CTO', minScore: 80 }, 'CIO', 79, false],
      ['persona and max, both hold', { persona: 'CTO', maxScore: 30 }, 'CTO', 30, true],
      ['persona and max, score fails', { persona: 'CTO', maxScore: 30 }, 'CTO', 31, false],
      ['persona list and min and max, all hold', { persona: ['CTO', 'CIO'], minScore: 40, maxScore: 90 }, 'cio', 90, true],
      ['persona list and min and max, score below', { persona: ['CTO', 'CIO'], minScore: 40, maxScore: 90 }, 'cio', 39, false],
      ['persona list and min and max, persona fails', { persona: ['CTO', 'CIO'], minScore: 40, maxScore: 90 }, 'CFO', 60, false],
      ['catch-all', {}, 'anyone', -1000, true],
    ];
    for (const [what, when, persona, score, matches] of table) {
      it(`${matches ? 'matches' : 'does not match'}: ${what}`, () => {
        const result = route({ persona, leadScore: score }, one(when));
        assert.equal(result.matched, matches);
        if (result.matched) assert.equal(result.campaignId, '1');
      });
    }
  });

  it('explains a match in plain English', () => {
    const list = rules([
      { name: 'CIO', when: { persona: 'CIO' }, campaignId: 'B' },
      { name: 'CTO high score', when: { persona: 'CTO', minScore: 80 }, campaignId: 'A' },
    ]);
    const result = route({ persona: 'CTO', leadScore: 87 }, list);
    assert.deepEqual(result, { matched: true, rule: list[1], index: 1, campaignId: 'A', explanation: "matched rule 2 'CTO high score': persona CTO, score 87 ≥ 80" });
  });

  const explanations: [object, string, number, string][] = [
    [{ persona: ['CTO', 'CIO'] }, 'cio', 1, "matched rule 1 'r': persona cio (one of CTO, CIO)"],
    [{ maxScore: 20 }, 'x', 20, "matched rule 1 'r': score 20 ≤ 20"],
    [{ minScore: 10, maxScore: 20 }, 'x', 15, "matched rule 1 'r': score 15 between 10 and 20"],
    [{}, 'x', 15, "matched rule 1 'r': it matches every lead"],
  ];
  for (const [when, persona, score, explanation] of explanations) {
    it(`explains: ${explanation}`, () => {
      const result = route({ persona, leadScore: score }, one(when));
      assert.ok(result.matched);
      assert.equal(result.explanation, explanation);
    });
  }

  it('takes the first match in order, even when a later rule also matches', () => {
    const list = rules([
      { name: 'CFO', when: { persona: 'CFO' }, campaignId: 3 },
      { name: 'high', when: { minScore: 50 }, campaignId: 1 },
      { name: 'CTO', when: { persona: 'CTO' }, campaignId: 2 },
      { name: 'rest', when: {}, campaignId: 9 },
    ]);
    const pick = (persona: string, leadScore: number): string | undefined => {
      const r = route({ persona, leadScore }, list);
      return r.matched ? r.campaignId : undefined;
    };
    assert.equal(pick('CTO', 87), '1');
    assert.equal(pick('CTO', 10), '2');
    assert.equal(pick('CFO', 99), '3');
    assert.equal(pick('Intern', 1), '9');
  });

  it('gives a readable reason, and why each rule missed, when nothing matches', () => {
    const list = rules([
      { name: 'CTO high score', when: { persona: 'CTO', minScore: 80 }, campaignId: 1 },
      { name: 'CIO', when: { persona: ['CIO', 'VP IT'] }, campaignId: 2 },
      { name: 'mid', when: { minScore: 40, maxScore: 60 }, campaignId: 3 },
    ]);
    const result = route({ persona: ' Intern ', leadScore: 12 }, list);
    assert.deepEqual(result, {
      matched: false,
      reason: "no matching rule: persona 'Intern' (score 12) matches none of 3 rules",
      misses: [
        "rule 1 'CTO high score': persona Intern is not CTO, score 12 < 80",
        "rule 2 'CIO': persona Intern is not any of CIO, VP IT",
        "rule 3 'mid': score 12 is not between 40 and 60",
      ],
    });
    const over = route({ persona: 'x', leadScore: 5 }, one({ maxScore: 4 }));
    assert.ok(!over.matched);
    assert.equal(over.reason, "no matching rule: persona 'x' (score 5) matches none of 1 rule");
    assert.deepEqual(over.misses, ["rule 1 'r': score 5 > 4"]);
  });

  it('keeps every lead held when there are no rules, and says so', () => {
    const result = route({ persona: 'CTO', leadScore: 90 }, rules([]));
    assert.ok(!result.matched);
    assert.match(result.reason, /^no matching rule: no routing rules are configured, so persona 'CTO' \(score 90\) stays held/);
    assert.deepEqual(result.misses, []);
  });

  describe('PUT body', () => {
    it('accepts campaign ids as text or integers and stores them as text; trims names and personas', () => {
      const parsed = rules([
        { name: ' A ', when: { persona: ' CTO ' }, campaignId: 123 },
        { name: 'B', when: { persona: ['CIO', ' VP IT'] }, campaignId: ' 456 ' },
      ]);
      assert.deepEqual(parsed, [
        { name: 'A', when: { persona: 'CTO' }, campaignId: '123' },
        { name: 'B', when: { persona: ['CIO', 'VP IT'] }, campaignId: '456' },
      ]);
    });

    it('accepts an empty list and an explicit catch-all last', () => {
      assert.deepEqual(rules([]), []);
      assert.equal(rules([{ name: 'x', when: { persona: 'CTO' }, campaignId: 1 }, { name: 'rest', when: {}, campaignId: 2 }]).length, 2);
    });

    const refused: [string, unknown, string, RegExp][] = [
      ['not an array', { name: 'x' }, '', /JSON array of rules/],
      ['a rule that is not an object', ['x'], '0', /must be a rule/],
      ['a missing name', [{ when: {}, campaignId: 1 }], '0.name', /is required/],
      ['an empty name', [{ name: '  ', when: {}, campaignId: 1 }], '0.name', /must not be empty/],
      ['a missing when (a catch-all must be explicit)', [{ name: 'x', campaignId: 1 }], '0.when', /\{\} matches every lead/],
      ['an unknown condition', [{ name: 'x', when: { minscore: 3 }, campaignId: 1 }], '0.when', /minscore/],
      ['an unknown rule key', [{ name: 'x', when: {}, campaignId: 1, priority: 1 }], '0', /priority/],
      ['an empty persona', [{ name: 'x', when: { persona: ' ' }, campaignId: 1 }], '0.when.persona', /.+/],
      ['an empty persona list', [{ name: 'x', when: { persona: [] }, campaignId: 1 }], '0.when.persona', /.+/],
      ['a persona that is a number', [{ name: 'x', when: { persona: 7 }, campaignId: 1 }], '0.when.persona', /persona \(text\) or a list/],
      ['a fractional minScore', [{ name: 'x', when: { minScore: 80.5 }, campaignId: 1 }], '0.when.minScore', /whole number/],
      ['a minScore as text', [{ name: 'x', when: { minScore: '80' }, campaignId: 1 }], '0.when.minScore', /whole number/],
      ['a fractional maxScore', [{ name: 'x', when: { maxScore: 0.5 }, campaignId: 1 }], '0.when.maxScore', /whole number/],
      ['minScore above maxScore', [{ name: 'x', when: { minScore: 81, maxScore: 80 }, campaignId: 1 }], '0.when.minScore', /not be above maxScore \(80\)/],
      ['a missing campaignId', [{ name: 'x', when: {} }], '0.campaignId', /campaign id/],
      ['an empty campaignId', [{ name: 'x', when: {}, campaignId: ' ' }], '0.campaignId', /.+/],
      ['a fractional campaignId', [{ name: 'x', when: {}, campaignId: 1.5 }], '0.campaignId', /campaign id/],
      [
        'a duplicate name, ignoring case',
        [
          { name: 'CTO', when: { persona: 'CTO' }, campaignId: 1 },
          { name: ' cto ', when: { persona: 'CIO' }, campaignId: 2 },
        ],
        '1.name',
        /must be unique: rule 1 is also named "CTO"/,
      ],
      [
        'a rule after a catch-all',
        [
          { name: 'rest', when: {}, campaignId: 1 },
          { name: 'CTO', when: { persona: 'CTO' }, campaignId: 2 },
        ],
        '1',
        /unreachable: rule 1 "rest" above it matches every lead/,
      ],
    ];
    for (const [what, body, path, message] of refused) {
      it(`refuses ${what}`, () => {
        const found = problems(body);
        assert.ok(path in found, `expected a problem at "${path}", got ${JSON.stringify(found)}`);
        assert.match(found[path] ?? '', message);
      });
    }

    it('names every bad field of every rule at once', () => {
      const found = problems([
        { name: '', when: { minScore: 'high' }, campaignId: 1 },
        { name: 'ok', when: { persona: 'CTO', minScore: 9, maxScore: 1 }, campaignId: null },
      ]);
      assert.deepEqual(Object.keys(found).sort(), ['0.name', '0.when.minScore', '1.campaignId', '1.when.minScore']);
    });

    it('refuses more than 1,000 rules', () => {
      const many = Array.from({ length: 1001 }, (_, i) => ({ name: `r${i}`, when: { minScore: i }, campaignId: i }));
      assert.match(problems(many)[''] ?? '', /at most 1000 rules/);
    });
  });

  describe('campaigns of the rules', () => {
    const list = rules([
      { name: 'A', when: { persona: 'CTO' }, campaignId: 1 },
      { name: 'B', when: { persona: 'CIO' }, campaignId: '2' },
      { name: 'C', when: {}, campaignId: 3 },
    ]);
    it('accepts rules whose campaigns are all known', () => {
      assert.deepEqual(validateRuleCampaigns(list, ['1', '2', '3', '4']), []);
    });
    it('names each rule pointing at an unknown or deleted campaign', () => {
      const found = validateRuleCampaigns(list, new Set(['1', '3']), ['3']);
      assert.deepEqual(
        found.map((p) => p.path),
        ['1.campaignId', '2.campaignId'],
      );
      assert.match(found[0]?.message ?? '', /campaign 2 is unknown to Drason.*rule 2 'B'/);
      assert.match(found[1]?.message ?? '', /campaign 3 was deleted.*rule 3 'C'/);
    });
    it('has nothing to check without rules', () => {
      assert.deepEqual(validateRuleCampaigns([], []), []);
    });
  });

  it('describes a rule for the audit log', () => {
    const [a, b, c, d] = rules([
      { name: 'a', when: { persona: 'CTO', minScore: 80 }, campaignId: 1 },
      { name: 'b', when: { persona: ['CIO', 'CFO'], maxScore: 10 }, campaignId: 2 },
      { name: 'c', when: { minScore: 1, maxScore: 5 }, campaignId: 3 },
      { name: 'd', when: {}, campaignId: 4 },
    ]);
    assert.deepEqual([a, b, c, d].map((r) => (r ? describeRule(r) : '')), [
      'persona CTO and score ≥ 80 → campaign 1',
      'persona any of CIO, CFO and score ≤ 10 → campaign 2',
      'score between 1 and 5 → campaign 3',
      'every lead → campaign 4',
    ]);
  });
});
