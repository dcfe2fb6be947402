/**
 * Console sessions (issue 11; src/api/consoleSession.ts, src/api/routes/console.ts): a person signs in to the web
 * console with an API key once, and the browser then holds only an opaque session cookie.
 *
 * - One row per session, keyed by the SHA-256 (hex) of the random session token the cookie carries: the token itself
 *   is never stored, and neither is the API key (only its id, with a composite foreign key so a session can only name
 *   a key of its own organization). The role is the key's at sign-in (keys never change role); the CSRF token is
 *   what the console echoes in X-CSRF-Token on every state-changing request.
 * - `expires_at` is the idle deadline: last use + the idle timeout, capped at created + the absolute lifetime (the
 *   application writes both on sign-in and on each use, at most once a minute).
 * - A session is presented before the organization is known, so it is resolved through one narrow SECURITY DEFINER
 *   function (like drason_resolve_api_key): given a token hash it returns that session's organization, key, the
 *   key's role and whether the key is revoked, and its CSRF token, only while it has not expired. Nothing else is
 *   reachable across tenants; every write (sign-in, use, sign-out, removing a revoked key's session) goes through the
 *   ordinary tenant-scoped transaction under row-level security.
 */
import type { Knex } from 'knex';
import { allowOwnerDefinerRead, enableTenantRls, grantApp, restrictFunctionToApp } from './helpers';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('console_sessions', (t) => {
    t.uuid('organization_id').notNullable().references('id').inTable('organizations');
    t.text('token_hash').notNullable().primary().comment('sha256 hex of the session token in the cookie');
    t.uuid('api_key_id').notNullable();
    t.text('role').notNullable();
    t.text('csrf_token').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('last_seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('expires_at', { useTz: true }).notNullable();
    t.foreign(['organization_id', 'api_key_id']).references(['organization_id', 'id']).inTable('api_keys').onDelete('CASCADE');
    t.index(['organization_id', 'api_key_id']);
    t.index(['organization_id', 'expires_at']);
  });
  await knex.raw(`alter table console_sessions add constraint console_sessions_role_check check (role in ('admin','operator','viewer','ingest'))`);
  await knex.raw(`alter table console_sessions add constraint console_sessions_token_hash_check check (token_hash ~ '^[0-9a-f]{64}$')`);
  await enableTenantRls(knex, 'console_sessions');
  await grantApp(knex, 'console_sessions');

  await knex.raw(`
    create function drason_resolve_console_session(p_token_hash text)
    returns table (organization_id uuid, api_key_id uuid, role text, key_revoked boolean, csrf_token text, expires_at timestamptz)
    language sql stable security definer set search_path = public as $$
      select s.organization_id, s.api_key_id, k.role, k.revoked_at is not null, s.csrf_token, s.expires_at
        from console_sessions s
        join api_keys k on k.organization_id = s.organization_id and k.id = s.api_key_id
       where s.token_hash = p_token_hash and s.expires_at > now()
    $$`);
  // api_keys has its owner_definer_read policy since migration 001.
  await allowOwnerDefinerRead(knex, 'console_sessions');
  await restrictFunctionToApp(knex, 'drason_resolve_console_session(text)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function if exists drason_resolve_console_session(text)');
  await knex.schema.dropTableIfExists('console_sessions');
}
