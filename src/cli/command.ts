/** Plumbing shared by the CLI's commands: their API options, and actions that return what to print. */
import type { Command } from 'commander';
import type { Outcome } from './output';

/** Each run's outcome, by root command (read by src/cli/program.ts once the action has finished). */
export const outcomes = new WeakMap<Command, Outcome>();

/** Adds `--api-url` and the credential flag (`--key`, or `--admin-token` for platform commands). */
export function withApiOptions(command: Command, credential: 'key' | 'admin-token' = 'key'): Command {
  command.option('--api-url <url>', 'the Drason API (default: DRASON_API_URL, else http://127.0.0.1:3000)');
  if (credential === 'key') command.option('--key <key>', "an organization's API key (default: DRASON_API_KEY)");
  else command.option('--admin-token <token>', 'the platform token (default: DRASON_ADMIN_TOKEN)');
  return command;
}

/**
 * A commander action from `run(positional arguments, options with the global ones)`; its outcome is kept for the
 * runner to print as JSON or text.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each command declares the options it reads
export function action(run: (args: string[], options: any) => Promise<Outcome>): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const command = args[args.length - 1] as Command;
    let root = command;
    while (root.parent !== null) root = root.parent;
    outcomes.set(root, await run(command.processedArgs as string[], command.optsWithGlobals()));
  };
}
