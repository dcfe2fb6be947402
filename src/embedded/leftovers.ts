/**
 * Servers left running by an earlier start that was killed without an orderly stop (SIGKILL, the OOM killer): the
 * embedded PostgreSQL and the Temporal dev server outlive their parent and keep the data folder's ports and files,
 * so the next start would fail ("is another instance using it?"). A start looks up the pid the server recorded in
 * the data folder (postmaster.pid, temporal.pid), stops it only when /proc shows that pid really is that server *of
 * this data folder* and that no running start owns it any more, and then starts normally.
 *
 * What must never happen: a stale pid file, or a pid the system has since given to another process, getting an
 * unrelated process killed; or a second start killing the servers of a first one that is still running. Hence:
 * - the process's own command line and working directory decide (/proc/<pid>/cmdline, /proc/<pid>/cwd), not the file;
 * - a server whose parent is still a Node.js process belongs to a running start and is left alone;
 * - without /proc (not Linux) nothing can be verified, so nothing is stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { componentLogger } from '../lib/logger';

const log = componentLogger('embedded');

export interface ProcessInfo {
  pid: number;
  /** /proc/<pid>/cmdline: the arguments as the process was started (the postmaster never rewrites its own). */
  argv: string[];
  /** /proc/<pid>/cwd, when readable. The postmaster runs in its data folder. */
  cwd: string | undefined;
  /** The command line of its parent, when readable; an orphan's parent is init (or a subreaper), not Node.js. */
  parentArgv: string[] | undefined;
}

/** Whether `pid` is a process that has not exited (a zombie waiting to be reaped has exited). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, but belongs to another user (the postgres system user, when we are root and lack CAP_KILL).
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = statFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
}

/** The fields of /proc/<pid>/stat after the command name (state, ppid, …). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function commandLine(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** What /proc says about a running process; undefined when it has exited or /proc cannot tell. */
export function readProcess(pid: number): ProcessInfo | undefined {
  const argv = commandLine(pid);
  const ppid = Number(statFields(pid)?.[1]);
  if (argv === undefined || !isRunning(pid)) return undefined;
  let cwd: string | undefined;
  try {
    cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    cwd = undefined;
  }
  return { pid, argv, cwd, parentArgv: Number.isSafeInteger(ppid) && ppid > 0 ? commandLine(ppid) : undefined };
}

