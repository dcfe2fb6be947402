/**
 * A lead as Clay's HTTP API column sends it to `POST /v1/webhooks/clay` (docs: ../shared/spec/API.md, PRD §6):
 * one row per request, `{email, persona, lead_score, workable, external_id?, ...any other columns}`. Pure: the zod
 * schema, the parse that names EVERY bad field at once (the 422's `errors`), and the idempotency key.
 *
 * ## What is accepted
 * | column        | rule                                                                                                  |
 * |---------------|-------------------------------------------------------------------------------------------------------|
 * | `email`       | required; trimmed; a plausible address (zod's email check, ≤ 320 characters). Kept as sent (trimmed); |
 * |               | `normalizedEmail` is the lower-cased form, used for idempotency and matching.                         |
 * | `persona`     | required; text, non-empty once trimmed (≤ 200 characters). Kept trimmed; routing compares it         |
 * |               | case-insensitively (src/domain/routing.ts).                                                           |
 * | `lead_score`  | required; a whole number. Clay often sends numbers as text, so a numeric string ("87", " 87 ", "-3")  |
 * |               | is accepted; "87.5", "abc", "" and 87.5 are not. No range: the PRD and API give none (a score is      |
 * |               | whatever the Clay table computes); only JavaScript's safe integers.                                   |
 * | `workable`    | required and true. Clay sends booleans as JSON booleans, but a formula column may turn them into      |
 * |               | text, so the string "true" (any case, trimmed) is accepted too. Anything else (false, "yes", 1) is    |
 * |               | refused: Drason only takes leads that Clay marked workable (PRD §6.1).                               |
 * | `external_id` | optional; text or a number, kept as text (trimmed; a number as JavaScript writes it: 123 → "123").   |
 * |               | Empty text or null counts as absent (an empty Clay cell). ≤ 255 characters.                          |
 * | anything else | kept untouched in `extra` (Clay's other columns: name, company, LinkedIn URL…).                      |
 *
 * ## Idempotency (per organization)
 * `leadIdempotencyKey(lead)` is the `external_id` when Clay sends one, else the normalized email. The contract is
 * per organization: the same key in two organizations is two leads. A row re-sent with the same key is the same lead
 * (`duplicate: true`, nothing changes), even after the lead was paused or completed. Consequence to know: a row that
 * carries an `external_id` is NOT matched by its email, so the same address sent once with and once without an id
 * (or with two different ids) is two leads; send `external_id` consistently or not at all.
 */
import { z } from 'zod';

/** One bad field, as the API's problem+json `errors` lists it. */
export interface Problem {
  /** Dotted path: `lead_score`, `0.when.minScore`; empty for the body as a whole. */
  path: string;
  message: string;
}

/** zod issues as problems: one per issue, paths dotted (as src/domain/settings.ts reports them). */
export function problemsFrom(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

export const CLAY_COLUMNS = ['email', 'persona', 'lead_score', 'workable', 'external_id'] as const;

const MAX_EMAIL = 320;
const MAX_PERSONA = 200;
const MAX_EXTERNAL_ID = 255;
const WHOLE_NUMBER = /^[+-]?\d+$/;

/** A value quoted for a message, cut short so that a huge cell does not flood the audit log. */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}

const missing = (value: unknown): boolean => value === undefined || value === null;

/** A field whose value is checked by `check`, which returns the problem's message or the parsed value. */
function field<T>(check: (value: unknown) => { value: T } | { message: string }) {
  return z.unknown().transform((value, ctx): T => {
    const result = check(value);
    if ('message' in result) {
      ctx.addIssue({ code: 'custom', message: result.message, input: value });
      return z.NEVER;
    }
    return result.value;
  });
}

const emailShape = z.email();

const emailField = field<string>((value) => {
  if (missing(value)) return { message: 'is required: map the column holding the lead\'s email address to the key "email"' };
  if (typeof value !== 'string') return { message: `must be text (an email address such as jane@acme.com), got ${quote(value)}` };
  const email = value.trim();
  if (email === '') return { message: 'is empty: this row has no email address; fix the row or filter such rows out before sending' };
  if (email.length > MAX_EMAIL) return { message: `is too long to be an email address (${email.length} characters, at most ${MAX_EMAIL})` };
  if (!emailShape.safeParse(email).success) return { message: `${quote(email)} is not a valid email address (expected something like jane@acme.com)` };
  return { value: email };
});

