/**
 * Organization settings: the mode and the thresholds every decision reads. Pure: validation, partial updates,
 * and the plain-English description of a change that goes into the audit log.
 *
 * Settings are versioned: every accepted change is a new version (see organization_settings), so any decision can
 * be explained with the exact numbers it used (audit rows carry settingsVersion).
 *
 * `thresholds.features` switches parts of the risk logic on or off per organization (all on by default: today's
 * behaviour). They sit beside the numbers they switch, so every path that carries thresholds to a decision (the
 * activities' reads, workflow histories, continue-as-new) carries them too, under the same settings version.
 * A document without them (stored before they existed, or an activity result recorded in an older workflow history)
 * reads as all on: see `featureOn`. docs/decisions/017-deployment-and-flags.md.
 */
import { z } from 'zod';
import { FEATURE_LABEL, FEATURES, MODES, type Feature, type Mode } from './features';

export { FEATURES, FEATURE_LABEL, MODES, featureOn, featuresOffNote, type Feature, type Features, type Mode } from './features';

const ratio = z.number().min(0).max(1);
/**
 * Up to 7 days: the longest monitoring window. 0 means "at once". Fractions are allowed down to whole seconds
 * (0.25 = 15 s, for demos and trials): the mailbox machine turns minutes into deadlines as `now + minutes × 60,000`,
 * and whole seconds keep those deadlines whole milliseconds.
 */
const minutes = z
  .number()
  .min(0)
  .max(7 * 24 * 60)
  .refine((m) => Math.abs(m * 60 - Math.round(m * 60)) < 1e-9, { message: 'must be a whole number of seconds (e.g. 0.25 = 15 s, 0.5 = 30 s)' });
const mailboxCount = z.number().int().min(1).max(1000);

export const featuresSchema = z.object(Object.fromEntries(FEATURES.map((f) => [f, z.boolean()])) as Record<Feature, z.ZodBoolean>).strict();

const thresholdsShape = {
  minSample: z.number().int().min(1).max(100_000),
  hardBounceRate: z.object({ warning: ratio, pause: ratio }).strict(),
  failureRate: z.object({ warning: ratio, pause: ratio }).strict(),
  reputationRate: z.object({ warning: ratio, pause: ratio }).strict(),
  velocity: z.object({ warning: ratio }).strict(),
  sustainMinutes: minutes,
  cooldownMinutes: minutes,
  maxCooldownMinutes: minutes,
  probationMinutes: minutes,
  campaignDegradedMailboxes: mailboxCount,
  domainDegradedMailboxes: mailboxCount,
  // At most MAX_RECENT_PAUSES + 1: the machine keeps the last 16 pause times, so a longer chain could never be seen.
  escalationLoopPauses: z.number().int().min(2).max(17),
  gateMaxRiskScore: z.number().int().min(0).max(100),
  features: featuresSchema,
};

export const thresholdsSchema = z
  .object(thresholdsShape)
  .strict()
  .superRefine((t, ctx) => {
    if (t.maxCooldownMinutes < t.cooldownMinutes) {
      ctx.addIssue({ code: 'custom', path: ['maxCooldownMinutes'], message: `must not be below cooldownMinutes (${t.cooldownMinutes}): it caps the growing cooldown` });
    }
    for (const metric of ['hardBounceRate', 'failureRate', 'reputationRate'] as const) {
      if (t[metric].warning > t[metric].pause) {
        ctx.addIssue({
          code: 'custom',
          path: [metric, 'warning'],
          message: `must not be above ${metric}.pause (${t[metric].pause}): a warning comes before a pause`,
        });
      }
    }
  });
export type Thresholds = z.infer<typeof thresholdsSchema>;

/** Every field optional, nested objects too (a partial update may change one level of one metric). */
export type ThresholdsPatch = { [K in keyof Thresholds]?: Thresholds[K] extends object ? Partial<Thresholds[K]> : Thresholds[K] };

export const thresholdsPatchSchema = z
  .object(
    Object.fromEntries(
      Object.entries(thresholdsShape).map(([name, schema]) => [name, (schema instanceof z.ZodObject ? schema.partial() : schema).optional()]),
    ),
  )
  .strict() as unknown as z.ZodType<ThresholdsPatch>;

export const settingsPatchSchema = z.object({ mode: z.enum(MODES).optional(), thresholds: thresholdsPatchSchema.optional() }).strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export interface Settings {
  mode: Mode;
  thresholds: Thresholds;
}

export interface SettingChange {
  /** Dotted path, e.g. `thresholds.hardBounceRate.pause`. */
  path: string;
  before: unknown;
  after: unknown;
  /** Plain English: "the hard-bounce pause threshold changed from 5% to 4%". */
  sentence: string;
}

export type PatchResult =
  | { ok: true; settings: Settings; changes: SettingChange[] }
  | { ok: false; problems: { path: string; message: string }[] };

/** Applies a partial update and validates the result as a whole (cross-field rules included). */
export function applySettingsPatch(current: Settings, patch: SettingsPatch): PatchResult {
  const merged: Record<string, unknown> = { ...current.thresholds };
  for (const [name, value] of Object.entries(patch.thresholds ?? {})) {
    const before = merged[name];
    merged[name] = typeof value === 'object' && value !== null && typeof before === 'object' ? { ...before, ...value } : value;
  }
  const parsed = thresholdsSchema.safeParse(merged);
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((issue) => ({ path: ['thresholds', ...issue.path.map(String)].join('.'), message: issue.message })),
    };
  }
  const settings: Settings = { mode: patch.mode ?? current.mode, thresholds: parsed.data };
  return { ok: true, settings, changes: diffSettings(current, settings) };
}

