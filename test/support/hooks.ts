/** Mocha root hooks: stop shared test infrastructure once every suite has run. */
import { stopTestStack } from './stack';

process.env.NODE_ENV ??= 'test';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopTestStack();
  },
};
