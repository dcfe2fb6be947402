/**
 * End to end: `npm start` killed with SIGKILL (the OOM killer, `kill -9`) has no chance to stop its embedded
 * PostgreSQL and Temporal dev server, which keep its data folder's ports and files. The next start on the same data
 * folder stops those leftovers, says so, and starts normally; afterwards nothing is left running.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isRunning } from '../../src/embedded/leftovers';
import { npmStartOnOwnDataFolder, processesMatching, until } from '../support/processes';

describe('npm start after the previous start was killed with SIGKILL (end to end)', function () {
  this.timeout(240_000);
  const stack = npmStartOnOwnDataFolder('drason-e2e-kill-');
  const start = async () => (await stack.start()).running;

  const recordedPid = (file: string): number => Number(fs.readFileSync(path.join(stack.dataDir(), file), 'utf8').split('\n')[0]);

  it('stops the leftover PostgreSQL and Temporal dev server of its data folder, starts normally, and leaves nothing behind', async () => {
    const first = await start();
    const postgresPid = recordedPid('postgres/postmaster.pid');
    const temporalPid = recordedPid('temporal.pid');
    assert.ok(isRunning(postgresPid) && isRunning(temporalPid));

    // Only the start process, not its process group: its children are left as a real SIGKILL leaves them.
    first.child.kill('SIGKILL');
    await first.exited;
    assert.ok(isRunning(postgresPid), 'PostgreSQL outlived the killed start');
    assert.ok(isRunning(temporalPid), 'the Temporal dev server outlived the killed start');

    const second = await start();
    assert.match(second.output(), new RegExp(`stopped a leftover PostgreSQL \\(pid ${postgresPid}\\) of this data folder from an earlier run`));
    assert.match(second.output(), new RegExp(`stopped a leftover Temporal dev server \\(pid ${temporalPid}\\) of this data folder from an earlier run`));
    assert.ok(!isRunning(postgresPid) && !isRunning(temporalPid), 'the leftovers are gone');
    assert.notEqual(recordedPid('postgres/postmaster.pid'), postgresPid, 'a new PostgreSQL runs on the same data');
    const api = (await second.waitFor(/API:\s+(http\S+)/, 1000))[1]!;
    assert.equal((await fetch(`${api}/readyz`)).status, 200);

    second.child.kill('SIGINT');
    assert.equal(await second.exited, 0);
    await until(async () => (processesMatching(stack.dataDir()).length === 0 ? true : undefined), 30_000, 'every server of the data folder to exit');
    assert.ok(!fs.existsSync(path.join(stack.dataDir(), 'postgres', 'postmaster.pid')), 'PostgreSQL stopped cleanly');
    assert.ok(!fs.existsSync(path.join(stack.dataDir(), 'temporal.pid')), 'the Temporal pid file is removed on an orderly stop');
  });
});