type Unit = 'percent' | 'points' | 'minutes' | 'sends' | 'mailboxes' | 'pauses' | 'score' | 'mode' | 'switch';

const DESCRIPTIONS: Record<string, [label: string, unit: Unit]> = {
  mode: ['the mode', 'mode'],
  'thresholds.minSample': ['the minimum sample before rates are judged', 'sends'],
  'thresholds.hardBounceRate.warning': ['the hard-bounce warning threshold', 'percent'],
  'thresholds.hardBounceRate.pause': ['the hard-bounce pause threshold', 'percent'],
  'thresholds.failureRate.warning': ['the delivery-failure warning threshold', 'percent'],
  'thresholds.failureRate.pause': ['the delivery-failure pause threshold', 'percent'],
  'thresholds.reputationRate.warning': ['the reputation-block warning threshold', 'percent'],
  'thresholds.reputationRate.pause': ['the reputation-block pause threshold', 'percent'],
  'thresholds.velocity.warning': ['the bounce-velocity warning threshold', 'points'],
  'thresholds.sustainMinutes': ['the time a breach must last before it escalates', 'minutes'],
  'thresholds.cooldownMinutes': ['the cooldown after a pause', 'minutes'],
  'thresholds.maxCooldownMinutes': ['the longest cooldown after repeated pauses', 'minutes'],
  'thresholds.probationMinutes': ['the probation before a recovering entity counts as healthy', 'minutes'],
  'thresholds.campaignDegradedMailboxes': ['the degraded mailboxes that mark a campaign degraded', 'mailboxes'],
  'thresholds.domainDegradedMailboxes': ['the degraded mailboxes that mark a domain degraded', 'mailboxes'],
  'thresholds.escalationLoopPauses': ['the automatic pauses in a row (each within 7 days of the last) that count as an escalation loop and stop automation', 'pauses'],
  'thresholds.gateMaxRiskScore': ['the highest risk score the execution gate lets through', 'score'],
  ...Object.fromEntries(FEATURES.map((f) => [`thresholds.features.${f}`, [FEATURE_LABEL[f], 'switch'] as [string, Unit]])),
};

const trim = (n: number): string => String(Number(n.toFixed(4)));

/** Whole seconds as "15 s", "1 min 30 s", "2 h 0 min 5 s". */
function clockText(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const min = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h} h ${min} min ${s} s`;
  return min > 0 ? `${min} min ${s} s` : `${s} s`;
}

export function formatSettingValue(unit: Unit, value: unknown): string {
  if (unit === 'switch') return value === false ? 'off' : 'on';
  if (typeof value !== 'number') return String(value);
  switch (unit) {
    case 'percent':
      return `${trim(value * 100)}%`;
    case 'points':
      return `${trim(value * 100)} percentage points`;
    case 'minutes':
      if (value === 0) return '0 minutes (at once)';
      if (Number.isInteger(value)) return `${value} minute${value === 1 ? '' : 's'}`;
      return `${trim(value)} minutes (${clockText(Math.round(value * 60))})`;
    case 'sends':
      return `${value} send${value === 1 ? '' : 's'}`;
    case 'mailboxes':
      return `${value} mailbox${value === 1 ? '' : 'es'}`;
    case 'pauses':
      return `${value} pause${value === 1 ? '' : 's'}`;
    default:
      return String(value);
  }
}

function flatten(value: unknown, prefix: string, into: Map<string, unknown>): Map<string, unknown> {
  if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === '' ? k : `${prefix}.${k}`, into);
  } else {
    into.set(prefix, value);
  }
  return into;
}

/** The fields that differ, in a stable order, each with a plain-English sentence. */
export function diffSettings(before: Settings, after: Settings): SettingChange[] {
  const a = flatten(before, '', new Map());
  const b = flatten(after, '', new Map());
  const changes: SettingChange[] = [];
  for (const path of Object.keys(DESCRIPTIONS)) {
    const [label, unit] = DESCRIPTIONS[path]!;
    if (a.get(path) === b.get(path)) continue;
    if (unit === 'switch' && (a.get(path) !== false) === (b.get(path) !== false)) continue; // absent reads as on
    changes.push({
      path,
      before: a.get(path),
      after: b.get(path),
      sentence:
        unit === 'switch'
          ? `${label} turned ${formatSettingValue(unit, b.get(path))}`
          : `${label} changed from ${formatSettingValue(unit, a.get(path))} to ${formatSettingValue(unit, b.get(path))}`,
    });
  }
  return changes;
}

const MODE_MEANING: Record<Mode, string> = {
  observe: 'Drason will record and explain what it sees but take no automated action',
  suggest: 'Drason will recommend actions for a person to apply and take none by itself',
  enforce: 'Drason will pause and resume mailboxes, domains and campaigns by itself',
};

/** One sentence for the audit log, e.g. "Settings version 4 by API key ops: the hard-bounce pause threshold changed from 5% to 4%." */
export function describeSettingsChange(version: number, actor: string, changes: SettingChange[]): string {
  return `Settings version ${version} by ${actor}: ${changes.map((c) => c.sentence).join('; ')}.`;
}

export function describeModeChange(from: Mode, to: Mode, actor: string): string {
  return `Mode changed from ${from} to ${to} by ${actor}: from now on ${MODE_MEANING[to]}.`;
}
