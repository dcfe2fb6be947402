/**
 * The modes and the per-organization switches of the risk logic (audit §20, docs/decisions/017-deployment-and-flags.md),
 * apart from settings.ts and its zod schemas: the decision code imports these, and it runs inside workflows, whose
 * bundle is loaded by every workflow the worker caches (with zod in it, the workflow bundle was half as large again).
 */
export const MODES = ['observe', 'suggest', 'enforce'] as const;
export type Mode = (typeof MODES)[number];

/** The risk logic an organization may switch off (audit §20). Each reads as on unless explicitly false. */
export const FEATURES = ['velocity', 'reputationClass', 'campaignEscalation', 'domainEscalation', 'sourceQuarantine'] as const;
export type Feature = (typeof FEATURES)[number];
export type Features = Record<Feature, boolean>;

/** What each feature's judgement is called in sentences ("velocity judgement is off for this organization"). */
export const FEATURE_LABEL: Record<Feature, string> = {
  velocity: 'velocity judgement',
  reputationClass: 'reputation-class judgement',
  campaignEscalation: 'campaign escalation',
  domainEscalation: 'domain escalation',
  sourceQuarantine: 'source quarantine',
};

/**
 * Whether a feature is on. Absent (a settings document or recorded activity result from before features existed)
 * means on, so histories recorded earlier decide exactly as they did.
 */
export function featureOn(t: object | undefined, feature: Feature): boolean {
  return (t as { features?: Partial<Features> } | undefined)?.features?.[feature] !== false;
}

/** "velocity judgement is off for this organization" for each of `features` that is off, in FEATURES order. */
export function featuresOffNote(t: object | undefined, features: readonly Feature[]): string | undefined {
  const off = FEATURES.filter((f) => features.includes(f) && !featureOn(t, f)).map((f) => FEATURE_LABEL[f]);
  if (off.length === 0) return undefined;
  const names = off.length === 1 ? off[0]! : `${off.slice(0, -1).join(', ')} and ${off[off.length - 1]!}`;
  return `${names} ${off.length === 1 ? 'is' : 'are'} off for this organization`;
}
