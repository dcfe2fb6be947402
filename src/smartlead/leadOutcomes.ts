/**
 * Reading a lead upload's answer lead by lead (pure).
 *
 * Smartlead answers POST /campaigns/{id}/leads with counts (added, already in the campaign, blocked, duplicates
 * elsewhere, ...) and names only the invalid and unsubscribed emails. Drason needs one outcome per lead: in the
 * campaign (mark it active) or not (keep it held, with a reason). `readLeadUpload` decides every lead the counts
 * decide on their own (a batch where one outcome accounts for every remaining lead, or where nothing was kept
 * out); the others are left undecided, to be looked up by email and settled with `resolve`.
 */
import type { AddLeadsResult } from './schemas';

export type LeadPushStatus =
  /** This push added it. */
  | 'added'
  /** It was in the campaign already (an earlier push, or an earlier attempt of this one whose answer was lost). */
  | 'already_in_campaign'
  /** It is in the campaign; Smartlead's counts do not tell whether this push added it. */
  | 'in_campaign'
  | 'invalid_email'
  /** On the Smartlead account's global block list (the email or its domain). */
  | 'blocked'
  | 'unsubscribed'
  /** In another campaign of the account: Smartlead's duplicate protection kept it out of this one. */
  | 'in_other_campaign'
  /** The account has no lead credits left. */
  | 'lead_limit_reached'
  /** Smartlead did not add it and did not say why. */
  | 'not_added';

const IN_CAMPAIGN: ReadonlySet<LeadPushStatus> = new Set(['added', 'already_in_campaign', 'in_campaign']);

export function isInCampaign(status: LeadPushStatus): boolean {
  return IN_CAMPAIGN.has(status);
}

const REASONS: Record<LeadPushStatus, string> = {
  added: 'Added to the campaign.',
  already_in_campaign: 'Already in the campaign; not added again.',
  in_campaign: 'In the campaign.',
  invalid_email: 'Smartlead rejected the email address as invalid.',
  blocked: "The email or its domain is on the Smartlead account's global block list.",
  unsubscribed: 'The lead unsubscribed earlier; Smartlead does not add it again.',
  in_other_campaign: "The lead is in another campaign of this Smartlead account; Smartlead's duplicate protection kept it out of this one.",
  lead_limit_reached: 'The Smartlead account has no lead credits left.',
  not_added: 'Smartlead did not add the lead and did not say why.',
};

/** One plain sentence explaining a status. */
export function leadPushReason(status: LeadPushStatus): string {
  return REASONS[status];
}

export const normalizeLeadEmail = (email: string): string => email.trim().toLowerCase();

export interface LeadLookup {
  /** Smartlead lists the lead in this campaign. */
  inCampaign: boolean;
  /** Smartlead lists the lead in some other campaign. */
  inOtherCampaign: boolean;
}

export interface LeadUploadReading {
  /** Outcome of each lead the answer decides, by normalized email. */
  decided: Map<string, LeadPushStatus>;
  /** Emails (as sent) the counts cannot tell apart: look each one up. */
  undecided: string[];
  /** The outcome of an undecided lead, given what a lookup found. */
  resolve(lookup: LeadLookup): LeadPushStatus;
}

type Tally = [LeadPushStatus, number][];

const single = (tally: Tally): LeadPushStatus | undefined => {
  const present = tally.filter(([, n]) => n > 0);
  return present.length === 1 ? present[0]![0] : undefined;
};

/** `emails`: the distinct emails of ONE upload request, as sent; `result`: that request's answer. */
export function readLeadUpload(emails: readonly string[], result: AddLeadsResult): LeadUploadReading {
  const decided = new Map<string, LeadPushStatus>();
  const sent = new Set(emails.map(normalizeLeadEmail));
  const name = (list: readonly string[], status: LeadPushStatus): number => {
    let named = 0;
    for (const email of new Set(list.map(normalizeLeadEmail))) {
      if (sent.has(email) && !decided.has(email)) {
        decided.set(email, status);
        named += 1;
      }
    }
    return named;
  };
  const namedInvalid = name(result.invalidEmails, 'invalid_email');
  const namedUnsubscribed = name(result.unsubscribedEmails, 'unsubscribed');
  const remaining = emails.filter((e) => !decided.has(normalizeLeadEmail(e)));

  const inside: Tally = [
    ['added', result.added],
    ['already_in_campaign', result.alreadyInCampaign],
  ];
  const counted: Tally = [
    ['blocked', result.blocked],
    ['in_other_campaign', result.duplicates],
    ['invalid_email', Math.max(0, result.invalid - namedInvalid)],
    ['unsubscribed', Math.max(0, result.unsubscribed - namedUnsubscribed)],
  ];
  const rest = remaining.length - [...inside, ...counted].reduce((sum, [, n]) => sum + n, 0);
  const outside: Tally = [...counted, [result.leadLimitExhausted ? 'lead_limit_reached' : 'not_added', Math.max(0, rest)]];
  const consistent = rest >= 0;

  const insideStatus = single(inside) ?? 'in_campaign';
  const resolve = (lookup: LeadLookup): LeadPushStatus => {
    if (lookup.inCampaign) return insideStatus;
    // Only a lead Smartlead lists in another campaign can have been kept out as a duplicate of it.
    const candidates = outside.filter(([status, n]) => n > 0 && (status !== 'in_other_campaign' || lookup.inOtherCampaign)).map(([status]) => status);
    if (lookup.inOtherCampaign && candidates.includes('in_other_campaign')) return 'in_other_campaign';
    return candidates.length === 1 ? candidates[0]! : 'not_added';
  };

  const everyone = consistent ? single([...inside, ...outside]) ?? (outside.every(([, n]) => n === 0) ? insideStatus : undefined) : undefined;
  if (everyone !== undefined) {
    for (const email of remaining) decided.set(normalizeLeadEmail(email), everyone);
    return { decided, undecided: [], resolve };
  }
  return { decided, undecided: remaining, resolve };
}
