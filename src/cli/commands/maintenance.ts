/**
 * Database commands (DATABASE_URL, else the embedded Postgres of the data folder, as the worker entry points):
 * `drason counters rebuild`, `drason audit verify`, `drason secrets rotate`. Each runs the same function as its
 * `npm run` script (src/workers/rebuildCounters.ts, verifyAudit.ts, rotateKeys.ts).
 */
import type { Command } from 'commander';
import { config } from '../../config';
import { NotFoundError } from '../../lib/errors';
import { rebuildCountersCommand, rebuildSentence } from '../../workers/rebuildCounters';
import { rotateKeys, rotationSentence } from '../../workers/rotateKeys';
import { verifyAuditCommand } from '../../workers/verifyAudit';
import { action } from '../command';
import { UsageError } from '../errors';
import type { Outcome } from '../output';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function organizationId(value: string | undefined): string | undefined {
  if (value !== undefined && !UUID.test(value)) throw new UsageError(`--organization must be an organization id (a UUID), not "${value}"`);
  return value;
}

export function maintenanceCommands(program: Command): void {
  program
    .command('counters')
    .description('Window counters (database: DATABASE_URL, else the embedded Postgres).')
    .command('rebuild')
    .description('Recompute window counters from the stored events and say how many buckets had drifted; safe while Drason runs.')
    .option('--organization <id>', 'only this organization (default: every organization with events)')
    .action(
      action(async (_args, options: { organization?: string }): Promise<Outcome> => {
        const only = organizationId(options.organization);
        const report = await rebuildCountersCommand(config(), only).catch((error: unknown) => {
          throw error instanceof NotFoundError ? new UsageError(error.message) : error;
        });
        return { json: report, text: rebuildSentence(report) };
      }),
    );

  program
    .command('audit')
    .description('The tamper-evident audit log (database: DATABASE_URL, else the embedded Postgres).')
    .command('verify')
    .description("Recompute an organization's audit hash chain; exit 1 naming the first broken entry.")
    .requiredOption('--organization <id>', 'the organization id')
    .action(
      action(async (_args, options: { organization: string }): Promise<Outcome> => {
        const outcome = await verifyAuditCommand(config(), organizationId(options.organization)!);
        if (outcome.exitCode === 2) throw new UsageError(outcome.text);
        return { json: outcome.verification, text: outcome.text, exitCode: outcome.exitCode };
      }),
    );

  program
    .command('secrets')
    .description('Secrets at rest (database: DATABASE_URL, else the embedded Postgres; keys: DRASON_ENCRYPTION_KEYS).')
    .command('rotate')
    .description('Re-encrypt every stored secret with the current key (the first of DRASON_ENCRYPTION_KEYS); safe to re-run.')
    .action(
      action(async (): Promise<Outcome> => {
        const report = await rotateKeys(config());
        return { json: report, text: rotationSentence(report) };
      }),
    );
}
