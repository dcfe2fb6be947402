/** Mocha root hooks: stop shared test infrastructure once every suite has run. */
import { stopTestStack } from './stack';

process.env.NODE_ENV ??= 'test';
// The shared Smartlead budget (decision 016) defaults to Smartlead's standard plan, 60 a minute: far below what the
// suites send to their simulators. Each suite's simulator limit is matched by its clients' in-process guard
// (FAST_SMARTLEAD_CLIENT, the engine stacks); smartleadBudget.test.ts sets the shared budgets it tests explicitly.
process.env.SMARTLEAD_RATE_LIMIT_PER_MINUTE ??= '10000';
process.env.SMARTLEAD_RATE_LIMIT_BURST ??= '10000';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopTestStack();
  },
};
