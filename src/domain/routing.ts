/**
 * Routing rules (PRD §7, API.md "Routing"): an ordered list, first match wins, and Drason never guesses a campaign.
 * Pure: the schema of `PUT /v1/routing-rules`, the matcher with its plain-English explanation, and the check of the
 * rules' campaigns against the ones Drason knows (the 422 for unknown or deleted campaigns).
 *
 * `[{name, when: {persona?: string | string[], minScore?: int, maxScore?: int}, campaignId}]`
 *
 * ## Decisions
 * - Persona: one text or a non-empty list of texts; a lead matches when its persona equals the text (or any in the
 *   list) once both are trimmed, lower-cased and their inner runs of spaces collapsed ("  vp   Sales" = "VP Sales").
 *   Exact otherwise: "CTO" does not match "CTO, co-founder".
 * - Scores: minScore and maxScore are inclusive bounds, whole numbers, minScore ≤ maxScore. No range is imposed:
 *   neither the PRD nor the API gives one for `lead_score` (src/domain/clayLead.ts), so any safe integer is accepted.
 * - Catch-all: `when: {}` matches every lead. It is allowed (a person wrote it, so Drason is not guessing), but `when`
 *   itself is required so a catch-all is always explicit. Rules after a catch-all could never match; they are refused
 *   as unreachable rather than silently ignored.
 * - Names: required, non-empty once trimmed, unique ignoring case (the audit log and explanations name rules, and
 *   "CTO" and "cto" would read as one rule).
 * - campaignId: text or a whole number, kept as trimmed text (API conventions). Whether the campaign exists is
 *   `validateRuleCampaigns`, which needs what the database knows.
 * - At most 1,000 rules; an empty list is allowed (every new lead then stays held: "no routing rules are configured").
 *
 * Keys are strict: an unknown key (a typo such as `minscore`) is a problem, not silently ignored.
 */
import { z } from 'zod';
import { problemsFrom, quote, type ClayLead, type Problem } from './clayLead';

export const MAX_RULES = 1000;

const MAX_NAME = 200;
const MAX_PERSONA = 200;
const MAX_PERSONAS = 100;

const personaText = z
  .string({ error: 'must be text such as "CTO"' })
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_PERSONA, `must be at most ${MAX_PERSONA} characters`);

/** An object's message when it is not an object, or when it has keys it should not (typos such as `minscore`). */
function objectError(notAnObject: string, allowed: string) {
  return (issue: { code?: string; keys?: readonly string[] }): string =>
    issue.code === 'unrecognized_keys' ? `has unknown ${quote(issue.keys?.join(', '))}: only ${allowed} are allowed` : notAnObject;
}

const score = z
  .number({ error: 'must be a whole number' })
  .int('must be a whole number')
  .refine((n) => Number.isSafeInteger(n), 'is too large a number');

const whenSchema = z
  .object(
    {
      persona: z
        .union([personaText, z.array(personaText).min(1, 'must list at least one persona').max(MAX_PERSONAS, `must list at most ${MAX_PERSONAS} personas`)], {
          error: 'must be a persona (text) or a list of personas',
        })
        .optional(),
      minScore: score.optional(),
      maxScore: score.optional(),
    },
    { error: objectError('must be an object: {persona?, minScore?, maxScore?}; {} matches every lead', 'persona, minScore, maxScore') },
  )
  .strict()
  .superRefine((when, ctx) => {
    if (when.minScore !== undefined && when.maxScore !== undefined && when.minScore > when.maxScore) {
      ctx.addIssue({ code: 'custom', path: ['minScore'], message: `must not be above maxScore (${when.maxScore}): no score could match` });
    }
  });

const campaignIdSchema = z
  .union([z.string().trim().min(1, 'must not be empty'), z.number().int().nonnegative()], {
    error: 'must be a Smartlead campaign id (text or a whole number)',
  })
  .transform((id) => String(id));

