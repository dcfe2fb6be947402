/** Child processes of the benchmark: TypeScript entry points run with ts-node (as the tests do), driven over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';

const ROOT = `${__dirname}/..`;

/**
 * Forks `entry` (a .ts file) with an IPC channel; its output goes to `logFile`, or to ours. With BENCH_CPU_PROFILE_DIR
 * set, each child writes a V8 CPU profile there when it exits (open it in Chrome DevTools or speedscope).
 */
export function forkTs(entry: string, options: { env?: NodeJS.ProcessEnv; logFile?: string } = {}): ChildProcess {
  const log = options.logFile === undefined ? 'inherit' : fs.openSync(options.logFile, 'a');
  try {
    return fork(entry, [], {
      cwd: ROOT,
      execArgv: ['-r', 'ts-node/register', ...(process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [])],
      ...(options.env === undefined ? {} : { env: options.env }),
      stdio: ['ignore', log, log, 'ipc'],
    });
  } finally {
    if (typeof log === 'number') fs.closeSync(log);
  }
}

/** The first IPC message of `child` that `accept` takes (returns non-undefined), or an error after `timeoutMs` or on exit. */
export function nextMessage<M, T>(child: ChildProcess, what: string, timeoutMs: number, accept: (m: M) => T | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    const onMessage = (m: M): void => {
      const value = accept(m);
      if (value === undefined) return;
      done();
      resolve(value);
    };
    const onExit = (code: number | null): void => {
      done();
      reject(new Error(`${what}: the process exited (${code})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** SIGTERM (an orderly stop), then SIGKILL after `graceMs`; resolves when the process is gone. */
export async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  if (child.connected) child.disconnect();
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** The last `chars` characters of a log file (for failure messages). */
export function tail(file: string, chars = 3000): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}
