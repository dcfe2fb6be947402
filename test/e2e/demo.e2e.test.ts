/** `npm run demo` plays its story to the end against the simulator and leaves nothing running. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedStackEnv, processesMatching, runEntryPoint } from '../support/processes';

describe('npm run demo (end to end)', function () {
  this.timeout(180_000);
  // Made in before(), not when the file loads: a run that skips this suite (--grep) leaves no folder behind.
  let dataDir = '';
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-demo-'));
  });
  after(() => {
    if (dataDir !== '') fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('syncs the simulated Smartlead account, streams its webhooks through Drason, and narrates what was recorded', async () => {
    const demo = runEntryPoint('src/workers/demo.ts', { ...(await embeddedStackEnv(dataDir, 'error')), DRASON_ENCRYPTION_KEYS: '' }, ['--once', '--seconds', '6']);
    const code = await Promise.race([demo.exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 170_000))]);
    const out = demo.output();
    assert.equal(code, 0, out);
    assert.match(out, /Campaign "Founders — US — Q3" \(1001\) was found in Smartlead with status ACTIVE/);
    assert.match(out, /8 mailboxes found and now monitored/);
    const done = /Traffic done: (\d+) sends, (\d+) hard bounces/.exec(out);
    assert.ok(done, out);
    assert.ok(Number(done[1]) > 0 && Number(done[2]) > 0, 'traffic with bounces was delivered');
    assert.match(out, /Last audit entry for sam@getdrason-mail\.com: Recorded .*hard-bounce rate/);
    assert.match(out, /Watch sam@getdrason-mail\.com's entity workflow receive bounce signals: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/mailbox%2F/);
    assert.deepEqual(processesMatching(dataDir), [], 'Postgres and Temporal stopped with the demo');
  });
});