const ruleSchema = z
  .object(
    {
      name: z.string({ error: 'is required: give the rule a name' }).trim().min(1, 'must not be empty').max(MAX_NAME, `must be at most ${MAX_NAME} characters`),
      when: whenSchema,
      campaignId: campaignIdSchema,
    },
    { error: objectError('must be a rule: {name, when, campaignId}', 'name, when, campaignId') },
  )
  .strict();

/** The body of `PUT /v1/routing-rules`: the whole ordered list. */
export const routingRulesSchema = z
  .array(ruleSchema, { error: 'the body must be a JSON array of rules: [{name, when, campaignId}]' })
  .max(MAX_RULES, `at most ${MAX_RULES} rules`)
  .superRefine((rules, ctx) => {
    const seen = new Map<string, number>();
    let catchAll: number | undefined;
    rules.forEach((rule, i) => {
      const key = rule.name.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `must be unique: rule ${first + 1} is also named ${quote(rules[first]?.name)}` });
      else seen.set(key, i);
      if (catchAll !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i], message: `is unreachable: rule ${catchAll + 1} ${quote(rules[catchAll]?.name)} above it matches every lead` });
      } else if (isCatchAll(rule)) {
        catchAll = i;
      }
    });
  });

export type RoutingRule = z.output<typeof ruleSchema>;
export type RoutingRuleInput = z.input<typeof ruleSchema>;

export type RoutingRulesResult = { ok: true; rules: RoutingRule[] } | { ok: false; problems: Problem[] };

/** Validates a `PUT /v1/routing-rules` body: the rules, or every problem (paths such as `1.when.minScore`). */
export function parseRoutingRules(body: unknown): RoutingRulesResult {
  const parsed = routingRulesSchema.safeParse(body);
  return parsed.success ? { ok: true, rules: parsed.data } : { ok: false, problems: problemsFrom(parsed.error) };
}

/** Trimmed, lower-cased, inner runs of whitespace collapsed to one space. */
export function normalizePersona(persona: string): string {
  return persona.trim().replace(/\s+/g, ' ').toLowerCase();
}

export function isCatchAll(rule: Pick<RoutingRule, 'when'>): boolean {
  const { persona, minScore, maxScore } = rule.when;
  return persona === undefined && minScore === undefined && maxScore === undefined;
}

const personas = (persona: string | string[]): string[] => (typeof persona === 'string' ? [persona] : persona);

/** What a lead's routing reads. */
export type RoutableLead = Pick<ClayLead, 'persona' | 'leadScore'>;

interface Check {
  ok: boolean;
  /** Why it matched ("persona CTO", "score 87 ≥ 80") or why not ("persona Intern is not CTO"). */
  text: string;
}

/** Each condition of the rule, in order: persona, then the score bounds. */
function checks(lead: RoutableLead, when: RoutingRule['when']): Check[] {
  const out: Check[] = [];
  if (when.persona !== undefined) {
    const list = personas(when.persona);
    const ok = list.some((p) => normalizePersona(p) === normalizePersona(lead.persona));
    const expected = list.length === 1 ? String(list[0]) : `any of ${list.join(', ')}`;
    out.push({ ok, text: ok ? `persona ${lead.persona.trim()}${list.length > 1 ? ` (one of ${list.join(', ')})` : ''}` : `persona ${lead.persona.trim()} is not ${expected}` });
  }
  const s = lead.leadScore;
  const { minScore: min, maxScore: max } = when;
  if (min !== undefined && max !== undefined) {
    const ok = s >= min && s <= max;
    out.push({ ok, text: ok ? `score ${s} between ${min} and ${max}` : `score ${s} is not between ${min} and ${max}` });
  } else if (min !== undefined) {
    out.push({ ok: s >= min, text: s >= min ? `score ${s} ≥ ${min}` : `score ${s} < ${min}` });
  } else if (max !== undefined) {
    out.push({ ok: s <= max, text: s <= max ? `score ${s} ≤ ${max}` : `score ${s} > ${max}` });
  }
  return out;
}

