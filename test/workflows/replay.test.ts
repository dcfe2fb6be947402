/**
 * Replay tests: workflow code must stay deterministic for histories already recorded. Every history under
 * test/workflows/histories/ was recorded from an earlier version of the workflow code and is replayed against the
 * current code; a change that would break running workflows fails here. Record a new one with
 * `npm run histories:record -- <name>` (test/workflows/recordHistories.ts) before changing a workflow, and keep the
 * old ones: recording and replaying the same code in one run would prove nothing.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';

const HISTORIES = path.join(__dirname, 'histories');
const workflowsPath = require.resolve('../../src/workflows');

describe('workflow replay', function () {
  this.timeout(120_000);
  const files = fs.existsSync(HISTORIES) ? fs.readdirSync(HISTORIES).filter((f) => f.endsWith('.json')) : [];
  it('has recorded histories to replay', () => assert.ok(files.length > 0, 'no histories under test/workflows/histories'));
  for (const file of files) {
    it(`replays recorded history ${file}`, async () => {
      const history = temporal.api.history.v1.History.fromObject(JSON.parse(fs.readFileSync(path.join(HISTORIES, file), 'utf8')));
      await Worker.runReplayHistory({ workflowsPath }, history);
    });
  }
});
