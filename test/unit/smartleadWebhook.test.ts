import assert from 'node:assert/strict';
import { mapSmartleadWebhook, sanitizeSmartleadBody, smartleadIdempotencyKey } from '../../src/ingestion/smartleadWebhook';

const NOW = new Date('2026-11-21T12:00:00Z');
const base = {
  stats_id: 'st-1',
  from_email: 'Sam@Acme-Mail.com',
  to_email: 'Lead@Prospect.com',
  campaign_id: 42,
  event_timestamp: '2026-11-21T11:59:00Z',
  sl_email_lead_id: 777,
  secret_key: 'shh',
};

describe('Smartlead webhook mapping', () => {
  // The class table itself is tested in bounceClass.test.ts; here, that the split into event types follows it.
  const bounces: [string, { type: string; bounceClass: string }][] = [
    ["550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address", { type: 'HardBounce', bounceClass: 'list_quality' }],
    ['550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup', { type: 'HardBounce', bounceClass: 'list_quality' }],
    ['550 5.2.1 The email account that you tried to reach is disabled.', { type: 'HardBounce', bounceClass: 'list_quality' }],
    ['550 No such user here', { type: 'HardBounce', bounceClass: 'list_quality' }],
    ['421 4.7.0 [TSS04] Messages from 203.0.113.7 temporarily deferred due to unexpected volume or user complaints', { type: 'DeliveryFailure', bounceClass: 'reputation' }],
    ['550 5.7.1 Message rejected: sender reputation too low (policy)', { type: 'DeliveryFailure', bounceClass: 'reputation' }],
    ['550 5.7.1 <lead@prospect.example>: Recipient address rejected: User unknown', { type: 'DeliveryFailure', bounceClass: 'reputation' }],
    ['452 4.2.2 The email account that you tried to reach is over quota.', { type: 'DeliveryFailure', bounceClass: 'transient' }],
    ['451 4.7.1 Please try again later', { type: 'DeliveryFailure', bounceClass: 'transient' }],
    ['Invalid login: 535-5.7.8 Username and Password not accepted.', { type: 'DeliveryFailure', bounceClass: 'account' }],
    ['connect ECONNREFUSED 198.51.100.25:587', { type: 'DeliveryFailure', bounceClass: 'account' }],
    ['554 Transaction failed', { type: 'DeliveryFailure', bounceClass: 'unknown' }],
  ];
  for (const [diagnostic, expected] of bounces) {
    it(`stores "${diagnostic.slice(0, 60)}" as ${expected.type} (${expected.bounceClass})`, () => {
      const mapped = mapSmartleadWebhook({ ...base, event_type: 'EMAIL_BOUNCE', bounce_message: { text: diagnostic } }, NOW);
      assert.deepEqual({ type: mapped.type, bounceClass: mapped.bounceClass, counted: mapped.counted }, { ...expected, counted: true });
    });
  }

  const events: [string, Record<string, unknown>, { type: string; counted: boolean; flags?: string[] }][] = [
    ['EMAIL_SENT → EmailSent', { event_type: 'EMAIL_SENT' }, { type: 'EmailSent', counted: true }],
    ['a hard EMAIL_BOUNCE → HardBounce', { event_type: 'EMAIL_BOUNCE', bounce_message: { text: '550 5.1.1 User unknown' } }, { type: 'HardBounce', counted: true }],
    ['a soft EMAIL_BOUNCE → DeliveryFailure', { event_type: 'EMAIL_BOUNCE', bounce_message: { text: '421 4.7.0 deferred' } }, { type: 'DeliveryFailure', counted: true }],
    ['a bounce given as a plain string', { event_type: 'EMAIL_BOUNCE', bounce_message: '550 5.1.1 no such user' }, { type: 'HardBounce', counted: true }],
    ['a bounce without a diagnostic → DeliveryFailure', { event_type: 'EMAIL_BOUNCE' }, { type: 'DeliveryFailure', counted: true }],
    ['a bounce named EMAIL_BOUNCED', { event_type: 'EMAIL_BOUNCED', bounce_message: { text: '550 5.1.1 User unknown' } }, { type: 'HardBounce', counted: true }],
    ['a bounce whose type is in `event`', { event_type: undefined, event: 'EMAIL_BOUNCED', bounce_message: { text: '550 5.1.1 User unknown' } }, { type: 'HardBounce', counted: true }],
    ['a send whose type is in `event`', { event_type: undefined, event: 'EMAIL_SENT' }, { type: 'EmailSent', counted: true }],
    ['a bounce naming only its account id', { event_type: 'EMAIL_BOUNCE', from_email: undefined, email_account_id: 5120, bounce_message: '550 5.7.1 blocked' }, { type: 'DeliveryFailure', counted: true }],
    ['a bounce naming neither address nor account (stored, not counted)', { from_email: undefined, event_type: 'EMAIL_BOUNCE' }, { type: 'EMAIL_BOUNCE', counted: false, flags: ['no_mailbox'] }],
    ['an EMAIL_ACCOUNT_DISCONNECTED alert → DeliveryFailure', { event_type: 'EMAIL_ACCOUNT_DISCONNECTED', error: 'SMTP connection failed' }, { type: 'DeliveryFailure', counted: true, flags: [] }],
    ['EMAIL_REPLY (stored only)', { event_type: 'EMAIL_REPLY' }, { type: 'EMAIL_REPLY', counted: false }],
    ['FIRST_EMAIL_SENT (stored only: EMAIL_SENT already counts the send)', { event_type: 'FIRST_EMAIL_SENT' }, { type: 'FIRST_EMAIL_SENT', counted: false }],
    ['an unknown event type', { event_type: 'BRAND_NEW_THING' }, { type: 'BRAND_NEW_THING', counted: false }],
    ['no event type at all', { event_type: undefined }, { type: 'UNKNOWN', counted: false }],
    ['a send without a usable sender mailbox', { event_type: 'EMAIL_SENT', from_email: 'not an email' }, { type: 'EMAIL_SENT', counted: false, flags: ['no_mailbox'] }],
    ['a send 2 hours in the future (clamped)', { event_type: 'EMAIL_SENT', event_timestamp: '2026-11-21T14:00:00Z' }, { type: 'EmailSent', counted: true, flags: ['future_clamped'] }],
    ['a bounce 8 days old (stored, not counted)', { event_type: 'EMAIL_BOUNCE', event_timestamp: '2026-11-13T11:00:00Z', bounce_message: '550 5.1.1 x' }, { type: 'HardBounce', counted: false, flags: ['stale'] }],
    ['a send without a timestamp (receive time)', { event_type: 'EMAIL_SENT', event_timestamp: 'yesterday-ish' }, { type: 'EmailSent', counted: true, flags: ['no_timestamp'] }],
    ["a send at JavaScript's smallest date (clamped)", { event_type: 'EMAIL_SENT', event_timestamp: '-271821-04-20T00:00:00.000Z' }, { type: 'EmailSent', counted: true, flags: ['out_of_range_clamped'] }],
    ['a bounce at the Unix epoch (clamped)', { event_type: 'EMAIL_BOUNCE', event_timestamp: '1970-01-01T00:00:00Z', bounce_message: '550 5.1.1 x' }, { type: 'HardBounce', counted: true, flags: ['out_of_range_clamped'] }],
    ['a send in 1999 (clamped)', { event_type: 'EMAIL_SENT', event_timestamp: '1999-12-31T23:59:59Z' }, { type: 'EmailSent', counted: true, flags: ['out_of_range_clamped'] }],
    ['a send in the year 2100 (clamped)', { event_type: 'EMAIL_SENT', event_timestamp: '2100-01-01T00:00:00Z' }, { type: 'EmailSent', counted: true, flags: ['out_of_range_clamped'] }],
    ["a send at JavaScript's largest date (clamped)", { event_type: 'EMAIL_SENT', event_timestamp: '+275760-09-13T00:00:00.000Z' }, { type: 'EmailSent', counted: true, flags: ['out_of_range_clamped'] }],
    ['a send in 2000 (plausible, only old)', { event_type: 'EMAIL_SENT', event_timestamp: '2000-01-01T00:00:00Z' }, { type: 'EmailSent', counted: false, flags: ['stale'] }],
  ];
  for (const [what, overrides, expected] of events) {
    it(`maps ${what}`, () => {
      const mapped = mapSmartleadWebhook({ ...base, ...overrides }, NOW);
      assert.deepEqual({ type: mapped.type, counted: mapped.counted, flags: mapped.flags }, { flags: [], ...expected });
    });
  }

  it('reads both documented shapes of one bounce as the same event (type, class, key), naming the mailbox by address or by account id', () => {
    const bounce = { stats_id: 'st-9', to_email: 'lead@prospect.com', campaign_id: 42, event_timestamp: '2026-11-21T11:59:00Z', bounce_message: { text: '554 5.7.1 Service unavailable; Client host [203.0.113.7] blocked using zen.spamhaus.org' } };
    const flat = mapSmartleadWebhook({ ...bounce, event_type: 'EMAIL_BOUNCE', from_email: 'Sam@Acme-Mail.com' }, NOW);
    const other = mapSmartleadWebhook({ ...bounce, event: 'EMAIL_BOUNCED', email_account_id: 5120 }, NOW);
    const pick = (m: typeof flat) => ({ type: m.type, bounceClass: m.bounceClass, counted: m.counted, key: m.idempotencyKey, campaignId: m.campaignId, flags: m.flags });
    assert.deepEqual(pick(other), pick(flat));
    assert.deepEqual(pick(flat), { type: 'DeliveryFailure', bounceClass: 'reputation', counted: true, key: 'smartlead:EMAIL_BOUNCE:stats:st-9', campaignId: '42', flags: [] });
    assert.deepEqual([flat.mailbox, flat.mailboxAccountId], ['sam@acme-mail.com', undefined]);
    assert.deepEqual([other.mailbox, other.mailboxAccountId], [undefined, '5120']);
    assert.deepEqual([flat.eventType, other.eventType], ['EMAIL_BOUNCE', 'EMAIL_BOUNCED'], 'the answer says what Smartlead sent');
  });

  it('prefers the address to the account id when a body carries both', () => {
    const mapped = mapSmartleadWebhook({ ...base, event_type: 'EMAIL_SENT', email_account_id: 5120 }, NOW);
    assert.deepEqual([mapped.mailbox, mapped.mailboxAccountId], ['sam@acme-mail.com', undefined]);
  });

  it('counts an EMAIL_ACCOUNT_DISCONNECTED alert as a delivery failure of that mailbox, class account', () => {
    const alert = { event_type: 'EMAIL_ACCOUNT_DISCONNECTED', accountId: 5120, email: 'Sam@Acme-Mail.com', error: 'Invalid login: 535-5.7.8 Username and Password not accepted.' };
    const byAddress = mapSmartleadWebhook(alert, NOW);
    assert.deepEqual(
      { type: byAddress.type, bounceClass: byAddress.bounceClass, counted: byAddress.counted, mailbox: byAddress.mailbox, accountId: byAddress.mailboxAccountId },
      { type: 'DeliveryFailure', bounceClass: 'account', counted: true, mailbox: 'sam@acme-mail.com', accountId: undefined },
    );
    assert.deepEqual(byAddress.flags, ['no_timestamp'], 'an alert has no event time: the receive time stands in');
    assert.equal(byAddress.detail.error, alert.error, 'the reason is kept with the event');
    const byAccount = mapSmartleadWebhook({ event: 'EMAIL_ACCOUNT_DISCONNECTED', accountId: 5120 }, NOW);
    assert.deepEqual([byAccount.type, byAccount.bounceClass, byAccount.mailboxAccountId, byAccount.counted], ['DeliveryFailure', 'account', '5120', true]);
  });

  it('classes only bounces and failures', () => {
    assert.equal(mapSmartleadWebhook({ ...base, event_type: 'EMAIL_SENT' }, NOW).bounceClass, undefined);
    assert.equal(mapSmartleadWebhook({ ...base, event_type: 'EMAIL_REPLY' }, NOW).bounceClass, undefined);
    assert.equal(mapSmartleadWebhook({ ...base, event_type: 'EMAIL_BOUNCE', from_email: undefined }, NOW).bounceClass, undefined, 'stored, not counted: no class');
  });

  it('normalizes mailbox, lead and campaign, and keeps the sender’s time', () => {
    const mapped = mapSmartleadWebhook({ ...base, event_type: 'EMAIL_SENT' }, NOW);
    assert.deepEqual([mapped.mailbox, mapped.leadEmail, mapped.campaignId], ['sam@acme-mail.com', 'lead@prospect.com', '42']);
    assert.equal(mapped.occurredAt.toISOString(), '2026-11-21T11:59:00.000Z');
    assert.equal(mapSmartleadWebhook({ ...base, event_type: 'EMAIL_SENT', event_timestamp: '2026-11-21T14:00:00Z' }, NOW).occurredAt.getTime(), NOW.getTime());
    assert.equal(mapSmartleadWebhook({ ...base, event_type: 'EMAIL_SENT', event_timestamp: '-271821-04-20T00:00:00.000Z' }, NOW).occurredAt.getTime(), NOW.getTime());
  });

  const keys: [string, Record<string, unknown>, RegExp][] = [
    ['event_type + stats_id', { event_type: 'EMAIL_SENT', stats_id: 'abc' }, /^smartlead:EMAIL_SENT:stats:abc$/],
    ['event_type + lead + timestamp without stats_id', { event_type: 'EMAIL_BOUNCE', stats_id: null, sl_email_lead_id: 9, event_timestamp: 't1' }, /^smartlead:EMAIL_BOUNCE:lead:9:t1$/],
    ['a hash of the body otherwise', { event_type: 'EMAIL_OPEN', stats_id: undefined, sl_email_lead_id: undefined }, /^smartlead:body:[0-9a-f]{64}$/],
  ];
  for (const [what, body, pattern] of keys) {
    it(`derives the idempotency key from ${what}`, () => assert.match(smartleadIdempotencyKey({ ...base, ...body }), pattern));
  }

  it('gives a sent and a bounce of the same message different keys, and the same body the same key', () => {
    assert.notEqual(smartleadIdempotencyKey({ ...base, event_type: 'EMAIL_SENT' }), smartleadIdempotencyKey({ ...base, event_type: 'EMAIL_BOUNCE' }));
    const a = { event_type: 'X', b: 1, a: { y: 2, x: 1 } };
    const b = { a: { x: 1, y: 2 }, b: 1, event_type: 'X', secret_key: 'other' };
    assert.equal(smartleadIdempotencyKey(a), smartleadIdempotencyKey(b), 'key order and the secret do not matter');
  });

  it('keeps a very long id bounded', () => assert.ok(smartleadIdempotencyKey({ event_type: 'EMAIL_SENT', stats_id: 'x'.repeat(500) }).length <= 200));

  it('stores the body without its secret or email content, keeping the bounce diagnostic', () => {
    const clean = sanitizeSmartleadBody({
      ...base,
      event_type: 'EMAIL_BOUNCE',
      subject: 'Pricing for Acme',
      preview_text: 'Hi Sam',
      sent_message: { message_id: '<m1>', html: '<p>Hi Sam</p>', text: 'Hi Sam', time: 't' },
      reply_message: { message_id: '<r1>', text: 'no thanks' },
      bounce_message: { message_id: '<b1>', html: '<p>550 5.1.1</p>', text: '550 5.1.1 User unknown', time: 't' },
    });
    assert.equal(clean.secret_key, undefined);
    assert.equal(clean.subject, undefined);
    assert.equal(clean.preview_text, undefined);
    assert.deepEqual(clean.sent_message, { message_id: '<m1>', time: 't' });
    assert.deepEqual(clean.reply_message, { message_id: '<r1>', time: null });
    assert.deepEqual(clean.bounce_message, { message_id: '<b1>', time: 't', text: '550 5.1.1 User unknown' });
    assert.equal(clean.stats_id, 'st-1');
  });
});
