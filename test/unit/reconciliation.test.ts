import assert from 'node:assert/strict';
import { describeChange, reconcile, type ReconciliationChange, type ReconciliationInput } from '../../src/domain/reconciliation';

const none = (): ReconciliationInput => ({ known: { campaigns: [], mailboxes: [], links: [] }, remote: { campaigns: [], mailboxes: [], links: [] } });
const camp = (campaignId: string, name = `C${campaignId}`, status = 'ACTIVE') => ({ campaignId, name, status });

describe('Smartlead reconciliation', () => {
  const cases: { name: string; input: ReconciliationInput; expect: ReconciliationChange[] }[] = [
    { name: 'nothing on either side', input: none(), expect: [] },
    {
      name: 'identical views produce no change (mailbox emails compared case-insensitively)',
      input: {
        known: { campaigns: [{ ...camp('1'), deletedExternally: false }], mailboxes: [{ email: 'A@x.com', smartleadAccountId: '9', deletedExternally: false }], links: [{ campaignId: '1', email: 'a@x.com' }] },
        remote: { campaigns: [camp('1')], mailboxes: [{ email: 'a@X.com', accountId: '9' }], links: [{ campaignId: '1', email: 'A@x.com' }] },
      },
      expect: [],
    },
    {
      name: 'a new campaign and a new email account',
      input: { ...none(), remote: { campaigns: [camp('7', 'Q4 CTOs')], mailboxes: [{ email: 'sam@acme.com', accountId: '42' }], links: [{ campaignId: '7', email: 'sam@acme.com' }] } },
      expect: [
        { kind: 'campaign_added', campaignId: '7', name: 'Q4 CTOs', status: 'ACTIVE' },
        { kind: 'mailbox_added', email: 'sam@acme.com', accountId: '42' },
        { kind: 'link_added', campaignId: '7', email: 'sam@acme.com' },
      ],
    },
    {
      name: 'renamed and paused externally',
      input: {
        known: { campaigns: [{ ...camp('1', 'Old'), deletedExternally: false }], mailboxes: [], links: [] },
        remote: { campaigns: [camp('1', 'New', 'PAUSED')], mailboxes: [], links: [] },
      },
      expect: [
        { kind: 'campaign_renamed', campaignId: '1', from: 'Old', to: 'New' },
        { kind: 'campaign_status_changed', campaignId: '1', name: 'New', from: 'ACTIVE', to: 'PAUSED' },
      ],
    },
    {
      name: 'a campaign deleted in Smartlead (its links are not reported twice)',
      input: {
        known: { campaigns: [{ ...camp('1', 'Gone'), deletedExternally: false }], mailboxes: [], links: [{ campaignId: '1', email: 'a@x.com' }] },
        remote: { campaigns: [], mailboxes: [], links: [] },
      },
      expect: [{ kind: 'campaign_deleted', campaignId: '1', name: 'Gone' }],
    },
    {
      name: 'an already-deleted campaign is not reported again, but its return is',
      input: {
        known: { campaigns: [{ ...camp('1'), deletedExternally: true }, { ...camp('2'), deletedExternally: true }], mailboxes: [], links: [] },
        remote: { campaigns: [camp('2', 'C2', 'PAUSED')], mailboxes: [], links: [] },
      },
      expect: [{ kind: 'campaign_reappeared', campaignId: '2', name: 'C2', status: 'PAUSED' }],
    },
    {
      name: 'an email account removed from Smartlead',
      input: {
        known: { campaigns: [], mailboxes: [{ email: 'sam@acme.com', smartleadAccountId: '42', deletedExternally: false }], links: [] },
        remote: { campaigns: [], mailboxes: [], links: [] },
      },
      expect: [{ kind: 'mailbox_removed', email: 'sam@acme.com' }],
    },
    {
      name: 'a mailbox only seen in events is never "removed"; if Smartlead lists it later it is added',
      input: {
        known: { campaigns: [], mailboxes: [{ email: 'x@y.com', smartleadAccountId: null, deletedExternally: false }, { email: 'z@y.com', smartleadAccountId: null, deletedExternally: false }], links: [] },
        remote: { campaigns: [], mailboxes: [{ email: 'z@y.com', accountId: '5' }], links: [] },
      },
      expect: [{ kind: 'mailbox_added', email: 'z@y.com', accountId: '5' }],
    },
    {
      name: 'a removed mailbox that comes back, and a link removed from a live campaign',
      input: {
        known: { campaigns: [{ ...camp('1'), deletedExternally: false }], mailboxes: [{ email: 'a@x.com', smartleadAccountId: '3', deletedExternally: true }], links: [{ campaignId: '1', email: 'b@x.com' }] },
        remote: { campaigns: [camp('1')], mailboxes: [{ email: 'a@x.com', accountId: '3' }], links: [] },
      },
      expect: [
        { kind: 'mailbox_reappeared', email: 'a@x.com', accountId: '3' },
        { kind: 'link_removed', campaignId: '1', email: 'b@x.com' },
      ],
    },
  ];
  for (const t of cases) it(t.name, () => assert.deepEqual(reconcile(t.input), t.expect));

  it('explains every kind of change in one plain sentence that names the object', () => {
    const all = reconcile({
      known: {
        campaigns: [{ ...camp('1', 'A'), deletedExternally: false }, { ...camp('2', 'B'), deletedExternally: false }, { ...camp('3', 'R'), deletedExternally: true }],
        mailboxes: [{ email: 'gone@x.com', smartleadAccountId: '1', deletedExternally: false }, { email: 'back@x.com', smartleadAccountId: '2', deletedExternally: true }],
        links: [{ campaignId: '1', email: 'gone@x.com' }],
      },
      remote: {
        campaigns: [camp('1', 'A2', 'PAUSED'), camp('3', 'R'), camp('4', 'N')],
        mailboxes: [{ email: 'back@x.com', accountId: '2' }, { email: 'new@x.com', accountId: '3' }],
        links: [{ campaignId: '4', email: 'new@x.com' }],
      },
    });
    assert.deepEqual(new Set(all.map((c) => c.kind)).size, 10, 'every kind is exercised');
    for (const c of all) {
      const text = describeChange(c);
      assert.match(text, /^[A-Z].*\.$/);
      assert.ok(!text.includes('\n'));
      const subject = 'email' in c ? c.email : c.campaignId;
      assert.ok(text.includes(subject), `"${text}" names ${subject}`);
    }
  });
});
