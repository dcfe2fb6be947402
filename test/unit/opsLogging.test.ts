/**
 * Logs carry correlation and no personal data or secrets: emails keep only their domain (and a short hash of the
 * local part), Drason's bearer secrets and Smartlead's `api_key=` never appear, secret-named fields are dropped at
 * any depth, request context (request id, organization) is added, and the Temporal SDK's log lines come through
 * the same redaction.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import winston from 'winston';
import { MockActivityEnvironment } from '@temporalio/testing';
import { redactText, temporalLogger, logger } from '../../src/lib/logger';
import { runWithRequestContext } from '../../src/lib/requestContext';
import { queryOperation, smartleadEndpointTemplate, statusClass } from '../../src/lib/metrics';
import { captureLogs } from '../support/observability';

describe('logs: redaction and correlation', () => {
  const key = 'drk_Zm9vYmFyYmF6cXV4cXV1eHh5enp5';

  it('masks emails (domain kept, same hash for the same address), Drason secrets, bearer tokens and api_key= values', () => {
    const out = redactText(`mailbox Sam.Smith@acme-mail.com bounced to lead+1@prospect.example; key ${key}, Authorization: Bearer abcdefghijklmnop, GET https://x/api?api_key=sl-secret-123&x=1`);
    assert.ok(!out.includes('Sam.Smith') && !out.includes('lead+1'), out);
    assert.match(out, /\b[0-9a-f]{8}@acme-mail\.com\b/);
    assert.match(out, /\b[0-9a-f]{8}@prospect\.example\b/);
    assert.equal(redactText('sam.smith@acme-mail.com'), redactText('SAM.SMITH@acme-mail.com').replace(/@.*/, '@acme-mail.com'));
    assert.ok(!out.includes(key) && out.includes('drk_[redacted]'), out);
    assert.ok(!out.includes('abcdefghijklmnop') && !out.includes('sl-secret-123'), out);
  });

  it('writes a line only at an enabled level: below the logger level nothing is written, a transport with its own more verbose level still gets it', async () => {
    const written: string[] = [];
    const sink = (level?: string) =>
      new winston.transports.Stream({
        stream: new Writable({ write: (chunk: Buffer, _enc, done) => (written.push(`${level ?? 'logger'}:${JSON.parse(chunk.toString()).message as string}`), done()) }),
        format: winston.format.json(),
        ...(level === undefined ? {} : { level }),
      });
    const previous = logger.level;
    const quiet = logger.transports.map((t) => [t, t.silent] as const);
    for (const [t] of quiet) t.silent = true;
    const plain = sink();
    logger.level = 'warn';
    logger.add(plain);
    try {
      const log = logger.child({ component: 'test' });
      log.http('an http line');
      log.warn('a warning');
      assert.deepEqual(written, ['logger:a warning']);
      const verbose = sink('debug');
      logger.add(verbose);
      log.debug('a debug line');
      logger.remove(verbose);
      assert.deepEqual(written, ['logger:a warning', 'debug:a debug line']);
    } finally {
      logger.remove(plain);
      logger.level = previous;
      for (const [t, silent] of quiet) t.silent = silent;
    }
  });

  it('a log line written while serving a request carries its id and organization, and nothing personal or secret at any depth', async () => {
    const entries = await captureLogs(() =>
      runWithRequestContext({ requestId: 'req-1', organizationId: 'org-1' }, () => {
        logger.child({ component: 'test' }).warn('pausing sam@acme-mail.com', {
          mailbox: 'sam@acme-mail.com',
          nested: { apiKey: 'sl-raw-key', leads: ['a@b.example', { email: 'c@d.example' }], note: `key ${key}` },
          error: new Error('Smartlead PUT /email-accounts/suspend/1 for sam@acme-mail.com failed'),
        });
      }),
    );
    assert.equal(entries.length, 1);
    const text = JSON.stringify(entries);
    assert.equal(entries[0]!.requestId, 'req-1');
    assert.equal(entries[0]!.organizationId, 'org-1');
    for (const secret of ['sam@', 'a@b.example', 'c@d.example', 'sl-raw-key', key]) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /[0-9a-f]{8}@acme-mail\.com/);
  });

  it('the Temporal SDK\'s log lines go through winston with their metadata, redacted, at or above the chosen level', async () => {
    const entries = await captureLogs(() => {
      const t = temporalLogger('INFO');
      t.debug('dropped below INFO');
      t.warn('Activity failed', { workflowId: 'mailbox/0b9c7a1e-0000-4000-8000-000000000001/sam@acme-mail.com', activityType: 'actOnMailboxDecision', sdkComponent: 'activity' });
    });
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.component, 'temporal');
    assert.equal(entries[0]!.level, 'warn');
    assert.equal(entries[0]!.activityType, 'actOnMailboxDecision');
    assert.match(String(entries[0]!.workflowId), /^mailbox\/0b9c7a1e-0000-4000-8000-000000000001\/[0-9a-f]{8}@acme-mail\.com$/);
  });

  it('a log line written inside an activity carries its workflow id, run id, activity type and organization', async () => {
    const organizationId = '0b9c7a1e-0000-4000-8000-000000000002';
    const env = new MockActivityEnvironment({
      activityType: 'actOnMailboxDecision',
      workflowExecution: { workflowId: `mailbox/${organizationId}/sam@acme-mail.com`, runId: 'run-1' },
    });
    const entries = await captureLogs(() =>
      env.run(async () => {
        logger.child({ component: 'engine' }).info('decided');
      }),
    );
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.activityType, 'actOnMailboxDecision');
    assert.equal(entries[0]!.runId, 'run-1');
    assert.equal(entries[0]!.organizationId, organizationId);
    assert.match(String(entries[0]!.workflowId), new RegExp(`^mailbox/${organizationId}/[0-9a-f]{8}@acme-mail\\.com$`));
  });

  it('metric labels are templates: Smartlead endpoints, status classes, query operations', () => {
    assert.equal(smartleadEndpointTemplate('/campaigns/123/leads'), '/campaigns/:id/leads');
    assert.equal(smartleadEndpointTemplate('/email-accounts/suspend/77'), '/email-accounts/suspend/:id');
    assert.equal(smartleadEndpointTemplate('/campaigns/9/leads/555/pause'), '/campaigns/:id/leads/:id/pause');
    assert.equal(smartleadEndpointTemplate('/leads/?email=sam@acme-mail.com'), '/leads');
    assert.equal(smartleadEndpointTemplate('/sam@acme-mail.com'), '/:id');
    assert.equal(statusClass(202), '2xx');
    assert.equal(queryOperation('select', 'select 1'), 'select');
    assert.equal(queryOperation('del', 'delete from x'), 'delete');
    assert.equal(queryOperation('raw', 'with q as (select 1) update t set a = 1'), 'update');
    assert.equal(queryOperation('raw', 'select * from drason_ingest_events($1, $2)'), 'select');
    assert.equal(queryOperation(undefined, 'BEGIN;'), 'other');
  });
});
