/**
 * The ops CLI (`npx drason …`, issue 12): the commander program and its runner. API commands call the public API
 * with an organization's key (or the platform token), so they obey the same roles and leave the same audit trail as
 * any client; database commands run the worker entry points' functions. `--json` prints one JSON document; otherwise
 * one sentence or a small table. Exit codes: src/cli/errors.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { ConfigError, projectRoot } from '../config';
import { outcomes } from './command';
import { entityCommandGroups } from './commands/entities';
import { maintenanceCommands } from './commands/maintenance';
import { keyCommands, organizationCommands } from './commands/organizations';
import { CommandFailed, EXIT, UsageError, type ExitCode } from './errors';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

const processIo: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function buildProgram(io: CliIo = processIo): Command {
  const program = new Command('drason');
  program
    .description('Operate Drason: organizations and keys, entity state and manual overrides, counters, the audit chain, secrets.')
    .version(version(), '-V, --version', 'print the version')
    .option('--json', 'print machine-readable JSON instead of a sentence or a table')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      [
        '',
        'Configuration (flags override variables):',
        '  DRASON_API_URL      the API (default http://127.0.0.1:3000; --api-url)',
        "  DRASON_API_KEY      an organization's API key (--key)",
        '  DRASON_ADMIN_TOKEN  the platform token, for organizations create (--admin-token)',
        '  DATABASE_URL        the database of counters, audit and secrets commands (default: the embedded Postgres)',
        '',
        'Exit codes: 0 done, 1 failed (the API refused, a broken chain, unreachable), 2 usage or configuration error.',
      ].join('\n'),
    );
  organizationCommands(program);
  keyCommands(program);
  entityCommandGroups(program);
  maintenanceCommands(program);
  program.addHelpText('afterAll', ({ command }) => (command === program ? `\nEvery command (each takes --help):\n${everyCommand(program)}` : ''));
  return program;
}

/** One line per runnable command: its full usage and what it does. */
function everyCommand(program: Command): string {
  const lines: [string, string][] = [];
  const visit = (command: Command, prefix: string): void => {
    for (const sub of command.commands) {
      const name = `${prefix} ${sub.name()}`;
      if (sub.commands.length > 0) visit(sub, name);
      else {
        const args = sub.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`));
        const required = sub.options.filter((o) => o.mandatory).map((o) => o.flags);
        lines.push([[name, ...args, ...required, '[options]'].join(' '), sub.description().split(/[:;(]/)[0]!.trim().replace(/\.$/, '')]);
      }
    }
  };
  visit(program, 'drason');
  const width = Math.max(...lines.map(([usage]) => usage.length));
  return lines.map(([usage, what]) => `  ${usage.padEnd(width)}  ${what}`).join('\n');
}

function errorOutcome(error: unknown): { exitCode: ExitCode; message: string; details?: Record<string, unknown> } {
  if (error instanceof UsageError) return { exitCode: EXIT.usage, message: error.message };
  if (error instanceof ConfigError) return { exitCode: EXIT.usage, message: error.message };
  if (error instanceof CommandFailed) return { exitCode: EXIT.failure, message: error.message, details: error.details };
  return { exitCode: EXIT.failure, message: error instanceof Error ? error.message : String(error) };
}

/** Runs one command line (`argv` without node and the script) and returns its exit code; never exits the process. */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<ExitCode> {
  const program = buildProgram(io);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    // Commander has already said what was wrong (or printed the help or the version).
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const failed = errorOutcome(error);
    io.stderr(
      json
        ? `${JSON.stringify({ error: { exitCode: failed.exitCode, message: failed.message, ...failed.details } })}\n`
        : `drason: ${failed.message}${failed.exitCode === EXIT.usage ? ' (add --help for usage)' : ''}\n`,
    );
    return failed.exitCode;
  }
  const outcome = outcomes.get(program);
  if (outcome === undefined) return EXIT.ok;
  if (json) io.stdout(`${JSON.stringify(outcome.json, null, 2)}\n`);
  else io.stdout(`${outcome.text}\n`);
  return outcome.exitCode ?? EXIT.ok;
}
