/** What a command prints: its JSON (with --json) or a readable sentence or table, and its exit code. */
import type { ExitCode } from './errors';

export interface Outcome {
  /** Printed as one JSON document with --json. */
  json: unknown;
  /** Printed otherwise: one sentence, or a few lines with a table. */
  text: string;
  /** 0 unless the command ran and found something wrong (audit verify on a broken chain). */
  exitCode?: ExitCode;
}

/** Rows as left-aligned columns, two spaces apart, the first row as the header. */
export function table(rows: string[][], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd()).join('\n');
}

/** "label: value" lines with the values aligned. */
export function fields(pairs: [string, string][], indent = '  '): string {
  return table(pairs.map(([label, value]) => [`${label}:`, value]), indent);
}

export const percent = (rate: number): string => `${Number((rate * 100).toFixed(2))}%`;