export type RouteResult =
  | {
      matched: true;
      rule: RoutingRule;
      /** 0-based position in the list (explanations count from 1). */
      index: number;
      campaignId: string;
      /** "matched rule 2 'CTO high score': persona CTO, score 87 ≥ 80". */
      explanation: string;
    }
  | {
      matched: false;
      /** "no matching rule: persona 'Intern' (score 12) matches none of 3 rules". */
      reason: string;
      /** Why each rule missed, in order: "rule 1 'CTO high score': persona Intern is not CTO". */
      misses: string[];
    };

const ruleLabel = (rule: RoutingRule, index: number): string => `rule ${index + 1} '${rule.name}'`;

/** The first rule the lead matches (PRD §7.2), or a reason a person can read. Deterministic; never guesses. */
export function route(lead: RoutableLead, rules: readonly RoutingRule[]): RouteResult {
  const misses: string[] = [];
  for (const [index, rule] of rules.entries()) {
    const results = checks(lead, rule.when);
    const failed = results.filter((c) => !c.ok);
    if (failed.length === 0) {
      const why = results.length === 0 ? 'it matches every lead' : results.map((c) => c.text).join(', ');
      return { matched: true, rule, index, campaignId: rule.campaignId, explanation: `matched ${ruleLabel(rule, index)}: ${why}` };
    }
    misses.push(`${ruleLabel(rule, index)}: ${failed.map((c) => c.text).join(', ')}`);
  }
  const who = `persona '${lead.persona.trim()}' (score ${lead.leadScore})`;
  const reason =
    rules.length === 0
      ? `no matching rule: no routing rules are configured, so ${who} stays held; add rules with PUT /v1/routing-rules`
      : `no matching rule: ${who} matches none of ${rules.length} rule${rules.length === 1 ? '' : 's'}`;
  return { matched: false, reason, misses };
}

/** "persona CTO and score ≥ 80 → campaign 123"; "every lead → campaign 9" for a catch-all. */
export function describeRule(rule: RoutingRule): string {
  const { persona, minScore: min, maxScore: max } = rule.when;
  const parts: string[] = [];
  if (persona !== undefined) parts.push(typeof persona === 'string' ? `persona ${persona}` : `persona any of ${persona.join(', ')}`);
  if (min !== undefined && max !== undefined) parts.push(`score between ${min} and ${max}`);
  else if (min !== undefined) parts.push(`score ≥ ${min}`);
  else if (max !== undefined) parts.push(`score ≤ ${max}`);
  return `${parts.length === 0 ? 'every lead' : parts.join(' and ')} → campaign ${rule.campaignId}`;
}

/**
 * The problems of rules whose campaign Drason does not know (never synced from Smartlead, or another organization's)
 * or knows as deleted: the 422 of `PUT /v1/routing-rules`, paths `<index>.campaignId` as the schema reports them.
 * An id in both lists counts as deleted.
 */
export function validateRuleCampaigns(rules: readonly RoutingRule[], knownCampaignIds: Iterable<string>, deletedCampaignIds: Iterable<string> = []): Problem[] {
  const known = new Set([...knownCampaignIds].map((id) => id.trim()));
  const deleted = new Set([...deletedCampaignIds].map((id) => id.trim()));
  const problems: Problem[] = [];
  rules.forEach((rule, i) => {
    const id = rule.campaignId.trim();
    if (deleted.has(id)) {
      problems.push({ path: `${i}.campaignId`, message: `campaign ${id} was deleted; point ${ruleLabel(rule, i)} at an existing campaign` });
    } else if (!known.has(id)) {
      problems.push({ path: `${i}.campaignId`, message: `campaign ${id} is unknown to Drason; sync campaigns from Smartlead or check the id of ${ruleLabel(rule, i)}` });
    }
  });
  return problems;
}
