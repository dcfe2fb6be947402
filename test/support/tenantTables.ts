/**
 * Tenant tables, found in the catalog rather than listed by hand, so a table added by a later migration is covered
 * by the isolation tests automatically; and a seed that puts one row in each of them for an organization.
 */
import crypto from 'node:crypto';
import pg from 'pg';
import type { Db } from '../../src/db/knex';
import { appendAudit } from '../../src/db/repositories/audit';
import { sealOrganization } from '../../src/db/repositories/auditChain';
import { ingestEvents } from '../../src/db/repositories/events';
import type { Integrations } from '../../src/db/repositories/integrations';
import { withTenant } from '../../src/db/tenant';

/** Every table of the public schema that carries organization_id, plus organizations itself (keyed by id). */
export async function tenantTables(db: Db): Promise<{ table: string; column: string }[]> {
  const { rows } = await db.raw<{ rows: { table_name: string }[] }>(
    `select distinct c.table_name from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
      where c.table_schema = 'public' and c.column_name = 'organization_id' order by 1`,
  );
  return [{ table: 'organizations', column: 'id' }, ...rows.map((r) => ({ table: r.table_name, column: 'organization_id' }))];
}

/** Row counts per table for one organization, read as the superuser (past row-level security). */
export async function rowsPerTable(superuserUrl: string, tables: { table: string; column: string }[], organizationId: string): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: superuserUrl });
  await client.connect();
  try {
    const counts = new Map<string, number>();
    for (const { table, column } of tables) {
      const { rows } = await client.query<{ n: string }>(`select count(*) as n from "${table}" where "${column}" = $1`, [organizationId]);
      counts.set(table, Number(rows[0]!.n));
    }
    return counts;
  } finally {
    await client.end();
  }
}

export interface SeededRows {
  campaignId: string;
  mailboxId: string;
  domainId: string;
  leadId: string;
  mailboxEmail: string;
  webhookToken: string;
  /** A pending recommendation about the seeded mailbox. */
  recommendationId: string;
  /** A quarantined lead source (routing rule name), the seeded lead's. */
  sourceName: string;
}

/**
 * One row (at least) in every tenant table for `organizationId` (which must exist, with its settings and first
 * key). When a migration adds a tenant table, add a row for it here: the tenancy suite fails until you do.
 */
