/**
 * `npm run audit:verify -- --organization <id>`: recomputes the organization's audit hash chain (the same check as
 * GET /v1/audit/verify) and prints one sentence; exits 1 when the chain is broken (naming the first broken entry),
 * 2 on a bad argument or an unknown organization. Uses DATABASE_URL, else the embedded Postgres of the data folder.
 * `drason audit verify --organization <id>` runs the same check (verifyAuditCommand).
 */
import { parseArgs } from 'node:util';
import { config, type Config } from '../config';
import { createDb, type Db } from '../db/knex';
import { verifyAuditChain, type ChainVerification } from '../db/repositories/auditChain';
import { withTenant } from '../db/tenant';
import { commandDatabase } from './commandDatabase';
import { runMain } from './main';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface VerifyAuditOutcome {
  exitCode: 0 | 1 | 2;
  text: string;
  /** The chain's verification, when the organization exists. */
  verification?: ChainVerification & { organizationId: string; organization: string };
}

/** Parses `--organization <id>`; undefined (with the usage) when missing or not a UUID. */
export function organizationArgument(argv: string[]): string | undefined {
  try {
    const { values } = parseArgs({ args: argv, options: { organization: { type: 'string' } }, strict: true });
    return values.organization !== undefined && UUID.test(values.organization) ? values.organization : undefined;
  } catch {
    return undefined;
  }
}

export async function verifyOrganizationAudit(db: Db, organizationId: string): Promise<VerifyAuditOutcome> {
  return withTenant(db, organizationId, async (tx) => {
    const known = await tx('organizations').where({ id: organizationId }).first('name');
    if (known === undefined) return { exitCode: 2, text: `No organization ${organizationId}.` };
    const result = await verifyAuditChain(tx);
    const name = (known as { name: string }).name;
    const head = result.headHash === null ? '' : ` Head hash: ${result.headHash}.`;
    return {
      exitCode: result.ok ? 0 : 1,
      text: `${name} (${organizationId}): ${result.message}${head}`,
      verification: { organizationId, organization: name, ...result },
    };
  });
}

/** The check on the command's database (DATABASE_URL, else the embedded Postgres). */
export async function verifyAuditCommand(cfg: Config, organizationId: string): Promise<VerifyAuditOutcome> {
  const target = await commandDatabase(cfg);
  const db = createDb({ url: target.databaseUrl, poolMax: 2 });
  try {
    return await verifyOrganizationAudit(db, organizationId);
  } finally {
    await db.destroy();
    await target.release();
  }
}

if (require.main === module) {
  runMain('drason-audit-verify', async () => {
    const organizationId = organizationArgument(process.argv.slice(2));
    if (organizationId === undefined) {
      process.stderr.write('usage: npm run audit:verify -- --organization <organization id (uuid)>\n');
      process.exitCode = 2;
      return { stop: async () => undefined };
    }
    const outcome = await verifyAuditCommand(config(), organizationId);
    process.stdout.write(`${outcome.text}\n`);
    process.exitCode = outcome.exitCode;
    return { stop: async () => undefined };
  });
}
