/** Helpers to run Drason's own entry points as child processes in tests. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports';

export const ROOT = path.resolve(__dirname, '../..');

export interface Running {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Runs a TypeScript entry point with ts-node (transpile-only), as `npm start` would after building. */
export function runEntryPoint(entry: string, env: NodeJS.ProcessEnv, args: string[] = []): Running {
  const child = spawn(process.execPath, ['-r', 'ts-node/register', entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: async (pattern, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(out);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`process exited (${child.exitCode}) before ${pattern}:\n${out}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${out}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}

/**
 * The environment of an `npm start`-like entry point with nothing configured: embedded PostgreSQL and Temporal with
 * their data in `dataDir`, every port free, and no variable inherited from the test process's environment.
 */
export async function embeddedStackEnv(dataDir: string, logLevel: string): Promise<NodeJS.ProcessEnv> {
  return {
    DRASON_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    EMBEDDED_PG_PORT: String(await freePort()),
    EMBEDDED_TEMPORAL_PORT: String(await freePort()),
    EMBEDDED_TEMPORAL_UI_PORT: String(await freePort()),
    LOG_LEVEL: logLevel,
    DATABASE_URL: '',
    TEMPORAL_ADDRESS: '',
    DRASON_ADMIN_TOKEN: '',
  };
}

/** Command lines of all processes whose arguments contain `needle`. */
export function processesMatching(needle: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .filter((line) => line.includes(needle) && !line.includes('ps -eo'));
}

/** Polls `fn` every `pollMs` until it returns a value (a throw counts as not yet); fails after `timeoutMs` naming `what`. */
export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs: number, what: string, pollMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface StartedStack {
  /** The data folder (made in before()). */
  dataDir(): string;
  /** The environment every start of this suite gets (free ports, nothing inherited). */
  env(): NodeJS.ProcessEnv;
  /** Runs `npm start` (src/workers/start.ts) and waits until it says it is running; returns it and the API's URL. */
  start(): Promise<{ running: Running; api: string }>;
}

/**
 * For end-to-end suites that run `npm start` on a data folder of their own: registers mocha hooks that make the folder
 * (in before(), so a run that skips the suite leaves none) and, after the suite, stop every start still running and
 * kill whatever of the folder is left (a test that failed half-way may leave its servers), then remove it.
 */
export function npmStartOnOwnDataFolder(prefix: string): StartedStack {
  let dataDir = '';
  let env: NodeJS.ProcessEnv = {};
  const starts: Running[] = [];
  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    env = await embeddedStackEnv(dataDir, 'warn');
  });
  after(async () => {
    for (const start of starts.filter((s) => s.child.exitCode === null && s.child.signalCode === null)) {
      start.child.kill('SIGINT');
      await start.exited;
    }
    for (const line of dataDir === '' ? [] : processesMatching(dataDir)) process.kill(Number(line.trim().split(/\s+/)[0]), 'SIGKILL');
    if (dataDir !== '') fs.rmSync(dataDir, { recursive: true, force: true });
  });
  return {
    dataDir: () => dataDir,
    env: () => env,
    start: async () => {
      const running = runEntryPoint('src/workers/start.ts', env);
      starts.push(running);
      await running.waitFor(/Drason is running\./, 180_000);
      return { running, api: (await running.waitFor(/API:\s+(http\S+)/, 1000))[1]! };
    },
  };
}
