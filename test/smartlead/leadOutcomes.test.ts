/** Reading a lead upload's counts lead by lead: what the counts decide alone, and what needs a lookup. */
import assert from 'node:assert/strict';
import { isInCampaign, readLeadUpload, type LeadPushStatus } from '../../src/smartlead/leadOutcomes';
import { emptyAddLeadsResult, type AddLeadsResult } from '../../src/smartlead/schemas';

const EMAILS = ['a@x.example', 'B@x.example', 'c@x.example'];

function answer(counts: Partial<AddLeadsResult>): AddLeadsResult {
  return { ...emptyAddLeadsResult('1'), requested: EMAILS.length, requests: 1, ...counts };
}

const decided = (counts: Partial<AddLeadsResult>): Record<string, LeadPushStatus> => Object.fromEntries(readLeadUpload(EMAILS, answer(counts)).decided);

describe('readLeadUpload', () => {
  it('decides every lead when one outcome accounts for all of them', () => {
    assert.deepEqual(decided({ added: 3 }), { 'a@x.example': 'added', 'b@x.example': 'added', 'c@x.example': 'added' });
    assert.deepEqual(Object.values(decided({ alreadyInCampaign: 3 })), ['already_in_campaign', 'already_in_campaign', 'already_in_campaign']);
    assert.deepEqual(Object.values(decided({ blocked: 3 })), ['blocked', 'blocked', 'blocked']);
    assert.deepEqual(Object.values(decided({ leadLimitExhausted: true })), ['lead_limit_reached', 'lead_limit_reached', 'lead_limit_reached']);
    assert.deepEqual(Object.values(decided({})), ['not_added', 'not_added', 'not_added'], 'nothing counted: not added, reason unknown');
  });

  it('puts every lead in the campaign when nothing was kept out, added or not', () => {
    const reading = readLeadUpload(EMAILS, answer({ added: 1, alreadyInCampaign: 2 }));
    assert.deepEqual([...reading.decided.values()], ['in_campaign', 'in_campaign', 'in_campaign']);
    assert.deepEqual(reading.undecided, []);
  });

  it('uses the emails Smartlead names (invalid, unsubscribed), then the counts for the rest', () => {
    const reading = readLeadUpload(EMAILS, answer({ added: 1, invalid: 1, invalidEmails: ['a@x.example'], unsubscribed: 1, unsubscribedEmails: ['b@X.example'] }));
    assert.deepEqual(Object.fromEntries(reading.decided), { 'a@x.example': 'invalid_email', 'b@x.example': 'unsubscribed', 'c@x.example': 'added' });
  });

  it('leaves a mixed batch to lookups, and settles each lead with what its lookup found', () => {
    const mixed = readLeadUpload(EMAILS, answer({ added: 2, blocked: 1 }));
    assert.deepEqual([mixed.decided.size, mixed.undecided], [0, EMAILS]);
    assert.equal(mixed.resolve({ inCampaign: true, inOtherCampaign: false }), 'added');
    assert.equal(mixed.resolve({ inCampaign: false, inOtherCampaign: false }), 'blocked');

    const twoReasons = readLeadUpload(EMAILS, answer({ alreadyInCampaign: 1, blocked: 1, duplicates: 1 }));
    assert.equal(twoReasons.resolve({ inCampaign: true, inOtherCampaign: true }), 'already_in_campaign');
    assert.equal(twoReasons.resolve({ inCampaign: false, inOtherCampaign: true }), 'in_other_campaign');
    assert.equal(twoReasons.resolve({ inCampaign: false, inOtherCampaign: false }), 'blocked', 'in no other campaign: not a duplicate of one');
    const unnamed = readLeadUpload(EMAILS, answer({ added: 1, blocked: 1, unsubscribed: 1 }));
    assert.equal(unnamed.resolve({ inCampaign: false, inOtherCampaign: false }), 'not_added', 'blocked or unsubscribed: not known which');
    assert.equal(readLeadUpload(EMAILS, answer({ added: 2, duplicates: 1 })).resolve({ inCampaign: false, inOtherCampaign: false }), 'not_added', 'counts and lookup disagree');

    const limit = readLeadUpload(EMAILS, answer({ added: 1, leadLimitExhausted: true }));
    assert.equal(limit.resolve({ inCampaign: false, inOtherCampaign: false }), 'lead_limit_reached');
  });

  it('trusts lookups, not counts that do not add up', () => {
    const reading = readLeadUpload(EMAILS, answer({ added: 5 }));
    assert.deepEqual(reading.undecided, EMAILS);
    assert.equal(reading.resolve({ inCampaign: true, inOtherCampaign: false }), 'added');
  });

  it('counts added, already-in and in-campaign leads as in the campaign, and nothing else', () => {
    const all: LeadPushStatus[] = ['added', 'already_in_campaign', 'in_campaign', 'invalid_email', 'blocked', 'unsubscribed', 'in_other_campaign', 'lead_limit_reached', 'not_added'];
    assert.deepEqual(all.filter(isInCampaign), ['added', 'already_in_campaign', 'in_campaign']);
  });
});
