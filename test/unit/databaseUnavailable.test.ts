import assert from 'node:assert/strict';
import { isDatabaseUnavailable } from '../../src/db/unavailable';

describe('isDatabaseUnavailable: which errors become 503 instead of 500', () => {
  const cases: [string, unknown, boolean][] = [
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }), true],
    ['connection reset', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), true],
    ['the server is shutting down (57P01)', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }), true],
    ['crash recovery (57P03)', Object.assign(new Error('the database system is starting up'), { code: '57P03' }), true],
    ['too many connections (53300)', Object.assign(new Error('sorry, too many clients already'), { code: '53300' }), true],
    ['connection failure (08006)', Object.assign(new Error('connection failure'), { code: '08006' }), true],
    ['no pooled connection in time', Object.assign(new Error('Knex: Timeout acquiring a connection.'), { name: 'KnexTimeoutError' }), true],
    ['the server went away mid-query', new Error('Connection terminated unexpectedly'), true],
    ['a missing table is a bug, not an outage (42P01)', Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }), false],
    ['a unique violation (23505)', Object.assign(new Error('duplicate key'), { code: '23505' }), false],
    ['a plain error', new Error('boom'), false],
    ['not an error at all', 'ECONNREFUSED', false],
    ['null', null, false],
  ];
  for (const [what, error, expected] of cases) {
    it(`${what} → ${expected ? '503' : 'not 503'}`, () => assert.equal(isDatabaseUnavailable(error), expected));
  }
});
