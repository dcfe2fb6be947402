/**
 * What the workflow bundle holds. Every workflow the worker caches loads it, so a module that creeps in through an
 * import chain costs memory per cached workflow: zod, reached through `featureOn` in src/domain/settings.ts, made the
 * bundle half as large again and doubled the worker's RSS with 1,000 mailbox workflows cached (982 MiB against
 * 1,909 MiB peak in `npm run bench -- --scenario ingest`). Workflow code may use the Temporal SDK and Drason's pure
 * code (src/workflows, src/domain) only.
 */
import assert from 'node:assert/strict';
import { bundleWorkflowCode } from '@temporalio/worker';

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
/** Packages workflow code may reach: the SDK and what it needs itself. */
const ALLOWED_PACKAGES = ['@temporalio/workflow', '@temporalio/common', '@temporalio/proto', 'long', 'nexus-rpc', 'ms'];

describe('the workflow bundle', function () {
  this.timeout(120_000);

  it('holds only the Temporal SDK and Drason code from src/workflows and src/domain (no zod, nothing else from node_modules)', async () => {
    const { code } = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet });
    const modules = [...code.matchAll(/\n\/\*\*\*\/ "(\.\/[^"]+)"/g)].map((m) => m[1]!);
    assert.ok(modules.some((m) => m.startsWith('./src/workflows/')), 'the bundle lists its modules');
    const outside = modules.filter((m) => {
      const pkg = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(m)?.[1];
      return pkg === undefined ? !m.startsWith('./src/workflows/') && !m.startsWith('./src/domain/') : !ALLOWED_PACKAGES.includes(pkg);
    });
    assert.deepEqual(outside, [], `modules the workflow code should not reach:\n${outside.join('\n')}`);
  });
});
