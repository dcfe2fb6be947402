/**
 * Where the CPU went, from /proc (Linux): CPU seconds of named process groups over a measured phase, and of
 * everything else on the machine (other people's work on a shared box). A group is a set of root pids; every live
 * descendant counts toward the nearest root, and reaped children toward their parent (cutime/cstime), so
 * short-lived PostgreSQL backends are not lost.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

interface ProcStat {
  comm: string;
  ppid: number;
  /** utime + stime */
  own: number;
  /** cutime + cstime (children already reaped) */
  reaped: number;
}

/** Fields of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat; comm may contain spaces and parentheses. */
function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // After comm: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14)
  return { comm, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

function readStat(file: string): ProcStat | undefined {
  try {
    return parseStat(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

function allProcesses(): Map<number, ProcStat> {
  const procs = new Map<number, ProcStat>();
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(`/proc/${name}/stat`);
    if (stat !== undefined) procs.set(Number(name), stat);
  }
  return procs;
}

/** Busy ticks of the whole machine (all CPUs), from /proc/stat. */
function machineBusyTicks(): number {
  const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return user! + nice! + system! + irq! + softirq! + steal!;
}

type Groups = Record<string, number[]>;

function groupTicks(groups: Groups): Record<string, number> {
  const procs = allProcesses();
  const rootOf = new Map<number, string>();
  for (const [name, pids] of Object.entries(groups)) for (const pid of pids) rootOf.set(pid, name);
  const ticks: Record<string, number> = Object.fromEntries(Object.keys(groups).map((g) => [g, 0]));
  for (const [pid, stat] of procs) {
    let p: number | undefined = pid;
    for (let hops = 0; p !== undefined && p > 1 && hops < 64; hops += 1) {
      const group = rootOf.get(p);
      if (group !== undefined) {
        ticks[group] = ticks[group]! + stat.own + stat.reaped;
        break;
      }
      p = procs.get(p)?.ppid;
    }
  }
  return ticks;
}

/** CPU ticks of each thread of this process by thread name (the main thread is reported as `main (JS)`). */
function threadTicks(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const tid of fs.readdirSync('/proc/self/task')) {
    const stat = readStat(`/proc/self/task/${tid}/stat`);
    if (stat === undefined) continue;
    const name = Number(tid) === process.pid ? 'main (JS)' : stat.comm;
    out[name] = (out[name] ?? 0) + stat.own;
  }
  return out;
}

export interface CpuSplit {
  wallSeconds: number;
  cores: number;
  /** CPU seconds per group, and `other` = the rest of the machine (not started by this benchmark). */
  seconds: Record<string, number>;
  /** Share of the machine's capacity (cores × wall) per group, in percent. */
  percentOfMachine: Record<string, number>;
  /** This process's threads (CPU seconds), largest first: the JS main thread vs Temporal's core and the rest. */
  benchProcessThreads: Record<string, number>;
  idlePercent: number;
}

/** Measures one phase: `start()` before, `stop()` after. */
export class CpuMeter {
  private before?: { at: number; groups: Record<string, number>; machine: number; threads: Record<string, number> };

  constructor(private readonly groups: () => Groups) {}

  start(): void {
    this.before = { at: performance.now(), groups: groupTicks(this.groups()), machine: machineBusyTicks(), threads: threadTicks() };
  }

  stop(): CpuSplit {
    const b = this.before;
    if (b === undefined) throw new Error('CpuMeter.stop() before start()');
    const hz = clockTicks();
    const wallSeconds = (performance.now() - b.at) / 1000;
    const cores = os.cpus().length;
    const now = groupTicks(this.groups());
    const seconds: Record<string, number> = {};
    let ours = 0;
    for (const [g, t] of Object.entries(now)) {
      const s = Math.max(0, t - (b.groups[g] ?? 0)) / hz;
      seconds[g] = s;
      ours += s;
    }
    const busy = (machineBusyTicks() - b.machine) / hz;
    seconds.other = Math.max(0, busy - ours);
    const capacity = cores * wallSeconds;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    const threadsNow = threadTicks();
    const threads = Object.entries(threadsNow)
      .map(([name, t]) => [name, r2(Math.max(0, t - (b.threads[name] ?? 0)) / hz)] as const)
      .filter(([, s]) => s > 0)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 6);
    return {
      wallSeconds: r2(wallSeconds),
      cores,
      seconds: Object.fromEntries(Object.entries(seconds).map(([g, s]) => [g, r2(s)])),
      percentOfMachine: Object.fromEntries(Object.entries(seconds).map(([g, s]) => [g, Math.round((100 * s) / capacity)])),
      benchProcessThreads: Object.fromEntries(threads),
      idlePercent: Math.max(0, Math.round(100 - (100 * busy) / capacity)),
    };
  }
}

/** Resident set size and its high-water mark of a process, in MiB (undefined once it is gone). */
export function memoryOf(pid: number): { rssMiB: number; peakRssMiB: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rssMiB: Math.round(kib('VmRSS') / 1024), peakRssMiB: Math.round(kib('VmHWM') / 1024) };
  } catch {
    return undefined;
  }
}

/** A one-line summary such as `bench process 55% · postgres 60% · temporal 20% · load client 30% · other 5% · idle 10%`. */
export function describeSplit(split: CpuSplit): string {
  return [...Object.entries(split.percentOfMachine).map(([g, p]) => `${g} ${p}%`), `idle ${split.idlePercent}%`].join(' · ');
}

/** Samples the resident set size of named processes every `everyMs` and keeps each one's highest value (MiB). */
export class RssSampler {
  readonly peakMiB: Record<string, number> = {};
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: () => Record<string, number | undefined>,
    everyMs = 250,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }

  sample(): Record<string, number> {
    const now: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) {
      const rss = pid === undefined ? undefined : memoryOf(pid)?.rssMiB;
      if (rss === undefined) continue;
      now[name] = rss;
      this.peakMiB[name] = Math.max(this.peakMiB[name] ?? 0, rss);
    }
    return now;
  }

  stop(): Record<string, number> {
    clearInterval(this.timer);
    this.sample();
    return this.peakMiB;
  }
}