export async function seedEveryTenantTable(db: Db, integrations: Integrations, organizationId: string, tag: string): Promise<SeededRows> {
  return withTenant(db, organizationId, async (tx) => {
    const mailboxEmail = `sender@${tag}-mail.com`;
    // Two events: one stays queued for counting (event_queue), the other waits to be signalled (signal_queue).
    await ingestEvents(tx, organizationId, [
      { idempotencyKey: `seed-${tag}`, type: 'HardBounce', source: 'api', occurredAt: new Date(), mailbox: mailboxEmail, campaignId: `${tag}-1` },
      { idempotencyKey: `seed-${tag}-2`, type: 'HardBounce', source: 'api', occurredAt: new Date(), mailbox: mailboxEmail },
    ]);
    const mailbox = (await tx('mailboxes').where({ email: mailboxEmail }).first('id', 'domain_id')) as { id: string; domain_id: string };
    const second = (await tx('events').where({ idempotency_key: `seed-${tag}-2` }).first('id')) as { id: number };
    await tx('event_queue').where({ event_id: second.id }).delete();
    await tx('signal_queue').insert({ organization_id: organizationId, event_id: second.id, mailbox_id: mailbox.id });
    await tx('signal_backoff').insert({ organization_id: organizationId, mailbox_id: mailbox.id, attempts: 1, next_attempt_at: new Date() });
    await tx('entity_counters').insert({ organization_id: organizationId, entity_type: 'mailbox', entity_key: mailboxEmail, bucket_start: new Date(), hard_bounces: 1 });
    await appendAudit(tx, { organizationId, entityType: 'mailbox', entityId: mailboxEmail, action: 'seeded', actor: 'test', message: 'Seeded.', engineVersion: 'test' });
    // Its hash-chain link (migrations/012_audit_chain.ts), as the worker's sealer would append it.
    await sealOrganization(tx, organizationId, Number.MAX_SAFE_INTEGER);
    const campaignId = `${tag}-1`;
    await tx('campaigns').insert({ organization_id: organizationId, campaign_id: campaignId, name: `Campaign ${tag}`, status: 'ACTIVE' });
    await tx('campaign_mailboxes').insert({ organization_id: organizationId, campaign_id: campaignId, mailbox_id: mailbox.id });
    const [lead] = (await tx('leads')
      .insert({ organization_id: organizationId, email: `lead@${tag}.com`, persona: 'cto', lead_score: 80, status: 'active', assigned_campaign_id: campaignId, routing_rule: `List ${tag}` })
      .returning('id')) as { id: string }[];
    await tx('routing_rules').insert({ organization_id: organizationId, position: 0, name: 'CTOs', when: JSON.stringify({ persona: 'cto' }), campaign_id: campaignId });
    await tx('routing_rule_versions').insert({
      organization_id: organizationId,
      version: 1,
      rules: JSON.stringify([{ name: 'CTOs', when: { persona: 'cto' }, campaignId }]),
      actor: 'test',
    });
    await tx('risk_snapshots').insert({
      organization_id: organizationId,
      entity_type: 'mailbox',
      entity_id: mailboxEmail,
      risk_score: 12.5,
      state: 'healthy',
      settings_version: 1,
      engine_version: 'test',
    });
    await integrations.saveSmartleadCredentials(tx, organizationId, { apiKey: `sl-api-key-${tag}`, baseUrl: 'http://127.0.0.1:9/api/v1' });
    const token = await integrations.createWebhookToken(tx, organizationId);
    // The mailbox engine's tables (migrations/006_mailbox_engine.ts).
    await tx('entity_commands').insert({
      organization_id: organizationId,
      command_id: crypto.randomUUID(),
      entity_type: 'organization',
      entity_key: organizationId,
      kind: 'settings_changed',
      payload: JSON.stringify({ version: 1 }),
      actor: 'test',
      // Not due: a relay running beside the suite leaves it alone.
      next_attempt_at: new Date(Date.now() + 24 * 3600_000),
    });
    const [recommendation] = (await tx('recommendations')
      .insert({
        organization_id: organizationId,
        entity_type: 'mailbox',
        entity_key: mailboxEmail,
        action: 'pause',
        decision_id: `seed-decision-${tag}`,
        message: `Drason would pause ${mailboxEmail}.`,
        settings_version: 1,
      })
      .returning('id')) as { id: string }[];
    await tx('campaign_holds').insert({ organization_id: organizationId, campaign_id: campaignId, holder: 'manual', decision_id: `seed-decision-${tag}`, reason: 'seeded' });
    await tx('campaign_senders').insert({ organization_id: organizationId, campaign_id: campaignId, mailbox_id: mailbox.id, last_seen_at: new Date() });
    await tx('entity_actions').insert({
      organization_id: organizationId,
      decision_id: `seed-decision-${tag}`,
      entity_type: 'mailbox',
      entity_key: mailboxEmail,
      action: 'pause',
      mode: 'suggest',
      outcome: 'recommended',
    });
    // Lead sources (migrations/010_lead_lifecycle.ts).
    const sourceName = `List ${tag}`;
    await tx('source_quarantines').insert({ organization_id: organizationId, source_key: sourceName, state: 'quarantined', reason: 'seeded', mode: 'enforce' });
    // Console sessions (migrations/013_console_sessions.ts): a session of the organization's first key.
    const key = (await tx('api_keys').orderBy('created_at').first('id', 'role')) as { id: string; role: string };
    await tx('console_sessions').insert({
      organization_id: organizationId,
      token_hash: crypto.createHash('sha256').update(`seed-session-${tag}`).digest('hex'),
      api_key_id: key.id,
      role: key.role,
      csrf_token: `seed-csrf-${tag}`,
      expires_at: new Date(Date.now() + 3600_000),
    });
    // Smartlead rate budgets (migrations/014_smartlead_budget.ts): the slots of one key.
    await tx('smartlead_rate_budgets').insert({ organization_id: organizationId, key_fingerprint: crypto.createHash('sha256').update(`seed-key-${tag}`).digest('hex'), slots: [Date.now()] });
    return {
      sourceName,
      campaignId,
      mailboxId: mailbox.id,
      domainId: mailbox.domain_id,
      leadId: lead!.id,
      mailboxEmail,
      webhookToken: token.token,
      recommendationId: recommendation!.id,
    };
  });
}