function canonical(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** `value` (absolute, or relative to the process's cwd) names `expected`; undefined when that cannot be told. */
function namesPath(info: ProcessInfo, value: string | undefined, expected: string): boolean | undefined {
  if (value === undefined) return false;
  if (!path.isAbsolute(value) && info.cwd === undefined) return undefined;
  return canonical(path.resolve(info.cwd ?? '/', value)) === canonical(expected);
}

const argumentAfter = (argv: string[], flag: string): string | undefined => {
  const at = argv.indexOf(flag);
  return at < 0 ? undefined : argv[at + 1];
};
const programIs = (argv: string[], name: string): boolean => path.basename(argv[0] ?? '') === name;

/** A PostgreSQL postmaster of `databaseDir`? undefined: cannot tell. */
export function isPostgresOf(info: ProcessInfo, databaseDir: string): boolean | undefined {
  if (!programIs(info.argv, 'postgres')) return false;
  // The postmaster chdirs to its data folder: the kernel's word beats the -D argument when both can be read.
  if (info.cwd !== undefined) return canonical(info.cwd) === canonical(databaseDir);
  return namesPath(info, argumentAfter(info.argv, '-D'), databaseDir);
}

/** A Temporal dev server keeping its state in `dbFile`? undefined: cannot tell. */
export function isTemporalOf(info: ProcessInfo, dbFile: string): boolean | undefined {
  if (!programIs(info.argv, 'temporal') || !info.argv.includes('start-dev')) return false;
  return namesPath(info, argumentAfter(info.argv, '--db-filename'), dbFile);
}

/** Its parent is a Node.js process: a start that is still running owns it (an orphan's parent is init or a reaper). */
export function ownedByRunningStart(info: ProcessInfo): boolean {
  const parent = info.parentArgv?.[0];
  return parent !== undefined && /^node(js)?[\d.]*$/.test(path.basename(parent));
}

export interface LeftoverServer {
  /** How messages name it: "PostgreSQL", "Temporal dev server". */
  name: string;
  /** Where the server's pid is recorded; its first line is the pid. */
  pidFile: string;
  /** Whether a process is this server of this data folder (undefined: cannot tell). */
  isServer(info: ProcessInfo): boolean | undefined;
  /** Signals to send in turn, each followed by a bounded wait for the process to exit. */
  stopSignals: { signal: NodeJS.Signals; waitMs: number }[];
}

export type LeftoverOutcome = { stopped: number } | { staleFileRemoved: number } | 'none' | 'left alone';

function recordedPid(pidFile: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pidFile, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.split('\n')[0]?.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Records the pid of a server that records none itself, so a later start can find it (see stopLeftover). */
export function recordPid(pidFile: string, pid: number | undefined): void {
  if (pid !== undefined) fs.writeFileSync(pidFile, `${pid}\n`);
}

/** Removes the pid file after an orderly stop, unless it already names a newer server. */
export function forgetPid(pidFile: string, pid: number | undefined): void {
  if (pid !== undefined && recordedPid(pidFile) === pid) fs.rmSync(pidFile, { force: true });
}

async function exited(pid: number, waitMs: number): Promise<boolean> {
  const deadline = Date.now() + waitMs;
  while (isRunning(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function stop(server: LeftoverServer, pid: number): Promise<void> {
  for (const { signal, waitMs } of server.stopSignals) {
    try {
      process.kill(pid, signal);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ESRCH') return;
      throw new Error(`Cannot send ${signal} to the leftover ${server.name} (pid ${pid}) of this data folder (${code ?? String(error)}): stop it, then start again.`, { cause: error });
    }
    if (await exited(pid, waitMs)) return;
    log.warn(`the leftover ${server.name} (pid ${pid}) did not stop after ${signal}`);
  }
  throw new Error(
    `A leftover ${server.name} (pid ${pid}) of this data folder from an earlier run did not stop after ${server.stopSignals.map((s) => s.signal).join(', ')}; stop it, then start again.`,
  );
}

/**
 * Stops the server recorded in `server.pidFile` when it is a leftover of this data folder; removes the pid file when
 * it names no such server at all (its process exited, or the pid now belongs to something else). Says which it did.
 */
export async function stopLeftover(server: LeftoverServer): Promise<LeftoverOutcome> {
  const pid = recordedPid(server.pidFile);
  if (pid === undefined) return 'none';
  if (!fs.existsSync('/proc/self/cmdline')) return 'left alone';
  const info = readProcess(pid);
  const verdict = info === undefined ? (isRunning(pid) ? undefined : false) : server.isServer(info);
  if (verdict === undefined) {
    log.warn(`${server.pidFile} names pid ${pid}, which cannot be verified to be a ${server.name} of this data folder: left alone`);
    return 'left alone';
  }
  if (!verdict) {
    fs.rmSync(server.pidFile, { force: true });
    log.info(`removed a stale ${path.basename(server.pidFile)}: pid ${pid} is not a ${server.name} of this data folder`);
    return { staleFileRemoved: pid };
  }
  if (ownedByRunningStart(info!)) {
    log.warn(`the ${server.name} of this data folder (pid ${pid}) belongs to a running start (parent ${info!.parentArgv!.join(' ')}): left alone`);
    return 'left alone';
  }
  await stop(server, pid);
  log.warn(`stopped a leftover ${server.name} (pid ${pid}) of this data folder from an earlier run`);
  return { stopped: pid };
}
