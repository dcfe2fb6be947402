/**
 * The load generator, run in its own process (bench/loadClient.ts) so it never shares an event loop with the servers
 * it measures. One client for every target: Drason's `POST /v1/events` and the bare baseline endpoint get the same
 * bodies, the same keep-alive `http.Agent`, the same concurrency and the same clock.
 *
 * - closed loop: `concurrency` clients each send a request, wait for its answer, send the next, until the duration
 *   (or an event budget) is used up. Measures peak throughput.
 * - open loop: requests leave on a fixed schedule (`ratePerSecond`) whether or not earlier ones were answered;
 *   latency runs from the scheduled time, so a stalled server cannot hide its queueing (no coordinated omission).
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { forkTs, nextMessage, stopChild } from './processes';
import { Samples, sleep, type Distribution } from './stats';
import { eventsBody, type WorkloadSpec } from './workload';

export interface LoadTarget {
  /** http://127.0.0.1:<port>/<path>; anything but loopback is refused. */
  url: string;
  headers: Record<string, string>;
}

interface JobBase {
  target: LoadTarget;
  workload: WorkloadSpec;
  /** Index of the first event to send; each request takes the next `eventsPerRequest`. */
  firstEvent: number;
  eventsPerRequest: number;
  /** Upper bound on the run (closed loop: stop issuing; open loop: length of the schedule). */
  durationMs: number;
  /** Per-request timeout; default 30 s. */
  timeoutMs?: number;
}

export interface ClosedLoopJob extends JobBase {
  kind: 'closed';
  concurrency: number;
  /** Stop once this many events have been sent (in addition to the duration). */
  totalEvents?: number;
  /** Resend a request that failed (non-2xx or no answer) up to this many times; event ids make it idempotent. */
  retries?: number;
}

export interface OpenLoopJob extends JobBase {
  kind: 'open';
  ratePerSecond: number;
  /** Keep-alive connections; requests due while all are busy wait in the client's queue (their wait counts). */
  connections: number;
  /** Requests in flight or queued at most (a bound); a scheduled request beyond it is not sent and counted as `notSent`. */
  maxInFlight: number;
}

export type LoadJob = ClosedLoopJob | OpenLoopJob;

export interface LoadResult {
  kind: LoadJob['kind'];
  startedAtMs: number;
  /** From the first request sent to the last answer. */
  durationMs: number;
  requests: number;
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  errors: Record<string, number>;
  eventsAcked: number;
  /** Sums of the answers' `accepted` and `duplicates`. */
  accepted: number;
  duplicates: number;
  requestsPerSecond: number;
  eventsPerSecond: number;
  latencyMs: Distribution;
  firstEvent: number;
  /** One past the last event index used. */
  endEvent: number;
  /** [first, count] of requests never acknowledged (after retries). */
  unacked: [number, number][];
  open?: { ratePerSecond: number; scheduled: number; notSent: number; sendLagMs: Distribution };
}

interface Answer {
  status: number;
  accepted: number;
  duplicates: number;
}

function post(agent: http.Agent, url: URL, headers: Record<string, string>, body: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let accepted = 0;
          let duplicates = 0;
          if (status === 202 || status === 200) {
            try {
              const parsed = JSON.parse(Buffer.concat(chunks).toString()) as { accepted?: number; duplicates?: number };
              accepted = parsed.accepted ?? 0;
              duplicates = parsed.duplicates ?? 0;
            } catch {
              // counted as acknowledged without numbers
            }
          }
          resolve({ status, accepted, duplicates });
        });
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

class Tally {
  readonly latency = new Samples();
  requests = 0;
  ok = 0;
  failed = 0;
  eventsAcked = 0;
  accepted = 0;
  duplicates = 0;
  readonly statuses: Record<string, number> = {};
  readonly errors: Record<string, number> = {};
  readonly unacked: [number, number][] = [];

  answered(a: Answer, events: number, ms: number): boolean {
    this.latency.push(ms);
    this.statuses[a.status] = (this.statuses[a.status] ?? 0) + 1;
    if (a.status >= 200 && a.status < 300) {
      this.ok += 1;
      this.eventsAcked += events;
      this.accepted += a.accepted;
      this.duplicates += a.duplicates;
      return true;
    }
    return false;
  }

  threw(error: unknown, ms: number): void {
    this.latency.push(ms);
    const key = (error instanceof Error ? error.message : String(error)).slice(0, 80);
    this.errors[key] = (this.errors[key] ?? 0) + 1;
  }

  gaveUp(first: number, count: number): void {
    this.failed += 1;
    if (this.unacked.length < 10_000) this.unacked.push([first, count]);
  }

  result(job: LoadJob, startedAtMs: number, durationMs: number, endEvent: number): LoadResult {
    const seconds = Math.max(durationMs, 1) / 1000;
    return {
      kind: job.kind,
      startedAtMs,
      durationMs: Math.round(durationMs),
      requests: this.requests,
      ok: this.ok,
      failed: this.failed,
      statuses: this.statuses,
      errors: this.errors,
      eventsAcked: this.eventsAcked,
      accepted: this.accepted,
      duplicates: this.duplicates,
      requestsPerSecond: Math.round(this.ok / seconds),
      eventsPerSecond: Math.round(this.eventsAcked / seconds),
      latencyMs: this.latency.summary(),
      firstEvent: job.firstEvent,
      endEvent,
      unacked: this.unacked,
    };
  }
}

