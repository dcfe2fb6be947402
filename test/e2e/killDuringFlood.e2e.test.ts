/**
 * End to end, the pipeline's promise under the worst crash: `npm start` (API and worker in one process) is killed
 * with SIGKILL while 16 clients flood it with events. A plain `npm start` on the same data folder then needs no
 * manual clean-up, and afterwards every acknowledged event is stored once and counted once, and every stored bounce
 * and failure has reached its mailbox's workflow exactly once.
 */
import assert from 'node:assert/strict';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { embeddedUrl } from '../../src/embedded/postgres';
import { loadOrCreateSecrets } from '../../src/embedded/secrets';
import { mailboxWorkflowId } from '../../src/workflows/ids';
import { snapshotQuery } from '../../src/workflows/mailboxWorkflow';
import { npmStartOnOwnDataFolder, processesMatching, until } from '../support/processes';

const MAILBOXES = Array.from({ length: 5 }, (_, i) => `sender${i}@flood-kill.test`);
const CLIENTS = 16;

describe('SIGKILL of API and worker during a flood, then a plain npm start (end to end)', function () {
  this.timeout(300_000);
  const stack = npmStartOnOwnDataFolder('drason-e2e-flood-');
  const start = stack.start;

  it('counts every acknowledged event once and delivers every stored bounce once, with no manual clean-up', async () => {
    const first = await start();
    const secrets = loadOrCreateSecrets(stack.dataDir());
    const created = await fetch(`${first.api}/v1/organizations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secrets.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Flood' }),
    });
    const { organization, apiKey } = (await created.json()) as { organization: { id: string }; apiKey: { key: string } };

    // The flood: single-event requests; an event is acknowledged only by its 202.
    const acknowledged = new Set<string>();
    let sent = 0;
    let stop = false;
    const client = async (c: number): Promise<void> => {
      for (let n = 0; !stop; n += 1) {
        const id = `flood-${c}-${n}`;
        const type = n % 10 === 0 ? 'HardBounce' : n % 17 === 0 ? 'DeliveryFailure' : 'EmailSent';
        const event = { id, type, occurredAt: new Date().toISOString(), mailbox: MAILBOXES[(c + n) % MAILBOXES.length] };
        sent += 1;
        try {
          const res = await fetch(`${first.api}/v1/events`, {
            method: 'POST',
            headers: { authorization: `Bearer ${apiKey.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ events: [event] }),
          });
          if (res.status === 202) acknowledged.add(id);
        } catch {
          return; // the server is gone: this client stops, as a sender would until it retries
        }
      }
    };
    const flood = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    await until(async () => (acknowledged.size >= 400 ? true : undefined), 120_000, '400 acknowledged events');
    first.running.child.kill('SIGKILL'); // the start process only: its PostgreSQL and Temporal are orphaned, as after an OOM kill
    await first.running.exited;
    stop = true;
    await flood;
    assert.ok(sent > acknowledged.size, 'the kill landed in the middle of the flood');

    const second = await start();
    assert.match(second.running.output(), /stopped a leftover PostgreSQL \(pid \d+\) of this data folder from an earlier run/);

    const db = new pg.Client({ connectionString: embeddedUrl('postgres', secrets.postgresSuperuserPassword, Number(stack.env().EMBEDDED_PG_PORT), 'drason') });
    await db.connect();
    const connection = await Connection.connect({ address: `127.0.0.1:${stack.env().EMBEDDED_TEMPORAL_PORT}` });
    try {
      const q = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => (await db.query<T>(sql, [organization.id])).rows;
      await until(
        async () => {
          const [backlog] = await q<{ n: number }>(
            `select (select count(*) from event_queue where organization_id = $1) + (select count(*) from signal_queue where organization_id = $1) as n`,
          );
          return Number(backlog!.n) === 0 ? true : undefined;
        },
        120_000,
        'the relay to drain what the killed run left',
      );

      const stored = await q<{ idempotency_key: string; type: string; email: string }>(
        `select e.idempotency_key, e.type, m.email::text as email from events e join mailboxes m on m.id = e.mailbox_id where e.organization_id = $1`,
      );
      const storedIds = new Set(stored.map((e) => e.idempotency_key));
      assert.equal(storedIds.size, stored.length, 'no event is stored twice');
      const lost = [...acknowledged].filter((id) => !storedIds.has(id));
      assert.deepEqual(lost, [], 'every acknowledged event is stored');

      const [counted] = await q<{ sent: number; hard: number; failures: number }>(
        `select coalesce(sum(sent), 0)::int as sent, coalesce(sum(hard_bounces), 0)::int as hard, coalesce(sum(failures), 0)::int as failures
           from entity_counters where organization_id = $1 and entity_type = 'mailbox'`,
      );
      const byType = (type: string) => stored.filter((e) => e.type === type).length;
      assert.deepEqual(counted, { sent: byType('EmailSent'), hard: byType('HardBounce'), failures: byType('DeliveryFailure') }, 'every stored event counted exactly once');
      assert.ok(stored.length >= acknowledged.size);

      const temporal = new Client({ connection });
      for (const mailbox of MAILBOXES) {
        const expected = {
          hardBounces: stored.filter((e) => e.email === mailbox && e.type === 'HardBounce').length,
          failures: stored.filter((e) => e.email === mailbox && e.type === 'DeliveryFailure').length,
        };
        const received = await until(
          async () => {
            const snap = await temporal.workflow.getHandle(mailboxWorkflowId(organization.id, mailbox)).query(snapshotQuery);
            return snap.received.hardBounces + snap.received.failures >= expected.hardBounces + expected.failures ? snap.received : undefined;
          },
          60_000,
          `the workflow of ${mailbox} to take its bounces`,
        );
        assert.deepEqual(received, expected, `${mailbox}: each stored bounce and failure taken exactly once`);
      }
    } finally {
      await db.end();
      await connection.close();
    }

    second.running.child.kill('SIGINT');
    assert.equal(await second.running.exited, 0);
    await until(async () => (processesMatching(stack.dataDir()).length === 0 ? true : undefined), 30_000, 'every server of the data folder to exit');
  });
});
