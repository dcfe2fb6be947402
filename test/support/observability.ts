/**
 * Helpers for the observability tests: capture what the process logger writes, and read Prometheus' text format.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { logFormat, logger } from '../../src/lib/logger';

/** Temporal SDK (core) metrics the ops files use, as its Prometheus exporter names them. */
export const TEMPORAL_SDK_METRICS = ['temporal_worker_task_slots_available', 'temporal_workflow_task_execution_failed', 'temporal_activity_execution_failed'];

/** Runs `work` with every line the process logger writes captured as JSON (the console silenced meanwhile). */
export async function captureLogs(work: () => Promise<void> | void): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const sink = new winston.transports.Stream({
    stream: new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
    format: logFormat(true),
    level: 'silly',
  });
  const level = logger.level;
  const quiet = logger.transports.map((t) => [t, t.silent] as const);
  for (const [t] of quiet) t.silent = true;
  logger.add(sink);
  logger.level = 'silly';
  try {
    await work();
  } finally {
    logger.level = level;
    logger.remove(sink);
    for (const [t, silent] of quiet) t.silent = silent;
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format → samples (enough of the format for prom-client's output). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** The sum of a metric's samples whose labels include `labels`. */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

export function present(samples: Sample[], name: string): boolean {
  return samples.some((s) => s.name === name);
}

/** Label values that must never appear: an email, a URL, a Drason secret. */
export function forbiddenLabels(samples: Sample[]): string[] {
  return samples.flatMap((s) => Object.values(s.labels).filter((v) => v.includes('@') || /:\/\//.test(v) || /\b(drk|whk|dcs)_/.test(v)).map((v) => `${s.name} ${v}`));
}
