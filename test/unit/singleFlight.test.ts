import assert from 'node:assert/strict';
import { SingleFlight } from '../../src/lib/singleFlight';

describe('SingleFlight: concurrent lookups of one credential share one call', () => {
  it('answers concurrent calls with the same key from one call, and other keys from their own', async () => {
    const flight = new SingleFlight<string>();
    const calls: string[] = [];
    const lookup = (key: string) => flight.run(key, async () => (calls.push(key), `${key}!`));
    const answers = await Promise.all([lookup('a'), lookup('a'), lookup('b'), lookup('a')]);
    assert.deepEqual(answers, ['a!', 'a!', 'b!', 'a!']);
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('caches nothing: a call after the shared one settled looks up afresh (so a revocation is seen)', async () => {
    const flight = new SingleFlight<number>();
    let version = 0;
    const lookup = () => flight.run('key', async () => (version += 1));
    assert.equal(await lookup(), 1);
    assert.equal(await lookup(), 2);
  });

  it('shares a failure with the calls that waited on it, then forgets it', async () => {
    const flight = new SingleFlight<string>();
    let fail = true;
    const lookup = () => flight.run('key', async () => {
      if (fail) throw new Error('database unavailable');
      return 'ok';
    });
    const outcomes = await Promise.allSettled([lookup(), lookup()]);
    assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
    fail = false;
    assert.equal(await lookup(), 'ok');
  });
});
