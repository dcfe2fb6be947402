/**
 * The CLI's exit codes: 0 the command did what it says; 1 it ran and failed (the API refused, the chain is broken,
 * the API or database is unreachable); 2 it was not run: a usage error (unknown command or option, a missing or bad
 * argument) or missing or invalid configuration.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The command was not run: bad arguments or configuration (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The command ran and failed (exit 1); `details` go into --json output. */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
  constructor(
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}
