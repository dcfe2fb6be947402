/**
 * The Temporal dev server (`temporal server start-dev`) with a persistent SQLite file under the data folder,
 * the Web UI, and Drason's custom search attributes registered at launch. The file is journaled write-ahead
 * (`SQLITE_PRAGMAS`): SQLite's default rollback journal creates, syncs and deletes a journal file on every commit,
 * which left the file-backed server at less than half the signals per second of an in-memory one. A dev server left
 * running by an earlier start that was killed (SIGKILL) is stopped first (src/embedded/leftovers.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { componentLogger } from '../lib/logger';
import { temporalCliPath } from './binaries';
import { forgetPid, isTemporalOf, recordPid, stopLeftover, type LeftoverServer } from './leftovers';
import { SEARCH_ATTRIBUTES } from '../workflows/searchAttributes';

const log = componentLogger('embedded-temporal');

export interface EmbeddedTemporalHandle {
  address: string;
  uiUrl: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface EmbeddedTemporalOptions {
  /** Folder for temporal.sqlite; omit for an in-memory server (tests). */
  dataDir?: string;
  /** SQLite pragmas of the file (default `SQLITE_PRAGMAS`; the benchmark's baseline passes none). */
  sqlitePragmas?: readonly string[];
  port: number;
  uiPort?: number;
  namespace: string;
  headless?: boolean;
  cliPath?: string;
}

/**
 * A dev server of an earlier start killed without an orderly stop keeps running, holding its ports and the SQLite
 * file. It records no pid of its own, so each start writes one (temporal.pid beside temporal.sqlite).
 */
export function leftoverTemporal(dataDir: string): LeftoverServer {
  return {
    name: 'Temporal dev server',
    pidFile: path.join(dataDir, 'temporal.pid'),
    isServer: (info) => isTemporalOf(info, path.join(dataDir, 'temporal.sqlite')),
    stopSignals: [
      { signal: 'SIGTERM', waitMs: 10_000 },
      { signal: 'SIGKILL', waitMs: 5_000 },
    ],
  };
}

/**
 * WAL with synchronous=NORMAL: a commit is durable once it is in the write-ahead log, so a killed server (SIGKILL)
 * loses nothing; a power cut can lose the last commits (SQLite's documented trade for WAL). The embedded server is for
 * one machine; production points TEMPORAL_ADDRESS at a cluster (docs/decisions/018-temporal-sqlite-wal.md).
 */
export const SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

export async function startEmbeddedTemporal(options: EmbeddedTemporalOptions): Promise<EmbeddedTemporalHandle> {
  const cli = options.cliPath ?? temporalCliPath();
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn'];
  const leftover = options.dataDir === undefined ? undefined : leftoverTemporal(options.dataDir);
  if (options.dataDir !== undefined) {
    fs.mkdirSync(options.dataDir, { recursive: true });
    args.push('--db-filename', path.join(options.dataDir, 'temporal.sqlite'));
    for (const pragma of options.sqlitePragmas ?? SQLITE_PRAGMAS) args.push('--sqlite-pragma', pragma);
  }
  if (leftover !== undefined) await stopLeftover(leftover);
  if (options.headless === true || options.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort));
  if (options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);

  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const pidFile = leftover?.pidFile;
  if (pidFile !== undefined) recordPid(pidFile, child.pid);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
    log.debug(chunk.toString().trim());
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // If this process dies without an orderly stop, take the dev server with it.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
    if (pidFile !== undefined) forgetPid(pidFile, child.pid);
  };
  process.once('exit', killOnExit);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      process.removeListener('exit', killOnExit);
      if (pidFile !== undefined) forgetPid(pidFile, child.pid);
      resolve();
    });
  });

  const address = `127.0.0.1:${options.port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (exited) throw new Error(`Temporal dev server exited during start (port ${options.port} in use? set EMBEDDED_TEMPORAL_PORT):\n${output}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: options.namespace });
        break;
      } finally {
        await connection.close();
      }
    } catch (error) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`Temporal dev server did not become ready within 60 s: ${String(error)}\n${output}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  return {
    address,
    uiUrl: options.uiPort === undefined || options.headless === true ? '' : `http://127.0.0.1:${options.uiPort}`,
    process: child,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
