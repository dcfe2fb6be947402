/**
 * Response parsing accepts every shape Smartlead's documentation shows (the simulator serves only one of them).
 */
import assert from 'node:assert/strict';
import {
  addLeadsResponseSchema,
  campaignListSchema,
  campaignStatusResponseSchema,
  emailAccountListSchema,
  leadByEmailResponseSchema,
  redactSecrets,
  smartleadWebhookSchema,
} from '../../src/smartlead';

describe('Smartlead response schemas', () => {
  it('campaign lists: bare array or wrapped, numeric ids become strings, extra fields ignored', () => {
    const item = { id: 2710262, name: 'Q1', status: 'active', track_settings: ['DONT_EMAIL_OPEN'], client_id: null, surprise: { x: 1 } };
    const bare = campaignListSchema.parse([item]);
    assert.deepEqual(bare[0], { id: '2710262', name: 'Q1', status: 'ACTIVE', clientId: null, parentCampaignId: null, createdAt: null, updatedAt: null });
    assert.deepEqual(campaignListSchema.parse({ data: [item] }), bare);
    assert.deepEqual(campaignListSchema.parse({ campaigns: [item] }), bare);
    assert.equal(campaignListSchema.safeParse([{ id: 1, name: 'no status' }]).success, false);
  });

  it('campaign status: {ok} (OpenAPI) and {success, message, campaign} (API reference)', () => {
    assert.equal(campaignStatusResponseSchema.parse({ ok: true }).ok, true);
    const doc = campaignStatusResponseSchema.parse({ success: true, message: 'updated', campaign: { id: 123, status: 'ACTIVE' } });
    assert.equal(doc.campaign?.status, 'ACTIVE');
    assert.equal(doc.campaign?.id, '123');
  });

  it('email accounts: is_smtp/imap_success or connection_status, numeric strings, wrapped lists', () => {
    const [a, b] = emailAccountListSchema.parse({
      email_accounts: [
        { id: 1, from_email: 'A@Example.COM', is_smtp_success: true, is_imap_success: false, message_per_day: '40' },
        { id: '2', from_email: 'b@x.io', connection_status: 'CONNECTED', is_suspended: true, max_email_per_day: 30 },
      ],
    });
    assert.ok(a && b);
    assert.equal(a.domain, 'example.com');
    assert.equal(a.connected, false);
    assert.equal(a.maxEmailsPerDay, 40);
    assert.equal(a.isSuspended, false);
    assert.equal(b.connected, true);
    assert.equal(b.isSuspended, true);
    assert.equal(b.maxEmailsPerDay, 30);
  });

  it('add-leads responses: help-center, OpenAPI and guide shapes', () => {
    const legacy = addLeadsResponseSchema.parse({
      ok: true,
      upload_count: 2,
      total_leads: 2,
      already_added_to_campaign: 1,
      duplicate_count: 0,
      invalid_email_count: 0,
      unsubscribed_leads: [],
      is_lead_limit_exhausted: false,
    });
    assert.equal(legacy.upload_count, 2);
    assert.deepEqual(legacy.unsubscribed_leads, []);
    assert.equal(addLeadsResponseSchema.parse({ ok: true, inserted_count: 3, duplicate_count: 1, blocked_count: 2 }).inserted_count, 3);
    assert.equal(addLeadsResponseSchema.parse({ added_count: 5, skipped_count: 1 }).added_count, 5);
  });

  it('lead by email: {} and null mean not found; an array is tolerated', () => {
    assert.equal(leadByEmailResponseSchema.parse({}), null);
    assert.equal(leadByEmailResponseSchema.parse(null), null);
    const lead = leadByEmailResponseSchema.parse([{ id: 2995276770, email: 'john@example.com', lead_campaign_data: [{ campaign_id: 123, campaign_lead_map_id: 9 }] }]);
    assert.equal(lead?.id, '2995276770');
    assert.deepEqual(lead?.campaigns, [{ campaignId: '123', campaignName: null, campaignLeadMapId: '9' }]);
  });

  it('webhook bodies keep unknown fields and accept unknown event types', () => {
    const body = smartleadWebhookSchema.parse({ event_type: 'SOMETHING_NEW', campaign_id: 5, custom: { a: 1 } });
    assert.equal(body.event_type, 'SOMETHING_NEW');
    assert.equal(body.campaign_id, '5');
    assert.deepEqual((body as Record<string, unknown>).custom, { a: 1 });
  });

  it('redactSecrets removes api_key values and literal secrets', () => {
    assert.equal(redactSecrets('GET /x?api_key=abc123&y=1'), 'GET /x?api_key=[redacted]&y=1');
    assert.equal(redactSecrets('{"api_key":"abc123"}'), '{"api_key":"[redacted]"}');
    assert.equal(redactSecrets('token s3cr3t-value here', ['s3cr3t-value']), 'token [redacted] here');
  });
});
