/**
 * `npm run demo` tells the mailbox engine's whole story as a user reads it, and leaves nothing running: in enforce
 * mode with short settings, the bouncing mailbox goes warning → paused (suspended at the simulator) → recovering
 * (unsuspended) → healthy, with one suspend and one unsuspend reaching Smartlead, while the healthy mailboxes are
 * never touched.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { embeddedStackEnv, processesMatching, runEntryPoint } from '../support/processes';

const STORM = 'sam@getdrason-mail\\.com';

describe('npm run demo (end to end)', function () {
  this.timeout(180_000);
  // Made in before(), not when the file loads: a run that skips this suite (--grep) leaves no folder behind.
  let dataDir = '';
  before(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-demo-'));
  });
  /** The demo run by the test; still running only when the test failed or timed out. */
  let demo: ReturnType<typeof runEntryPoint> | undefined;
  afterEach(async () => {
    // A demo that did not finish is stopped the way a user would stop it: it stops Postgres and Temporal on SIGINT.
    if (demo !== undefined && demo.child.exitCode === null && demo.child.signalCode === null) {
      demo.child.kill('SIGINT');
      await demo.exited;
    }
  });
  after(() => {
    if (dataDir !== '') fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('narrates warning, pause (suspended in Smartlead), recovery (unsuspended) and health again, touching no healthy mailbox', async () => {
    demo = runEntryPoint('src/workers/demo.ts', { ...(await embeddedStackEnv(dataDir, 'error')), DRASON_ENCRYPTION_KEYS: '' }, ['--once']);
    const code = await demo.exited;
    const out = demo.output();
    assert.equal(code, 0, out);

    // Set up: synced from the simulator, then enforce with seconds instead of hours.
    assert.match(out, /Campaign "Founders — US — Q3" \(1001\) was found in Smartlead with status ACTIVE/);
    assert.match(out, /8 mailboxes found and now monitored/);
    assert.match(out, /audit: Settings version 2 .*the mode changed from observe to enforce.*changed from 360 minutes to 0\.25 minutes \(15 s\)/);

    // The story, in order, each step with its audit sentence and the mailbox as the API shows it.
    const steps = [
      ['warning', new RegExp(`Step 1 of 4, warning \\(\\+\\d+ s\\): Mailbox ${STORM} moved to warning: hard-bounce rate [\\d.]+% .* reached the pause threshold 5%`)],
      ['paused', new RegExp(`Step 2 of 4, paused \\(\\+\\d+ s\\): Paused mailbox ${STORM}: .*Suspended in Smartlead`)],
      ['recovering', new RegExp(`Step 3 of 4, recovering \\(\\+\\d+ s\\): Resumed mailbox ${STORM}: its cooldown ended .*Unsuspended in Smartlead`)],
      ['healthy', new RegExp(`Step 4 of 4, healthy \\(\\+\\d+ s\\): Mailbox ${STORM} passed probation and is healthy again`)],
    ] as const;
    const at = steps.map(([name, pattern]) => {
      const match = pattern.exec(out);
      assert.ok(match, `the ${name} step is narrated:\n${out}`);
      return match.index;
    });
    assert.deepEqual([...at].sort((a, b) => a - b), at, 'the steps appear in story order');
    const block = (i: number): string => out.slice(at[i], at[i + 1] ?? out.indexOf('The other mailboxes'));
    assert.match(block(0), /state warning, riskScore \d+, cooldownUntil none/);
    assert.match(block(1), /email account 5002 \(sam@getdrason-mail\.com\) is suspended \(is_suspended: true\)/);
    assert.match(block(1), /state paused, riskScore \d+, cooldownUntil \d\d:\d\d:\d\d UTC/);
    assert.match(block(2), /email account 5002 is unsuspended \(is_suspended: false\)/);
    assert.match(block(2), /state recovering/);
    assert.match(block(3), /No bounces since the resume/);
    assert.match(block(3), /state healthy, riskScore \d+, cooldownUntil none/);
    for (let i = 0; i < steps.length; i += 1) {
      assert.match(block(i), /Temporal Web UI: http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/mailbox%2F[0-9a-f-]+%2Fsam%40getdrason-mail\.com/);
    }

    // Smartlead saw exactly one suspend and one unsuspend, all for the bouncing mailbox.
    assert.match(out, /the simulator received 1 suspend and 1 unsuspend for it; the 3 healthy mailboxes received 0 suspend and 0 unsuspend\./);
    assert.match(out, /untouched: alex@getdrason-mail\.com healthy .*; jordan@getdrason-mail\.com healthy .*; taylor@trydrason\.io healthy /);
    assert.match(out, /\/v1\/mailboxes\/sam@getdrason-mail\.com\/override/);
    assert.match(out, /temporal workflow signal .* --name override/);
    assert.deepEqual(processesMatching(dataDir), [], 'Postgres and Temporal stopped with the demo');
  });
});
