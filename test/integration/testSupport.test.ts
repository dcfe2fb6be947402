/**
 * The test support itself leaves nothing behind: a suite's database is dropped when the suite is done (even with
 * connections still open to it), and a run that skips suites (--grep) makes no temporary folders for them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ROOT } from '../support/processes';
import { createTestDatabase, testPostgres } from '../support/stack';

const run = promisify(execFile);

describe('test support', function () {
  this.timeout(120_000);

  it('drops a test database, even while something is still connected to it', async () => {
    const t = await createTestDatabase({ migrate: false });
    const straggler = new pg.Client({ connectionString: t.superuserUrl });
    straggler.on('error', () => undefined); // it is about to be disconnected
    await straggler.connect();
    await t.drop();
    const { handle } = await testPostgres();
    const admin = new pg.Client({ connectionString: handle.superuserUrl });
    await admin.connect();
    try {
      const { rows } = await admin.query('select 1 from pg_database where datname = $1', [t.name]);
      assert.deepEqual(rows, [], `${t.name} still exists`);
    } finally {
      await admin.end();
      await straggler.end().catch(() => undefined);
    }
  });

  it('makes no temporary folder for an end-to-end suite that --grep skips', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'drason-grep-'));
    try {
      await run(process.execPath, [path.join(ROOT, 'node_modules/mocha/bin/mocha.js'), '--grep', 'matches no test at all', 'test/e2e/*.test.ts'], {
        cwd: ROOT,
        env: { ...process.env, TMPDIR: tmp, NODE_ENV: 'test', LOG_LEVEL: 'error' },
      });
      // Only Drason's own folders: tools (a compile cache) may keep theirs.
      assert.deepEqual(fs.readdirSync(tmp).filter((name) => name.startsWith('drason-')), []);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
