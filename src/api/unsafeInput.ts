/**
 * What no schema should have to think about, found in one pass over a parsed request part before validation:
 * strings Postgres cannot store (NUL, which neither text nor jsonb accepts; a UTF-16 surrogate without its pair,
 * which is not Unicode and which jsonb refuses), in values and in keys, and structures nested deeper than any
 * request of this API needs (deep enough ones overflow the stack of whatever walks them next).
 */
import type { FieldProblem } from '../lib/errors';

/** How many levels of objects and arrays a request part may have (the part itself is level 1). */
export const MAX_INPUT_DEPTH = 32;

/** Enough to tell the client what to fix without echoing a whole body of bad strings. */
const MAX_PROBLEMS = 20;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** Why a string cannot be stored, or undefined when it can. */
export function unstorable(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which cannot be stored';
  if (LONE_SURROGATE.test(value)) return 'contains an unpaired UTF-16 surrogate, which is not valid Unicode';
  return undefined;
}

/** A key as it can be shown in a problem's path (the offending characters replaced by U+FFFD). */
const printableKey = (key: string): string => key.split('\u0000').join('\ufffd').replace(LONE_SURROGATES, '\ufffd');

/**
 * Every problem of `value` (at most MAX_PROBLEMS), with paths as zodProblems writes them: `prefix.a.0.b`, or the
 * bare path when the prefix is empty (the body), `(root)` for the part itself.
 */
export function unsafeInputProblems(value: unknown, prefix = ''): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const path: string[] = prefix === '' ? [] : [prefix];
  const add = (message: string): void => {
    problems.push({ path: path.join('.') || '(root)', message });
  };
  const visit = (v: unknown, depth: number): void => {
    if (problems.length >= MAX_PROBLEMS) return;
    if (typeof v === 'string') {
      const why = unstorable(v);
      if (why !== undefined) add(why);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    if (depth > MAX_INPUT_DEPTH) {
      add(`is nested more than ${MAX_INPUT_DEPTH} levels deep`);
      return;
    }
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((item, i) => [String(i), item]) : Object.entries(v);
    for (const [key, item] of entries) {
      path.push(printableKey(key));
      const why = Array.isArray(v) ? undefined : unstorable(key);
      if (why !== undefined && problems.length < MAX_PROBLEMS) add(`is a key that ${why}`);
      visit(item, depth + 1);
      path.pop();
    }
  };
  visit(value, 1);
  return problems;
}
