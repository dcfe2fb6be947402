/**
 * The relay on real PostgreSQL and Temporal (src/services/eventRelay.ts): what "a 2xx means it will be processed"
 * rests on. Events are counted exactly once however many relays run, bounces reach their mailbox workflow
 * exactly once in effect, and nothing acknowledged is lost while Temporal is down.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { enqueueCommand, pendingCommands } from '../../src/db/repositories/commands';
import { allCounters, rebuildCounters } from '../../src/db/repositories/counters';
import { ingestEvents, type NewEvent } from '../../src/db/repositories/events';
import { createIntegrations } from '../../src/db/repositories/integrations';
import { createOrganizationWithAdminKey } from '../../src/db/repositories/organizations';
import { COUNT_QUEUED_SQL, relayBacklog } from '../../src/db/repositories/relay';
import { withTenant } from '../../src/db/tenant';
import { BUCKET_MS } from '../../src/domain/rollingWindows';
import { Keyring, generateEncryptionKeySpec } from '../../src/security/encryption';
import { relayOnce, relayOrganization, signalMailbox, startEventRelay } from '../../src/services/eventRelay';
import { RelayWaker } from '../../src/services/relayWaker';
import { connectClient } from '../../src/temporal/connection';
import { installTemporalRuntime } from '../../src/workers/components';
import { domainWorkflowId, mailboxWorkflowId } from '../../src/workflows/ids';
import { snapshotQuery } from '../../src/workflows/mailboxWorkflow';
import type { OverrideCommand } from '../../src/workflows/mailboxSignals';
import { defaultPayloadConverter } from '@temporalio/common';
import { runEntryPoint, until } from '../support/processes';
import { createTestDatabase, testTemporal, type TestDatabase } from '../support/stack';

describe('event relay (real Postgres and Temporal)', function () {
  this.timeout(120_000);
  let t: TestDatabase;
  let client: Client;
  let close: () => Promise<void>;
  let worker: Worker;
  let running: Promise<void>;
  const taskQueue = `relay-${crypto.randomUUID()}`;
  const temporalDown = { workflow: { signalWithStart: () => Promise.reject(new Error('14 UNAVAILABLE: connection refused')) } } as unknown as Client;

  before(async () => {
    installTemporalRuntime('ERROR');
    t = await createTestDatabase();
    const server = await testTemporal();
    const connected = await connectClient({ address: server.address, namespace: 'default', taskQueue });
    client = connected.client;
    close = () => connected.connection.close();
    worker = await Worker.create({
      connection: await NativeConnection.connect({ address: server.address }),
      taskQueue,
      workflowsPath: require.resolve('../../src/workflows'),
      activities: createActivities({ db: t.db, integrations: createIntegrations(new Keyring(generateEncryptionKeySpec())) }),
    });
    running = worker.run();
  });
  after(async () => {
    worker?.shutdown();
    await running;
    await close?.();
    await t?.drop();
  });

  const newOrg = async (name: string): Promise<string> => (await createOrganizationWithAdminKey(t.db, name)).organization.id;
  const deps = () => ({ db: t.db, client, taskQueue });
  const event = (key: string, type: string, mailbox: string, extra: Partial<NewEvent> = {}): NewEvent => ({
    idempotencyKey: key,
    type,
    source: 'api',
    occurredAt: new Date(),
    mailbox,
    ...extra,
  });
  const counters = (org: string) => withTenant(t.db, org, (tx) => allCounters(tx));
  const backlog = (org: string) => withTenant(t.db, org, (tx) => relayBacklog(tx));
  const snapshot = (org: string, mailbox: string) => client.workflow.getHandle(mailboxWorkflowId(org, mailbox)).query(snapshotQuery);
  /** A running relay that polls only hourly, once its listener is listening; drained of other tests' work first. */
  const listeningRelay = async () => {
    while ((await relayOnce(deps())).counted > 0);
    const relay = startEventRelay({ ...deps(), databaseUrl: t.appUrl }, { pollMs: 3_600_000 });
    const listening = `select 1 from pg_stat_activity where application_name = 'drason-relay-listener' and query ilike 'listen%'`;
    await until(async () => ((await t.db.raw(listening)).rows.length > 0 ? true : undefined), 30_000, 'the listener');
    return relay;
  };

  it('buckets events in PostgreSQL exactly as src/domain/rollingWindows does (5 minutes)', async () => {
    const at = new Date(Date.UTC(2026, 10, 21, 12, 34, 56, 789));
    const { rows } = await t.db.raw<{ rows: { b: Date }[] }>('select drason_bucket_start(?::timestamptz) as b', [at]);
    assert.equal(rows[0]!.b.getTime(), Math.floor(at.getTime() / BUCKET_MS) * BUCKET_MS);
  });

  it('counts every event per mailbox, domain and campaign, signals only bounces and failures, and keeps them queued while Temporal is down', async () => {
    const org = await newOrg('Relay down');
    const mailbox = 'ops@relay-down.test';
    await ingestEvents(t.db, org, [
      event('s-1', 'EmailSent', mailbox, { campaignId: '7' }),
      event('s-2', 'EmailSent', mailbox, { campaignId: '7' }),
      event('b-1', 'HardBounce', mailbox, { campaignId: '7' }),
      event('f-1', 'DeliveryFailure', mailbox),
      event('r-1', 'EMAIL_REPLY', mailbox), // stored, never counted
      event('old-1', 'HardBounce', mailbox, { flags: ['stale'] }), // history: stored, never counted
    ]);
    assert.deepEqual(await backlog(org), { toCount: 4, toSignal: 0 });

    const down = await relayOrganization({ db: t.db, client: temporalDown, taskQueue }, org);
    assert.deepEqual(down, { counted: 4, signalled: 0, failedMailboxes: 1, commands: 0, failedCommands: 0 });
    const sum = (rows: Awaited<ReturnType<typeof counters>>, type: string) =>
      rows.filter((r) => r.entityType === type).reduce((a, r) => [a[0]! + r.sent, a[1]! + r.hardBounces, a[2]! + r.failures], [0, 0, 0]);
    const rows = await counters(org);
    assert.deepEqual(sum(rows, 'mailbox'), [2, 1, 1]);
    assert.deepEqual(sum(rows, 'domain'), [2, 1, 1]);
    assert.deepEqual(sum(rows, 'campaign'), [2, 1, 0], 'the failure had no campaign');
    assert.deepEqual(await backlog(org), { toCount: 0, toSignal: 2 }, 'counted once; the bounce and the failure wait for Temporal');
    const backoff = (await withTenant(t.db, org, (tx) => tx('signal_backoff').select('attempts', 'next_attempt_at'))) as { attempts: number; next_attempt_at: Date }[];
    assert.equal(backoff.length, 1);
    assert.ok(backoff[0]!.next_attempt_at.getTime() > Date.now(), 'the mailbox backs off instead of retrying in a tight loop');
    assert.deepEqual(await relayOrganization(deps(), org), { counted: 0, signalled: 0, failedMailboxes: 0, commands: 0, failedCommands: 0 }, 'nothing is due during the back-off');

    await withTenant(t.db, org, (tx) => tx('signal_backoff').update({ next_attempt_at: tx.raw("now() - interval '1 second'") }));
    assert.deepEqual(await relayOrganization(deps(), org), { counted: 0, signalled: 2, failedMailboxes: 0, commands: 0, failedCommands: 0 });
    assert.deepEqual(await backlog(org), { toCount: 0, toSignal: 0 });
    const snap = await until(async () => {
      const s = await snapshot(org, mailbox);
      return s.received.hardBounces + s.received.failures === 2 && s.lastWindows !== undefined ? s : undefined;
    }, 30_000, 'the workflow to take the bounce and the failure and read its windows');
    assert.deepEqual(snap.received, { hardBounces: 1, failures: 1 });
    assert.deepEqual(snap.lastWindows?.windows['1h'], { sent: 2, hardBounces: 1, failures: 1, reputationBlocks: 0 }, 'the workflow read its windows from the counters');
  });

  it('a redelivered signal (the commit after it failed) changes nothing in the workflow', async () => {
    const org = await newOrg('Redelivery');
    const mailbox = 'sam@redelivery.test';
    await ingestEvents(t.db, org, [event('b-1', 'HardBounce', mailbox), event('b-2', 'HardBounce', mailbox)]);
    await relayOrganization(deps(), org);
    const first = await until(async () => {
      const s = await snapshot(org, mailbox);
      return s.received.hardBounces === 2 && s.buffered === 0 ? s : undefined;
    }, 30_000, 'both bounces taken');
    const seqs = (await withTenant(t.db, org, (tx) => tx('events').orderBy('id').pluck('id'))) as number[];
    await signalMailbox(client, taskQueue, org, mailbox, seqs.map((seq) => ({ seq, type: 'HardBounce', occurredAt: Date.now() })));
    await ingestEvents(t.db, org, [event('b-3', 'HardBounce', mailbox)]);
    await relayOrganization(deps(), org);
    const after = await until(async () => {
      const s = await snapshot(org, mailbox);
      return s.received.hardBounces >= 3 && s.buffered === 0 ? s : undefined;
    }, 30_000, 'the third bounce taken');
    assert.equal(after.received.hardBounces, 3, 'the two redelivered bounces were dropped, the new one taken');
    assert.ok(after.highWater > first.highWater);
  });

  it('two relays at once count every event exactly once, and a rebuild from the events equals the live counters', async () => {
    const org = await newOrg('Two relays');
    const mailboxes = Array.from({ length: 20 }, (_, i) => `m${i}@two-relays-${i % 3}.test`);
    const events: NewEvent[] = [];
    for (let i = 0; i < 3000; i += 1) {
      const type = i % 20 === 0 ? 'HardBounce' : i % 33 === 0 ? 'DeliveryFailure' : 'EmailSent';
      // Every other delivery failure is a reputation block ("blocked", 5.7.x), counted in its own column too.
      const bounceClass = type === 'DeliveryFailure' ? (i % 66 === 0 ? ('reputation' as const) : ('transient' as const)) : undefined;
      events.push(
        event(`e-${i}`, type, mailboxes[i % mailboxes.length]!, {
          campaignId: String(i % 4),
          occurredAt: new Date(Date.now() - (i % 50) * 60_000),
          ...(bounceClass === undefined ? {} : { bounceClass }),
        }),
      );
    }
    for (let i = 0; i < events.length; i += 500) await ingestEvents(t.db, org, events.slice(i, i + 500));
    // Small batches so both relays interleave over many transactions.
    const options = { countBatch: 50, signalBatch: 50 };
    const drain = async (): Promise<number> => {
      let counted = 0;
      for (;;) {
        const r = await relayOrganization(deps(), org, options);
        counted += r.counted;
        if (r.counted === 0 && r.signalled === 0 && (await backlog(org)).toCount === 0 && (await backlog(org)).toSignal === 0) return counted;
      }
    };
    const [a, b] = await Promise.all([drain(), drain()]);
    assert.equal(a + b, 3000, 'the two relays counted 3000 events between them');
    assert.ok(a > 0 && b > 0, `both relays took part (${a} + ${b})`);

    const live = await counters(org);
    const totals = live.filter((r) => r.entityType === 'mailbox').reduce((s, r) => s + r.sent + r.hardBounces + r.failures, 0);
    assert.equal(totals, 3000);
    const blocks = events.filter((e) => e.bounceClass === 'reputation').length;
    assert.ok(blocks > 0);
    for (const type of ['mailbox', 'domain']) {
      const counted = live.filter((r) => r.entityType === type).reduce((s, r) => s + r.reputationBlocks, 0);
      assert.equal(counted, blocks, `each reputation block counted once per ${type}`);
    }
    const rebuilt = await withTenant(t.db, org, async (tx) => {
      await rebuildCounters(tx, org, Date.now());
      return allCounters(tx);
    });
    assert.deepEqual(rebuilt, live);

    const bounces = events.filter((e) => e.type !== 'EmailSent');
    const received = await until(async () => {
      let sum = 0;
      for (const m of mailboxes) {
        const s = await snapshot(org, m).catch(() => undefined);
        sum += (s?.received.hardBounces ?? 0) + (s?.received.failures ?? 0);
      }
      return sum === bounces.length ? sum : undefined;
    }, 60_000, 'every bounce and failure taken by its workflow');
    assert.equal(received, bounces.length);
  });

  it('the count stage reads only the events it claims, however many are stored', async () => {
    const org = await newOrg('Plan');
    const many = Array.from({ length: 5000 }, (_, i) => event(`p-${i}`, i % 20 === 0 ? 'HardBounce' : 'EmailSent', `m${i % 100}@plan-${i % 7}.test`, { campaignId: String(i % 5) }));
    for (let i = 0; i < many.length; i += 1000) await ingestEvents(t.db, org, many.slice(i, i + 1000));
    while ((await relayOrganization({ db: t.db, client: temporalDown, taskQueue }, org, { countBatch: 5000 })).counted > 0);
    await ingestEvents(t.db, org, Array.from({ length: 1000 }, (_, i) => event(`q-${i}`, 'EmailSent', `m${i % 100}@plan-0.test`)));
    await t.db.raw('analyze events');
    type PlanNode = { 'Relation Name'?: string; 'Actual Rows': number; 'Actual Loops': number; Plans?: PlanNode[] };
    const eventRowsRead: number[] = [];
    const walk = (n: PlanNode): void => {
      if (n['Relation Name'] === 'events') eventRowsRead.push(n['Actual Rows'] * n['Actual Loops']);
      for (const child of n.Plans ?? []) walk(child);
    };
    await withTenant(t.db, org, async (tx) => {
      const { rows } = await tx.raw<{ rows: { 'QUERY PLAN': { Plan: PlanNode }[] }[] }>(`explain (analyze, format json) ${COUNT_QUEUED_SQL}`, [1000]);
      walk(rows[0]!['QUERY PLAN'][0]!.Plan);
      throw new Error('roll back');
    }).catch((error: unknown) => assert.match(String(error), /roll back/));
    assert.ok(eventRowsRead.length > 0, 'the plan reads events');
    assert.ok(eventRowsRead.every((n) => n <= 1000), `rows of events read per plan node: ${eventRowsRead.join(', ')} (1,000 claimed of 6,000 stored)`);
  });

  it('`npm run rebuild-counters` repairs drifted counters from the events and says how many buckets differed', async () => {
    const org = await newOrg('Rebuild command');
    await ingestEvents(t.db, org, [event('c-1', 'EmailSent', 'r@rebuild.test', { campaignId: '9' }), event('c-2', 'HardBounce', 'r@rebuild.test')]);
    await relayOrganization({ db: t.db, client: temporalDown, taskQueue }, org);
    const live = await counters(org);
    await withTenant(t.db, org, (tx) => tx('entity_counters').where({ entity_type: 'mailbox' }).update({ sent: 999 }));
    await withTenant(t.db, org, (tx) => tx('entity_counters').where({ entity_type: 'campaign' }).delete());
    const run = runEntryPoint('src/workers/rebuildCounters.ts', { DATABASE_URL: t.appUrl, LOG_LEVEL: 'warn' });
    assert.equal(await run.exited, 0, run.output());
    assert.match(run.output(), /Rebuilt \d+ counter bucket\(s\) for \d+ organization\(s\) from the stored events; 2 bucket\(s\) differed from the live counters and were corrected\./);
    assert.deepEqual(await counters(org), live);
  });

  it('wakes on the NOTIFY the API sends after ingesting (RelayWaker), without waiting for its poll', async () => {
    const org = await newOrg('Notify');
    // Drained of what other tests left, so only this organization's event wakes it.
    const relay = await listeningRelay();
    try {
      await ingestEvents(t.db, org, [event('n-1', 'EmailSent', 'n@notify.test')]);
      assert.deepEqual(await backlog(org), { toCount: 1, toSignal: 0 }, 'ingestion itself notifies nobody');
      const waker = new RelayWaker(t.db);
      waker.poke();
      await until(async () => ((await backlog(org)).toCount === 0 ? true : undefined), 30_000, 'the event counted');
      waker.stop();
      assert.equal((await counters(org)).filter((r) => r.entityType === 'mailbox')[0]?.sent, 1);
    } finally {
      await relay.stop();
    }
  });
  describe('commands (entity_commands)', () => {
    const override = (org: string, mailbox: string, action: 'pause' | 'resume', reason: string) =>
      withTenant(t.db, org, (tx) =>
        enqueueCommand(tx, {
          organizationId: org,
          entityType: 'mailbox',
          entityKey: mailbox,
          kind: 'override',
          actor: 'api-key:test',
          payload: (commandId): OverrideCommand => ({ commandId, action, reason, actor: 'api-key:test', requestedAt: Date.now() }),
        }),
      );
    const settingsChanged = (org: string, version: number) =>
      withTenant(t.db, org, (tx) =>
        enqueueCommand(tx, { organizationId: org, entityType: 'organization', entityKey: org, kind: 'settings_changed', actor: 'api-key:test', payload: () => ({ version }) }),
      );
    const commandsOf = (org: string) => withTenant(t.db, org, (tx) => pendingCommands(tx));
    /** The signals a workflow has received, by name, with their first argument. */
    const signalsOf = async (workflowId: string): Promise<{ name: string; arg: Record<string, unknown> }[]> => {
      const history = await client.workflow.getHandle(workflowId).fetchHistory();
      return (history.events ?? []).flatMap((e) => {
        const signalled = e.workflowExecutionSignaledEventAttributes;
        if (signalled == null) return [];
        const payload = signalled.input?.payloads?.[0];
        return [{ name: signalled.signalName ?? '', arg: payload == null ? {} : defaultPayloadConverter.fromPayload<Record<string, unknown>>(payload) }];
      });
    };

    it('delivers an override to the mailbox workflow exactly once, in order behind a failed one, and backs off while Temporal is down', async () => {
      const org = await newOrg('Override relay');
      const mailbox = 'ops@override-relay.test';
      const pause = await override(org, mailbox, 'pause', 'client asked');
      const resume = await override(org, mailbox, 'resume', 'client agreed');

      const down = await relayOrganization({ db: t.db, client: temporalDown, taskQueue }, org);
      assert.deepEqual([down.commands, down.failedCommands], [0, 1], 'the pause failed; the resume was not tried before it');
      assert.deepEqual((await commandsOf(org)).map((c) => [c.payload.action, c.attempts]), [['pause', 1], ['resume', 0]], 'both kept, the pause backing off');
      const waiting = await relayOrganization(deps(), org);
      assert.deepEqual([waiting.commands, waiting.failedCommands], [0, 0], 'the resume waits behind the pause while it backs off');

      await withTenant(t.db, org, (tx) => tx('entity_commands').update({ next_attempt_at: tx.raw("now() - interval '1 second'") }));
      const delivered = await relayOrganization(deps(), org);
      assert.deepEqual([delivered.commands, delivered.failedCommands], [2, 0]);
      assert.deepEqual(await commandsOf(org), [], 'delivered commands leave the queue');
      assert.deepEqual((await relayOrganization(deps(), org)).commands, 0, 'and are not delivered again');

      // A signal that arrives while a workflow task runs enters the history when that task ends.
      const signals = await until(async () => {
        const s = await signalsOf(mailboxWorkflowId(org, mailbox));
        return s.length >= 2 ? s : undefined;
      }, 30_000, 'both overrides in the workflow history');
      assert.deepEqual(
        signals.map((s) => [s.name, s.arg.commandId, s.arg.action, s.arg.reason, s.arg.actor]),
        [
          ['override', pause, 'pause', 'client asked', 'api-key:test'],
          ['override', resume, 'resume', 'client agreed', 'api-key:test'],
        ],
        'each override reached the workflow once, the pause first',
      );
    });

    it('fans a settings change out to the mailboxes (then campaigns and domains) whose decision it could change, a bounded page per round, the newest version only', async () => {
      const org = await newOrg('Settings fan-out');
      const [paused, bounced, sending, quiet] = ['a-paused@fan.test', 'b-bounced@fan.test', 'c-sending@fan.test', 'd-quiet@fan.test'];
      await ingestEvents(t.db, org, [
        event('f-1', 'EmailSent', paused),
        event('f-2', 'HardBounce', bounced),
        event('f-3', 'EmailSent', sending),
        event('f-4', 'EmailSent', quiet, { occurredAt: new Date(Date.now() - 8 * 24 * 3600_000), flags: ['stale'] }),
      ]);
      await withTenant(t.db, org, (tx) => tx('mailboxes').where({ email: paused }).update({ state: 'paused' }));
      await settingsChanged(org, 2);
      await settingsChanged(org, 3);
      // First round: counts, signals the bounce (starting that workflow), and signals one mailbox of the fan-out.
      const first = await relayOrganization(deps(), org, { fanOutBatch: 1 });
      assert.deepEqual([first.counted, first.signalled, first.commands], [3, 1, 1]);
      assert.deepEqual((await commandsOf(org)).map((c) => [c.kind, c.payload.version, c.payload.after]), [['settings_changed', 3, paused]], 'version 2 superseded; the fan-out keeps its place');
      const rounds: number[] = [];
      while ((await commandsOf(org)).length > 0) rounds.push((await relayOrganization(deps(), org, { fanOutBatch: 1 })).commands);
      // The bounce also makes its domain one a new threshold could judge (campaigns and domains follow the mailboxes).
      assert.deepEqual(rounds, [1, 1, 0], 'one entity per round (the other mailbox, then the domain), then the change is done');

      for (const workflowId of [mailboxWorkflowId(org, paused), mailboxWorkflowId(org, bounced), domainWorkflowId(org, 'fan.test')]) {
        const changes = await until(async () => {
          const got = (await signalsOf(workflowId)).filter((s) => s.name === 'settingsChanged');
          return got.length > 0 ? got : undefined;
        }, 30_000, `${workflowId}'s settingsChanged in its history`);
        assert.deepEqual(
          changes.map((s) => s.arg),
          [{ version: 3 }],
          `${workflowId} told once, with the newest version`,
        );
      }
      const bounces = (await signalsOf(mailboxWorkflowId(org, bounced))).filter((s) => s.name === 'bounces');
      assert.deepEqual(
        bounces.flatMap((s) => (s.arg.events as { type: string; bounceClass?: string }[]).map((e) => [e.type, e.bounceClass])),
        [['HardBounce', 'list_quality']],
        'the bounces signal carries each bounce with its class',
      );
      for (const mailbox of [sending, quiet]) {
        await assert.rejects(client.workflow.getHandle(mailboxWorkflowId(org, mailbox)).describe(), /not found/i, `${mailbox} has nothing to re-decide`);
      }
    });

    it('wakes on the NOTIFY the API sends after storing a command', async () => {
      const org = await newOrg('Command notify');
      const relay = await listeningRelay();
      try {
        const id = await override(org, 'w@command-notify.test', 'pause', 'now');
        const waker = new RelayWaker(t.db);
        waker.poke();
        await until(async () => ((await commandsOf(org)).length === 0 ? true : undefined), 30_000, 'the command delivered');
        waker.stop();
        const got = await until(async () => {
          const signals = await signalsOf(mailboxWorkflowId(org, 'w@command-notify.test'));
          return signals.length > 0 ? signals : undefined;
        }, 30_000, 'the override in the workflow history');
        assert.deepEqual(got.map((s) => s.arg.commandId), [id]);
      } finally {
        await relay.stop();
      }
    });
  });
});
