/**
 * End to end: `npm start` killed with SIGKILL (the OOM killer, `kill -9`) has no chance to stop its embedded
 * PostgreSQL and Temporal dev server, which keep its data folder's ports and files. The next start on the same data
 * folder stops those leftovers, says so, and starts normally; afterwards nothing is left running.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isRunning } from '../../src/embedded/leftovers';
import { embeddedStackEnv, processesMatching, runEntryPoint, until, type Running } from '../support/processes';

describe('npm start after the previous start was killed with SIGKILL (end to end)', function () {
  this.timeout(240_000);
  // Made in before(), not when the file loads: a run that skips this suite (--grep) leaves no folder behind.
  let dataDir = '';
  let env: NodeJS.ProcessEnv;
  const starts: Running[] = [];

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-e2e-kill-'));
    env = await embeddedStackEnv(dataDir, 'warn');
  });

  after(async () => {
    for (const start of starts.filter((s) => s.child.exitCode === null && s.child.signalCode === null)) {
      start.child.kill('SIGINT');
      await start.exited;
    }
    // If the test failed half-way, servers of this (unique) data folder may still run: they are this test's own.
    for (const line of dataDir === '' ? [] : processesMatching(dataDir)) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    if (dataDir !== '') fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(): Promise<Running> {
    const running = runEntryPoint('src/workers/start.ts', env);
    starts.push(running);
    await running.waitFor(/Drason is running\./, 180_000);
    return running;
  }

  const recordedPid = (file: string): number => Number(fs.readFileSync(path.join(dataDir, file), 'utf8').split('\n')[0]);

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
    await until(async () => (processesMatching(dataDir).length === 0 ? true : undefined), 30_000, 'every server of the data folder to exit');
    assert.ok(!fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid')), 'PostgreSQL stopped cleanly');
    assert.ok(!fs.existsSync(path.join(dataDir, 'temporal.pid')), 'the Temporal pid file is removed on an orderly stop');
  });
});
