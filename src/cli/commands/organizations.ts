/** `drason organizations create <name>` and `drason keys create|list|revoke`: tenancy and keys through the API. */
import { Option, type Command } from 'commander';
import { ROLES } from '../../db/repositories/organizations';
import { organizationApi, platformApi, type Json } from '../api';
import { action, withApiOptions } from '../command';
import type { ApiFlags } from '../config';
import { UsageError } from '../errors';
import { table, type Outcome } from '../output';

export function organizationCommands(program: Command): void {
  const organizations = program.command('organizations').description('Organizations (platform token).');
  withApiOptions(organizations.command('create').argument('<name>', 'the organization\'s name (1–200 characters)'), 'admin-token')
    .description('Create an organization in observe mode; prints its id and its first admin API key, shown once.')
    .action(
      action(async ([name], flags: ApiFlags): Promise<Outcome> => {
        if (name!.trim() === '') throw new UsageError('the organization name must not be empty');
        const created: Json = await platformApi(flags).call('POST', '/v1/organizations', { name });
        return {
          json: created,
          text: [
            `Created organization "${created.organization.name}" (${created.organization.id}) in ${created.organization.mode} mode.`,
            `Its admin API key, shown once (store it now): ${created.apiKey.key}`,
            `  key id: ${created.apiKey.id}`,
          ].join('\n'),
        };
      }),
    );
}

export function keyCommands(program: Command): void {
  const keys = program.command('keys').description("API keys of the key's organization (admin key).");

  withApiOptions(keys.command('create'))
    .description('Create an API key; prints it once (only its hash is stored).')
    .addOption(new Option('--role <role>', 'its role').choices(ROLES).makeOptionMandatory())
    .option('--name <name>', 'what the key is for (default: "<role> key (drason CLI)")')
    .action(
      action(async (_args, flags: ApiFlags & { role: string; name?: string }): Promise<Outcome> => {
        const created: Json = await organizationApi(flags).call('POST', '/v1/api-keys', { role: flags.role, name: flags.name ?? `${flags.role} key (drason CLI)` });
        return {
          json: created,
          text: `Created ${created.role} API key "${created.name}" (${created.id}). The key, shown once (store it now): ${created.key}`,
        };
      }),
    );

  withApiOptions(keys.command('list'))
    .description("List the organization's API keys, newest first (never the keys themselves).")
    .action(
      action(async (_args, flags: ApiFlags): Promise<Outcome> => {
        const api = organizationApi(flags);
        const items: Json[] = [];
        let cursor: string | null = null;
        do {
          const page: Json = await api.call('GET', `/v1/api-keys?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
          items.push(...page.items);
          cursor = page.nextCursor;
        } while (cursor !== null);
        const rows = items.map((k) => [k.id, k.name, k.role, `${k.prefix}…`, k.createdAt, k.lastUsedAt ?? '-', k.revokedAt ?? '-']);
        return {
          json: { items },
          text: `${items.length} API key(s).\n${table([['id', 'name', 'role', 'prefix', 'created', 'last used', 'revoked'], ...rows])}`,
        };
      }),
    );

  withApiOptions(keys.command('revoke').argument('<id>', "the key's id (from `drason keys list`)"))
    .description('Revoke an API key: it stops working on the next request (the last admin key cannot be revoked).')
    .action(
      action(async ([id], flags: ApiFlags): Promise<Outcome> => {
        await organizationApi(flags).call('DELETE', `/v1/api-keys/${encodeURIComponent(id!)}`);
        return { json: { id, revoked: true }, text: `Revoked API key ${id}; requests with it are refused from now on.` };
      }),
    );
}
