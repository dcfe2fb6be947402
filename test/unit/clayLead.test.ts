import assert from 'node:assert/strict';
import { leadIdempotencyKey, parseClayLead, type ClayLead } from '../../src/domain/clayLead';

const valid = { email: '  Jane.Doe@Acme.COM ', persona: ' CTO ', lead_score: 87, workable: true };

function lead(body: unknown): ClayLead {
  const result = parseClayLead(body);
  assert.ok(result.ok, `expected a lead, got ${JSON.stringify(result)}`);
  return result.lead;
}

function problems(body: unknown): Record<string, string> {
  const result = parseClayLead(body);
  assert.ok(!result.ok, 'expected problems');
  return Object.fromEntries(result.problems.map((p) => [p.path, p.message]));
}

describe('clay lead', () => {
  it('accepts a valid row: email trimmed and normalized, persona trimmed, no external id, no extra', () => {
    assert.deepEqual(lead(valid), { email: 'Jane.Doe@Acme.COM', normalizedEmail: 'jane.doe@acme.com', persona: 'CTO', leadScore: 87, extra: {} });
  });

  const scores: [unknown, number][] = [
    [87, 87],
    ['87', 87],
    [' 87 ', 87],
    ['-3', -3],
    ['+5', 5],
    [0, 0],
    ['0', 0],
  ];
  for (const [sent, parsed] of scores) {
    it(`accepts lead_score ${JSON.stringify(sent)} as ${parsed}`, () => {
      assert.equal(lead({ ...valid, lead_score: sent }).leadScore, parsed);
    });
  }

  const badScores: [unknown, RegExp][] = [
    ['87.5', /whole number.*"87\.5"/],
    [87.5, /whole number.*round it in Clay/],
    ['abc', /whole number.*"abc"/],
    ['', /is empty/],
    ['  ', /is empty/],
    [null, /is required/],
    [true, /whole number/],
    ['1e3', /whole number/],
    [Number.MAX_SAFE_INTEGER + 2, /too large/],
  ];
  for (const [sent, message] of badScores) {
    it(`refuses lead_score ${JSON.stringify(sent)}`, () => {
      assert.match(problems({ ...valid, lead_score: sent }).lead_score ?? '', message);
    });
  }

  const workable: [unknown, boolean][] = [
    [true, true],
    ['true', true],
    [' TRUE ', true],
    [false, false],
    ['false', false],
    ['yes', false],
    [1, false],
    [undefined, false],
  ];
  for (const [sent, ok] of workable) {
    it(`${ok ? 'accepts' : 'refuses'} workable ${JSON.stringify(sent)}`, () => {
      const result = parseClayLead({ ...valid, workable: sent });
      assert.equal(result.ok, ok);
      if (!result.ok) assert.deepEqual(result.problems.map((p) => p.path), ['workable']);
    });
  }

  const badEmails: [unknown, RegExp][] = [
    [undefined, /is required/],
    ['', /is empty/],
    ['jane@', /"jane@" is not a valid email address/],
    ['jane acme.com', /not a valid email/],
    [42, /must be text/],
    [`${'a'.repeat(320)}@acme.com`, /too long/],
  ];
  for (const [sent, message] of badEmails) {
    it(`refuses email ${JSON.stringify(sent)?.slice(0, 30)}`, () => {
      assert.match(problems({ ...valid, email: sent }).email ?? '', message);
    });
  }

  const badPersonas: [unknown, RegExp][] = [
    [undefined, /is required/],
    ['   ', /is empty/],
    [['CTO'], /must be text/],
    ['x'.repeat(201), /too long/],
  ];
  for (const [sent, message] of badPersonas) {
    it(`refuses persona ${JSON.stringify(sent)?.slice(0, 30)}`, () => {
      assert.match(problems({ ...valid, persona: sent }).persona ?? '', message);
    });
  }

  it('reports every bad field at once, each with a message a Clay user can act on', () => {
    const found = problems({ email: 'not-an-email', persona: '', lead_score: '87.5', workable: false, external_id: { id: 1 }, company: 'Acme' });
    assert.deepEqual(Object.keys(found), ['email', 'persona', 'lead_score', 'workable', 'external_id']);
    for (const message of Object.values(found)) assert.ok(message.length > 15, message);
  });

  it('reports every missing field of an empty body', () => {
    assert.deepEqual(Object.keys(problems({})), ['email', 'persona', 'lead_score', 'workable']);
  });

  for (const body of [null, [], 'email=a@b.co', 42]) {
    it(`refuses a body that is not an object: ${JSON.stringify(body)}`, () => {
      assert.deepEqual(Object.keys(problems(body)), ['']);
    });
  }

  it('keeps extra columns untouched, apart from the known ones', () => {
    const extra = { first_name: 'Jane', company: { name: 'Acme', size: 40 }, linkedin: null, tags: ['a'] };
    assert.deepEqual(lead({ ...valid, external_id: 'r1', ...extra }).extra, extra);
  });

  it('keeps a column named __proto__ as a column, never as a prototype', () => {
    const parsed = lead(JSON.parse('{"email":"a@b.co","persona":"CTO","lead_score":1,"workable":true,"__proto__":{"polluted":1}}'));
    assert.deepEqual(Object.keys(parsed.extra), ['__proto__']);
    assert.equal(Object.getPrototypeOf(parsed.extra), Object.prototype);
  });

  const externalIds: [unknown, string | undefined][] = [
    ['row-17', 'row-17'],
    ['  row-17 ', 'row-17'],
    [17, '17'],
    [0, '0'],
    ['', undefined],
    [null, undefined],
    [undefined, undefined],
  ];
  for (const [sent, kept] of externalIds) {
    it(`takes external_id ${JSON.stringify(sent)} as ${JSON.stringify(kept)}`, () => {
      assert.equal(lead({ ...valid, external_id: sent }).externalId, kept);
      assert.equal('externalId' in lead({ ...valid, external_id: sent }), kept !== undefined);
    });
  }

  it('refuses an external_id that is neither text nor a number', () => {
    assert.match(problems({ ...valid, external_id: true }).external_id ?? '', /text or a number/);
    assert.match(problems({ ...valid, external_id: 'x'.repeat(256) }).external_id ?? '', /too long/);
  });

  describe('idempotency key (per organization)', () => {
    it('is the external_id when present', () => {
      assert.deepEqual(leadIdempotencyKey(lead({ ...valid, external_id: 17 })), { source: 'external_id', value: '17', key: 'external_id:17' });
    });
    it('is the normalized email otherwise, so case and spaces do not make a second lead', () => {
      const a = leadIdempotencyKey(lead(valid));
      const b = leadIdempotencyKey(lead({ ...valid, email: 'jane.doe@acme.com' }));
      assert.deepEqual(a, { source: 'email', value: 'jane.doe@acme.com', key: 'email:jane.doe@acme.com' });
      assert.deepEqual(a, b);
    });
    it('never confuses an external_id with an email', () => {
      const byId = leadIdempotencyKey(lead({ ...valid, email: 'x@y.co', external_id: 'jane.doe@acme.com' }));
      assert.notEqual(byId.key, leadIdempotencyKey(lead(valid)).key);
    });
    it('falls back to the email when external_id is an empty cell', () => {
      assert.equal(leadIdempotencyKey(lead({ ...valid, external_id: '  ' })).source, 'email');
    });
  });
});