function loopbackUrl(target: LoadTarget): URL {
  const url = new URL(target.url);
  if (url.protocol !== 'http:' || url.hostname !== '127.0.0.1') throw new Error(`the load client only talks to http://127.0.0.1, not ${target.url}`);
  return url;
}

async function closedLoop(job: ClosedLoopJob): Promise<LoadResult> {
  const url = loopbackUrl(job.target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.concurrency });
  const tally = new Tally();
  const timeoutMs = job.timeoutMs ?? 30_000;
  const budgetEnd = job.totalEvents === undefined ? Number.POSITIVE_INFINITY : job.firstEvent + job.totalEvents;
  let next = job.firstEvent;
  const startedAtMs = Date.now();
  const started = performance.now();
  const deadline = started + job.durationMs;
  try {
    await Promise.all(
      Array.from({ length: job.concurrency }, async () => {
        while (performance.now() < deadline && next < budgetEnd) {
          const first = next;
          const count = Math.min(job.eventsPerRequest, budgetEnd - first);
          next += count;
          const body = eventsBody(job.workload, first, count, Date.now());
          let acked = false;
          for (let attempt = 0; attempt <= (job.retries ?? 0) && !acked; attempt += 1) {
            if (attempt > 0) await sleep(200 * attempt);
            tally.requests += 1;
            const t = performance.now();
            try {
              acked = tally.answered(await post(agent, url, job.target.headers, body, timeoutMs), count, performance.now() - t);
            } catch (error) {
              tally.threw(error, performance.now() - t);
            }
          }
          if (!acked) tally.gaveUp(first, count);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  return tally.result(job, startedAtMs, performance.now() - started, next);
}

async function openLoop(job: OpenLoopJob): Promise<LoadResult> {
  const url = loopbackUrl(job.target);
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.connections });
  const tally = new Tally();
  const sendLag = new Samples();
  const timeoutMs = job.timeoutMs ?? 30_000;
  const scheduled = Math.floor((job.ratePerSecond * job.durationMs) / 1000);
  const intervalMs = 1000 / job.ratePerSecond;
  let inFlight = 0;
  let notSent = 0;
  const pending = new Set<Promise<void>>();
  const startedAtMs = Date.now();
  const started = performance.now();
  try {
    for (let i = 0; i < scheduled; ) {
      const now = performance.now();
      const due = started + i * intervalMs;
      if (due > now) {
        await sleep(Math.max(0, Math.floor(due - now)));
        continue;
      }
      // Everything due by now leaves now.
      for (; i < scheduled && started + i * intervalMs <= now; i += 1) {
        const dueAt = started + i * intervalMs;
        if (inFlight >= job.maxInFlight) {
          notSent += 1;
          continue;
        }
        const first = job.firstEvent + i * job.eventsPerRequest;
        const body = eventsBody(job.workload, first, job.eventsPerRequest, Date.now());
        inFlight += 1;
        tally.requests += 1;
        sendLag.push(performance.now() - dueAt);
        const p = post(agent, url, job.target.headers, body, timeoutMs).then(
          (a) => {
            if (!tally.answered(a, job.eventsPerRequest, performance.now() - dueAt)) tally.gaveUp(first, job.eventsPerRequest);
          },
          (error: unknown) => {
            tally.threw(error, performance.now() - dueAt);
            tally.gaveUp(first, job.eventsPerRequest);
          },
        );
        const tracked: Promise<void> = p.finally(() => {
          inFlight -= 1;
          pending.delete(tracked);
        });
        pending.add(tracked);
      }
    }
    await Promise.all([...pending]);
  } finally {
    agent.destroy();
  }
  const result = tally.result(job, startedAtMs, performance.now() - started, job.firstEvent + scheduled * job.eventsPerRequest);
  return { ...result, open: { ratePerSecond: job.ratePerSecond, scheduled, notSent, sendLagMs: sendLag.summary() } };
}

export function runLoad(job: LoadJob): Promise<LoadResult> {
  return job.kind === 'closed' ? closedLoop(job) : openLoop(job);
}

// ---- The parent's side: the load client as a child process ----

type ToClient = { type: 'run'; id: number; job: LoadJob };
export type FromClient = { type: 'ready' } | { type: 'result'; id: number; result: LoadResult } | { type: 'error'; id: number; message: string };

/** The load client in its own Node process (bench/loadClient.ts), driven over IPC. */
export class LoadClientProcess {
  private nextId = 1;

  private constructor(private readonly child: ChildProcess) {}

  static async start(): Promise<LoadClientProcess> {
    const child = forkTs(path.join(__dirname, 'loadClient.ts'));
    await nextMessage(child, 'starting the load client', 60_000, (m: FromClient) => (m.type === 'ready' ? true : undefined));
    return new LoadClientProcess(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(job: LoadJob): Promise<LoadResult> {
    const id = this.nextId++;
    const limitMs = job.durationMs + (job.timeoutMs ?? 30_000) * ((job.kind === 'closed' ? (job.retries ?? 0) : 0) + 1) + 60_000;
    const answer = nextMessage(this.child, `load run ${id}`, limitMs, (m: FromClient): { result: LoadResult } | { error: string } | undefined => {
      if (m.type === 'result' && m.id === id) return { result: m.result };
      if (m.type === 'error' && m.id === id) return { error: m.message };
      return undefined;
    });
    const message: ToClient = { type: 'run', id, job };
    this.child.send(message);
    return answer.then((a) => {
      if ('error' in a) throw new Error(`load client: ${a.error}`);
      return a.result;
    });
  }

  stop(): Promise<void> {
    return stopChild(this.child, 5_000);
  }
}
