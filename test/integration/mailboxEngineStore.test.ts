/**
 * Migration 006's storage on real PostgreSQL, as the application role (decision 011): ingestion stores each
 * bounce's class and resolves a Smartlead account id to its mailbox in the same call (an unknown id still stores the
 * event, flagged); the counters keep reputation blocks; and a database holding 005's events upgrades with their
 * classes backfilled.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { migrations } from '../../migrations';
import { createDb } from '../../src/db/knex';
import { migrateLatest } from '../../src/db/migrate';
import { allCounters, readBuckets } from '../../src/db/repositories/counters';
import { ingestEvents, type NewEvent } from '../../src/db/repositories/events';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { countQueuedEvents, relayBacklog } from '../../src/db/repositories/relay';
import { withTenant } from '../../src/db/tenant';
import { APP_ROLE } from '../../src/embedded/postgres';
import { createTestDatabase, type TestDatabase } from '../support/stack';

const event = (key: string, type: string, extra: Partial<NewEvent> = {}): NewEvent => ({
  idempotencyKey: key,
  type,
  source: 'smartlead',
  occurredAt: new Date(),
  ...extra,
});

describe('mailbox engine storage (migration 006, real Postgres)', function () {
  this.timeout(60_000);
  let t: TestDatabase;
  let org: string;

  before(async () => {
    t = await createTestDatabase();
    org = (await createOrganizationWithAdminKey(t.db, 'Engine store')).organization.id;
  });
  after(async () => {
    await t?.drop();
  });

  const stored = (keys: string[]) =>
    withTenant(t.db, org, async (tx) =>
      (await tx('events as e')
        .leftJoin('mailboxes as m', (j) => j.on('m.organization_id', 'e.organization_id').andOn('m.id', 'e.mailbox_id'))
        .whereIn('e.idempotency_key', keys)
        .orderBy('e.id')
        .select('e.idempotency_key as key', 'e.bounce_class', 'e.flags', 'e.detail', 'm.email_key as mailbox')) as {
        key: string;
        bounce_class: string | null;
        flags: string[];
        detail: Record<string, unknown>;
        mailbox: string | null;
      }[],
    );

  it('stores the class of each bounce, and the default of its type when none is given', async () => {
    const mailbox = 'cls@store-mail.com';
    await ingestEvents(t.db, org, [
      event('k-rep', 'DeliveryFailure', { mailbox, bounceClass: 'reputation' }),
      event('k-tra', 'DeliveryFailure', { mailbox, bounceClass: 'transient' }),
      event('k-hard', 'HardBounce', { mailbox }),
      event('k-fail', 'DeliveryFailure', { mailbox }),
      event('k-sent', 'EmailSent', { mailbox, bounceClass: 'reputation' }),
    ]);
    assert.deepEqual(
      (await stored(['k-rep', 'k-tra', 'k-hard', 'k-fail', 'k-sent'])).map((r) => [r.key, r.bounce_class]),
      [
        ['k-rep', 'reputation'],
        ['k-tra', 'transient'],
        ['k-hard', 'list_quality'],
        ['k-fail', 'unknown'],
        ['k-sent', null],
      ],
    );
    await assert.rejects(
      ingestEvents(t.db, org, [event('k-bad', 'HardBounce', { mailbox, bounceClass: 'spam' as never })]),
      /events_bounce_class_check/,
      'a class outside the five is refused by the database',
    );
  });

  it('resolves a Smartlead account id to the mailbox synced with it, and keeps an event whose id names none (flagged, not counted)', async () => {
    const mailbox = 'synced@store-mail.com';
    await ingestEvents(t.db, org, [event('a-0', 'EmailSent', { mailbox })]);
    await withTenant(t.db, org, (tx) => tx('mailboxes').where({ email: mailbox }).update({ smartlead_account_id: '4711' }));
    await withTenant(t.db, org, (tx) => countQueuedEvents(tx, org, 100));

    const result = await ingestEvents(t.db, org, [
      event('a-1', 'DeliveryFailure', { mailboxAccountId: '4711', bounceClass: 'reputation' }),
      event('a-2', 'HardBounce', { mailboxAccountId: '9999' }),
    ]);
    assert.deepEqual(result, { accepted: 2, duplicates: 0, queued: 1 }, 'both stored; only the resolved one is queued for counting');
    const [resolved, orphan] = await stored(['a-1', 'a-2']);
    assert.deepEqual([resolved!.mailbox, resolved!.flags, resolved!.bounce_class], ['synced@store-mail.com', [], 'reputation']);
    assert.deepEqual([orphan!.mailbox, orphan!.flags, orphan!.detail.smartleadAccountId, orphan!.bounce_class], [null, ['unresolved_account'], '9999', 'list_quality']);
    assert.deepEqual(await ingestEvents(t.db, org, [event('a-2', 'HardBounce', { mailboxAccountId: '9999' })]), { accepted: 0, duplicates: 1, queued: 0 }, 'and it is idempotent like any event');
    // Another organization's account id is invisible (row-level security): stored unresolved there too.
    const other = (await createOrganizationWithAdminKey(t.db, 'Engine store other')).organization.id;
    await ingestEvents(t.db, other, [event('a-3', 'HardBounce', { mailboxAccountId: '4711' })]);
    const theirs = await withTenant(t.db, other, (tx) => tx('events').where({ idempotency_key: 'a-3' }).first('mailbox_id', 'flags'));
    assert.deepEqual(theirs, { mailbox_id: null, flags: ['unresolved_account'] });

    // Counted once, as the failure and the reputation block of that mailbox (and its domain).
    const waiting = (await withTenant(t.db, org, (tx) => relayBacklog(tx))).toSignal;
    assert.equal((await withTenant(t.db, org, (tx) => countQueuedEvents(tx, org, 100))).counted, 1);
    assert.deepEqual(await withTenant(t.db, org, (tx) => relayBacklog(tx)), { toCount: 0, toSignal: waiting + 1 }, 'the resolved failure waits for its workflow');
    const rows = (await withTenant(t.db, org, (tx) => allCounters(tx))).filter((r) => r.entityKey === mailbox || r.entityKey === 'store-mail.com');
    const sum = (type: string) => rows.filter((r) => r.entityType === type).reduce((a, r) => [a[0]! + r.failures, a[1]! + r.reputationBlocks], [0, 0]);
    assert.deepEqual(sum('mailbox'), [1, 1]);
    const buckets = await withTenant(t.db, org, (tx) => readBuckets(tx, 'mailbox', [mailbox], Date.now()));
    assert.deepEqual(
      buckets.get(mailbox)!.map((b) => b.slice(1)),
      [[1, 0, 1, 1]],
      'buckets read as [start, sent, hardBounces, failures, reputationBlocks]',
    );
  });

  it('upgrades a 005 database: existing bounces get the class their type implies, counters get zero reputation blocks', async () => {
    const old = await createTestDatabase({ migrate: false });
    const owner = createDb({ url: old.ownerUrl, poolMax: 2, appRole: APP_ROLE });
    try {
      const upTo005: Knex.MigrationSource<string> = {
        getMigrations: () => Promise.resolve(migrations.slice(0, 5).map((m) => m.name)),
        getMigrationName: (name) => name,
        getMigration: (name) => Promise.resolve(migrations.find((m) => m.name === name)!),
      };
      await owner.migrate.latest({ migrationSource: upTo005 });
      const before = (await createOrganizationWithAdminKey(old.db, 'Before 006')).organization.id;
      const mailbox = 'old@upgrade-mail.com';
      await ingestEvents(old.db, before, [event('o-1', 'HardBounce', { mailbox }), event('o-2', 'DeliveryFailure', { mailbox }), event('o-3', 'EmailSent', { mailbox })]);
      // A bucket as 005's relay kept it (today's count statement needs 006's column).
      await withTenant(old.db, before, (tx) =>
        tx('entity_counters').insert({ organization_id: before, entity_type: 'mailbox', entity_key: mailbox, bucket_start: new Date(), sent: 1, hard_bounces: 1, failures: 1 }),
      );

      const applied = await migrateLatest({ ownerUrl: old.ownerUrl, appRole: APP_ROLE });
      assert.deepEqual(applied.slice(0, 1), ['006_mailbox_engine'], `006 runs first, then any later migration (${applied.join(', ')})`);
      const classes = await withTenant(old.db, before, (tx) => tx('events').orderBy('id').select('idempotency_key', 'bounce_class'));
      assert.deepEqual(classes, [
        { idempotency_key: 'o-1', bounce_class: 'list_quality' },
        { idempotency_key: 'o-2', bounce_class: 'unknown' },
        { idempotency_key: 'o-3', bounce_class: null },
      ]);
      const counters = await withTenant(old.db, before, (tx) => allCounters(tx));
      assert.ok(counters.length > 0);
      assert.ok(counters.every((c) => c.reputationBlocks === 0 && c.failures === 1));
      await assert.rejects(owner('events').update({ bounce_class: 'reputation' }), /append-only/, 'events are append-only again after the backfill, even for the owner');
    } finally {
      await owner.destroy();
      await old.drop();
    }
  });
});
