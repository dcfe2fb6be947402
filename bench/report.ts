/**
 * Scenario reports: one Markdown table per scenario (metric, value, baseline, ratio, target, met?) plus notes, written
 * as bench/results/<scenario>.json and .md; bench/results/latest.md and latest.json gather the newest report of every
 * scenario (so running one scenario refreshes its part of the summary and keeps the others').
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface Row {
  metric: string;
  value: string;
  baseline: string;
  ratio: string;
  target: string;
  /** undefined: no target. */
  met?: boolean;
}

export interface ScenarioReport {
  scenario: 'ingest' | 'delivery' | 'e2e' | 'escalation' | 'temporal-store';
  title: string;
  measuredAt: string;
  /** What was run, in one paragraph. */
  workload: string;
  /** What the baseline is. */
  baseline: string;
  rows: Row[];
  /** Where the CPU went, bottlenecks, caveats. */
  notes: string[];
  /** Everything measured, for the JSON file. */
  data: unknown;
}

export const RESULTS_DIR = path.join(__dirname, 'results');
const SCENARIOS: ScenarioReport['scenario'][] = ['ingest', 'delivery', 'e2e', 'escalation', 'temporal-store'];

export const fmt = {
  int: (x: number): string => Math.round(x).toLocaleString('en-US'),
  ms: (x: number): string => `${x < 10 ? x.toFixed(1) : Math.round(x).toLocaleString('en-US')} ms`,
  s: (x: number): string => `${x.toFixed(1)} s`,
  ratio: (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '—'),
};

export function machine(): { cpus: number; cpuModel: string; memoryGiB: number; node: string } {
  return { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version };
}

export function markdown(report: ScenarioReport): string {
  const met = (r: Row): string => (r.met === undefined ? '—' : r.met ? 'yes' : '**no**');
  return [
    `## ${report.title}`,
    '',
    `Measured ${report.measuredAt}. ${report.workload}`,
    '',
    `Baseline: ${report.baseline}`,
    '',
    '| Metric | Value | Baseline | Ratio | Target | Met? |',
    '|---|---|---|---|---|---|',
    ...report.rows.map((r) => `| ${r.metric} | ${r.value} | ${r.baseline} | ${r.ratio} | ${r.target} | ${met(r)} |`),
    '',
    ...report.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

export function writeReport(report: ScenarioReport): void {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, `${report.scenario}.json`), `${JSON.stringify({ machine: machine(), ...report }, null, 2)}\n`);
  fs.writeFileSync(path.join(RESULTS_DIR, `${report.scenario}.md`), `# Benchmark: ${report.scenario}\n\n${markdown(report)}`);
}

/** Rebuilds latest.md / latest.json from the newest report of each scenario. */
export function writeSummary(extra: string[] = []): string {
  const reports = SCENARIOS.flatMap((s) => {
    const file = path.join(RESULTS_DIR, `${s}.json`);
    return fs.existsSync(file) ? [JSON.parse(fs.readFileSync(file, 'utf8')) as ScenarioReport] : [];
  });
  const m = machine();
  const md = [
    '# Benchmark',
    '',
    `Machine: ${m.cpus} cores (${m.cpuModel}), ${m.memoryGiB} GiB, Node ${m.node}. Command: \`npm run bench\` (one scenario: \`npm run bench -- --scenario ingest|delivery|e2e|escalation\`; escalation is not part of \`all\`).`,
    'Every scenario runs on a fresh embedded PostgreSQL and Temporal dev server on this machine; the load client is a separate Node process on the same cores.',
    ...extra,
    '',
    ...reports.map(markdown),
  ].join('\n');
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.md'), md);
  fs.writeFileSync(
    path.join(RESULTS_DIR, 'latest.json'),
    `${JSON.stringify({ machine: m, scenarios: Object.fromEntries(reports.map((r) => [r.scenario, r])) }, null, 2)}\n`,
  );
  return md;
}