const personaField = field<string>((value) => {
  if (missing(value)) return { message: 'is required: send the lead\'s persona (e.g. "CTO"); routing rules match on it' };
  if (typeof value !== 'string') return { message: `must be text such as "CTO", got ${quote(value)}` };
  const persona = value.trim();
  if (persona === '') return { message: 'is empty: routing needs a persona (e.g. "CTO"); fix the row or filter such rows out before sending' };
  if (persona.length > MAX_PERSONA) return { message: `is too long (${persona.length} characters, at most ${MAX_PERSONA})` };
  return { value: persona };
});

const leadScoreField = field<number>((value) => {
  if (missing(value)) return { message: 'is required: send the lead\'s score as a whole number (e.g. 87)' };
  let score: number;
  if (typeof value === 'number') score = value;
  else if (typeof value === 'string' && WHOLE_NUMBER.test(value.trim())) score = Number(value.trim());
  else if (typeof value === 'string' && value.trim() === '') return { message: 'is empty: send the lead\'s score as a whole number (e.g. 87)' };
  else return { message: `must be a whole number (e.g. 87 or "87"), got ${quote(value)}` };
  if (!Number.isInteger(score)) return { message: `must be a whole number (e.g. 87), got ${quote(value)}: round it in Clay before sending` };
  if (!Number.isSafeInteger(score)) return { message: `is too large a number (${quote(value)})` };
  return { value: score };
});

const workableField = field<true>((value) => {
  if (value === true || (typeof value === 'string' && value.trim().toLowerCase() === 'true')) return { value: true };
  if (missing(value)) return { message: 'is required and must be true: send Clay\'s "workable" column; only workable leads are accepted' };
  return { message: `must be true, got ${quote(value)}: Clay did not mark this lead workable, so Drason does not take it` };
});

const externalIdField = field<string | undefined>((value) => {
  if (missing(value)) return { value: undefined };
  let id: string;
  if (typeof value === 'string') id = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) id = String(value);
  else return { message: `must be text or a number (Clay's row id or your own), got ${quote(value)}` };
  if (id.length > MAX_EXTERNAL_ID) return { message: `is too long (${id.length} characters, at most ${MAX_EXTERNAL_ID})` };
  return { value: id === '' ? undefined : id };
});

/**
 * The body of `POST /v1/webhooks/clay`. Unknown columns pass through (a loose object); every field reports its own
 * problem, so a row with three bad fields gets three problems.
 */
export const clayLeadBodySchema = z.looseObject(
  {
    email: emailField,
    persona: personaField,
    lead_score: leadScoreField,
    workable: workableField,
    external_id: externalIdField.optional(),
  },
  { error: 'the body must be a JSON object with one Clay row: {"email", "persona", "lead_score", "workable", "external_id"?, ...other columns}' },
);

export interface ClayLead {
  /** As sent, trimmed. */
  email: string;
  /** Trimmed and lower-cased. */
  normalizedEmail: string;
  /** As sent, trimmed. */
  persona: string;
  leadScore: number;
  /** Absent when Clay sent none (or an empty cell). */
  externalId?: string;
  /** Every other column, untouched. */
  extra: Record<string, unknown>;
}

export type ClayLeadResult = { ok: true; lead: ClayLead } | { ok: false; problems: Problem[] };

/** Validates one Clay row: the lead, or every problem (one per bad field, in column order). */
export function parseClayLead(body: unknown): ClayLeadResult {
  const parsed = clayLeadBodySchema.safeParse(body);
  if (!parsed.success) return { ok: false, problems: problemsFrom(parsed.error) };
  const { email, persona, lead_score: leadScore, external_id: externalId } = parsed.data;
  const known: readonly string[] = CLAY_COLUMNS;
  // fromEntries defines properties, so a column named "__proto__" stays a column and never becomes a prototype.
  const extra = Object.fromEntries(Object.entries(body as Record<string, unknown>).filter(([key]) => !known.includes(key)));
  return {
    ok: true,
    lead: { email, normalizedEmail: email.toLowerCase(), persona, leadScore, ...(externalId === undefined ? {} : { externalId }), extra },
  };
}

export interface LeadIdempotencyKey {
  /** Which column identified the lead. */
  source: 'external_id' | 'email';
  value: string;
  /** `external_id:<id>` or `email:<normalized email>`: the two kinds never collide. Unique per organization. */
  key: string;
}

/** The lead's identity within its organization: `external_id` when present, else the normalized email. */
export function leadIdempotencyKey(lead: Pick<ClayLead, 'normalizedEmail' | 'externalId'>): LeadIdempotencyKey {
  return lead.externalId !== undefined
    ? { source: 'external_id', value: lead.externalId, key: `external_id:${lead.externalId}` }
    : { source: 'email', value: lead.normalizedEmail, key: `email:${lead.normalizedEmail}` };
}
