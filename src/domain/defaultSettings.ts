/**
 * The settings a new organization starts with. Pure data; every number says why it was chosen.
 *
 * Rates are fractions of sends in the window being judged (0.02 = 2%). Windows are the rolling 1h / 24h / 7d
 * windows of src/domain/rollingWindows. Changing a default changes new organizations only: each organization's
 * settings are stored as versions (organization_settings) and only change through PUT /v1/settings.
 */
import type { Mode, Thresholds } from './settings';

/** New organizations watch and explain but take no automated action until someone chooses otherwise. */
export const DEFAULT_MODE: Mode = 'observe';

export const DEFAULT_THRESHOLDS: Thresholds = {
  // Below 30 sends a single unlucky bounce is already 3.3%; rates are not judged until a window has this many sends.
  minSample: 30,
  // Mailbox providers and senders alike treat >2% hard bounces as a list-quality problem and >5% as damaging:
  // warn at the first, pause at the second.
  hardBounceRate: { warning: 0.02, pause: 0.05 },
  // Delivery failures (deferrals, soft bounces, policy rejections) are noisier than hard bounces: twice the room.
  failureRate: { warning: 0.05, pause: 0.1 },
  // A receiver refusing this sender (5.7.x, "blocked", blocklists) says more about the mailbox than a bad address
  // does: warn at 1%, pause at 3%, so a burst of blocks pauses sooner than address bounces.
  reputationRate: { warning: 0.01, pause: 0.03 },
  // Short-window hard-bounce rate 2 points above the long-window rate means things are getting worse quickly.
  velocity: { warning: 0.02 },
  // A breach must last half an hour before it escalates (audit §8.2: escalation requires sustained degradation).
  sustainMinutes: 30,
  // After a pause, wait 6 hours before trying again: long enough for a provider's rate limiting to reset, short
  // enough that a mailbox is not lost for a day over one bad batch.
  cooldownMinutes: 360,
  // Each pause within 7 days of the previous one doubles the cooldown, up to 48 hours: long enough that a mailbox
  // that keeps relapsing stops oscillating, short enough that it is retried at least every two days.
  maxCooldownMinutes: 2880,
  // After the cooldown, 2 hours of healthy sending (recovering) before the mailbox counts as healthy again.
  probationMinutes: 120,
  // One degraded mailbox is the mailbox's problem; two in the same campaign point at the campaign (its list or copy).
  campaignDegradedMailboxes: 2,
  // Same reasoning one level up: a domain is paused only when at least two of its mailboxes are degraded (last resort).
  domainDegradedMailboxes: 2,
  // An entity paused automatically this many times in a row, each pause within 7 days of the previous one (the
  // cooldown doubling each time), is in an escalation loop: automation stops for it and a person decides. With the
  // defaults the fourth pause comes after 6 h + 12 h + 24 h of cooldown: about two days of paused-and-resumed.
  escalationLoopPauses: 4,
  // The execution gate holds a lead when the campaign's risk score (0–100) is above this.
  gateMaxRiskScore: 70,
  // Every part of the risk logic is on: this is how Drason judged before the switches existed, and a settings
  // document or workflow history without them reads the same way (featureOn). Off is an organization's choice:
  // velocity (a sudden rise is a warning), reputationClass (reputation blocks judged on their own, lower
  // thresholds; off: only as delivery failures), campaignEscalation / domainEscalation (campaign and domain
  // workflows may pause; off: they judge nothing and resume what they paused), sourceQuarantine (off: a bad source
  // is audited, never held).
  features: { velocity: true, reputationClass: true, campaignEscalation: true, domainEscalation: true, sourceQuarantine: true },
};
