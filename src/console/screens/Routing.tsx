/**
 * Routing (PRD §13.2): the ordered rules, first match wins. Admins edit a draft (reorder, add, remove, change the
 * personas, score bounds and campaign) and save it with PUT /v1/routing-rules; a 422's errors[].path (`2.when.minScore`,
 * `[2].when.minScore`) is shown beside that field. Operators and viewers see the rules without any edit control.
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { allPages, ApiError, request } from '../api';
import { ErrorNote, FieldError, PageTitle, Show, TextField, Time, useLoad } from '../components/common';
import { can, useSession } from '../session';
import type { Campaign, FieldProblem, RoutingRule, RoutingRules } from '../types';

interface DraftRule {
  key: number;
  name: string;
  personas: string;
  minScore: string;
  maxScore: string;
  campaignId: string;
}

type Field = 'name' | 'persona' | 'minScore' | 'maxScore' | 'campaignId' | 'rule';

interface Problems {
  byRule: Map<number, Map<Field, string[]>>;
  general: string[];
}

let nextKey = 1;

const personasOf = (p: string | string[] | undefined): string[] => (p === undefined ? [] : typeof p === 'string' ? [p] : p);

function toDraft(rule: RoutingRule): DraftRule {
  return {
    key: nextKey++,
    name: rule.name,
    personas: personasOf(rule.when.persona).join(', '),
    minScore: rule.when.minScore === undefined ? '' : String(rule.when.minScore),
    maxScore: rule.when.maxScore === undefined ? '' : String(rule.when.maxScore),
    campaignId: rule.campaignId,
  };
}

/** A score as typed: a number when it reads as one, else the text itself so the server names the problem. */
function score(text: string): number | string | undefined {
  const t = text.trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

function toRule(d: DraftRule): Record<string, unknown> {
  const personas = d.personas
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  const when: Record<string, unknown> = {};
  if (personas.length === 1) when.persona = personas[0];
  if (personas.length > 1) when.persona = personas;
  const min = score(d.minScore);
  const max = score(d.maxScore);
  if (min !== undefined) when.minScore = min;
  if (max !== undefined) when.maxScore = max;
  return { name: d.name.trim(), when, campaignId: d.campaignId };
}

/** `2.when.minScore`, `[2].when.minScore`, `body.2.when.persona.0` → rule 2, field minScore / persona. */
export function problemsFrom(errors: FieldProblem[]): Problems {
  const byRule = new Map<number, Map<Field, string[]>>();
  const general: string[] = [];
  for (const e of errors) {
    const parts = e.path
      .replace(/\[(\d+)\]/g, '.$1')
      .split('.')
      .filter((p) => p !== '' && p !== 'body' && p !== '(root)');
    const index = parts[0] === undefined ? NaN : Number(parts[0]);
    if (!Number.isInteger(index)) {
      general.push(e.message);
      continue;
    }
    const rest = parts.slice(1).filter((p) => p !== 'when' && !/^\d+$/.test(p));
    const name = rest[0];
    const field: Field = name === 'name' || name === 'persona' || name === 'minScore' || name === 'maxScore' || name === 'campaignId' ? name : 'rule';
    const fields = byRule.get(index) ?? new Map<Field, string[]>();
    fields.set(field, [...(fields.get(field) ?? []), field === 'rule' && name !== undefined ? `${name}: ${e.message}` : e.message]);
    byRule.set(index, fields);
  }
  return { byRule, general };
}

function describeWhen(rule: RoutingRule): string {
  const parts: string[] = [];
  const personas = personasOf(rule.when.persona);
  if (personas.length > 0) parts.push(`persona ${personas.join(' or ')}`);
  if (rule.when.minScore !== undefined && rule.when.maxScore !== undefined) parts.push(`score ${rule.when.minScore}–${rule.when.maxScore}`);
  else if (rule.when.minScore !== undefined) parts.push(`score ≥ ${rule.when.minScore}`);
  else if (rule.when.maxScore !== undefined) parts.push(`score ≤ ${rule.when.maxScore}`);
  return parts.length === 0 ? 'every lead' : parts.join(' and ');
}

function campaignLabel(campaigns: Campaign[], id: string): string {
  const c = campaigns.find((x) => x.campaignId === id);
  if (c === undefined) return `campaign ${id}`;
  return `${c.name} (${c.campaignId})${c.deletedExternally ? ' — deleted in Smartlead' : ''}`;
}

function ReadOnlyRules({ data, campaigns }: { data: RoutingRules; campaigns: Campaign[] }) {
  if (data.rules.length === 0) return <p data-testid="rules-empty">There are no routing rules: every new lead stays held until a rule matches it.</p>;
  return (
    <ol class="rules-readonly">
      {data.rules.map((r, i) => (
        <li key={`${r.name}-${i}`} data-testid="rule-row">
          <strong>{r.name}</strong>: {describeWhen(r)} → {campaignLabel(campaigns, r.campaignId)}
        </li>
      ))}
    </ol>
  );
}

interface EditorProps {
  data: RoutingRules;
  campaigns: Campaign[];
  onSaved: (r: RoutingRules) => void;
}

function RuleEditor({ data, campaigns, onSaved }: EditorProps) {
  const [draft, setDraft] = useState<DraftRule[]>(() => data.rules.map(toDraft));
  const [problems, setProblems] = useState<Problems>({ byRule: new Map(), general: [] });
  const [saveError, setSaveError] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState('');
  const focusAfter = useRef<string | null>(null);
  const list = useRef<HTMLOListElement>(null);
  const summary = useRef<HTMLDivElement>(null);

  const original = JSON.stringify(data.rules.map(toDraft).map(toRule));
  const dirty = JSON.stringify(draft.map(toRule)) !== original;

  // After the render that moved, added or removed a rule: keep the keyboard where the person is working.
  useLayoutEffect(() => {
    const selector = focusAfter.current;
    if (selector === null) return;
    focusAfter.current = null;
    const el = document.querySelector<HTMLElement>(selector);
    el?.focus();
  });

  const update = (key: number, patch: Partial<DraftRule>): void => setDraft((d) => d.map((r) => (r.key === key ? { ...r, ...patch } : r)));

  const move = (index: number, by: -1 | 1): void => {
    const target = index + by;
    if (target < 0 || target >= draft.length) return;
    const next = [...draft];
    const [rule] = next.splice(index, 1);
    if (rule === undefined) return;
    next.splice(target, 0, rule);
    setDraft(next);
    setProblems({ byRule: new Map(), general: [] });
    const edge = (by === -1 && target === 0) || (by === 1 && target === next.length - 1);
    const dir = edge ? (by === -1 ? 'down' : 'up') : by === -1 ? 'up' : 'down';
    focusAfter.current = `[data-rule-key="${rule.key}"] [data-move="${dir}"]`;
    setStatus(`Rule "${rule.name || 'unnamed'}" moved to position ${target + 1} of ${next.length}.`);
  };

  const add = (): void => {
    const rule: DraftRule = { key: nextKey++, name: '', personas: '', minScore: '', maxScore: '', campaignId: campaigns.find((c) => !c.deletedExternally)?.campaignId ?? '' };
    setDraft((d) => [...d, rule]);
    focusAfter.current = `#rule-${rule.key}-name`;
    setStatus('A new rule was added at the end.');
  };

  const remove = (index: number): void => {
    const rule = draft[index];
    if (rule === undefined) return;
    const next = draft.filter((_, i) => i !== index);
    setDraft(next);
    setProblems({ byRule: new Map(), general: [] });
    const neighbour = next[index] ?? next[index - 1];
    focusAfter.current = neighbour === undefined ? '[data-testid="rule-add"]' : `[data-rule-key="${neighbour.key}"] [data-testid="rule-remove"]`;
    setStatus(`Rule "${rule.name || 'unnamed'}" removed.`);
  };

  const save = async (): Promise<void> => {
    setSaving(true);
    setSaveError(undefined);
    setProblems({ byRule: new Map(), general: [] });
    setStatus('');
    try {
      const saved = await request<RoutingRules>('/v1/routing-rules', { method: 'PUT', body: draft.map(toRule) });
      onSaved(saved);
      setDraft(saved.rules.map(toDraft));
      setStatus(`Saved: routing rules version ${saved.version}.`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.errors.length > 0) {
        const p = problemsFrom(e.errors);
        setProblems(p);
        setSaveError(e);
        // Focus the first offending field, or the summary.
        const first = [...p.byRule.keys()].sort((a, b) => a - b)[0];
        const rule = first === undefined ? undefined : draft[first];
        const field = rule === undefined ? undefined : [...(p.byRule.get(first ?? -1)?.keys() ?? [])][0];
        focusAfter.current = rule !== undefined && field !== undefined && field !== 'rule' ? `#rule-${rule.key}-${field}` : '#rules-summary';
      } else {
        setSaveError(e);
        focusAfter.current = '#rules-summary';
      }
    } finally {
      setSaving(false);
    }
  };

  const known = new Set(campaigns.map((c) => c.campaignId));
  const errs = (i: number, f: Field): string[] | undefined => problems.byRule.get(i)?.get(f);
  const described = (id: string, has: boolean): string | undefined => (has ? id : undefined);

  return (
    <>
      <div id="rules-summary" ref={summary} tabIndex={-1}>
        {saveError === undefined ? null : (
          <div class="notice notice-error" role="alert" data-testid="rules-error">
            <p>
              <strong>The rules were not saved.</strong> {saveError instanceof ApiError ? saveError.detail : ''}
              {saveError instanceof ApiError && saveError.status === 422 ? ' Each problem is shown beside its field.' : ''}
            </p>
            {problems.general.length === 0 ? null : (
              <ul>
                {problems.general.map((m) => (
                  <li key={m} data-testid="field-error">
                    {m}
                  </li>
                ))}
              </ul>
            )}
            {saveError instanceof ApiError && saveError.status === 422 ? null : <ErrorNote error={saveError} />}
          </div>
        )}
      </div>
      <p class="visually-hidden" role="status" aria-live="polite" data-testid="rules-status">
        {status}
      </p>
      {draft.length === 0 ? <p data-testid="rules-empty">There are no rules: every new lead will stay held until a rule matches it.</p> : null}
      <ol class="rules" ref={list}>
        {draft.map((r, i) => {
          const id = (f: string): string => `rule-${r.key}-${f}`;
          const ruleErrors = errs(i, 'rule');
          const unknownCampaign = r.campaignId !== '' && !known.has(r.campaignId);
          return (
            <li key={r.key} data-rule-key={r.key} data-testid="rule-row" class="rule">
              <fieldset>
                <legend>
                  Rule {i + 1}
                  {r.name.trim() === '' ? '' : `: ${r.name}`}
                </legend>
                {ruleErrors === undefined ? null : <FieldError id={id('rule-error')} messages={ruleErrors} />}
                <div class="rule-grid">
                  <TextField id={id('name')} label="Name" testId="rule-name" value={r.name} required errors={errs(i, 'name')} onValue={(v) => update(r.key, { name: v })} />
                  <TextField
                    id={id('persona')}
                    label="Personas, comma-separated"
                    testId="rule-persona"
                    value={r.personas}
                    placeholder="any persona"
                    errors={errs(i, 'persona')}
                    onValue={(v) => update(r.key, { personas: v })}
                  />
                  <TextField id={id('minScore')} label="Minimum score" testId="rule-min" inputMode="numeric" value={r.minScore} errors={errs(i, 'minScore')} onValue={(v) => update(r.key, { minScore: v })} />
                  <TextField id={id('maxScore')} label="Maximum score" testId="rule-max" inputMode="numeric" value={r.maxScore} errors={errs(i, 'maxScore')} onValue={(v) => update(r.key, { maxScore: v })} />
                  <div class="rule-campaign">
                    <label for={id('campaignId')}>Campaign</label>
                    <select
                      id={id('campaignId')}
                      data-testid="rule-campaign"
                      value={r.campaignId}
                      aria-invalid={errs(i, 'campaignId') === undefined ? undefined : 'true'}
                      aria-describedby={described(id('campaignId-error'), errs(i, 'campaignId') !== undefined)}
                      onChange={(e) => update(r.key, { campaignId: e.currentTarget.value })}
                    >
                      {r.campaignId === '' ? <option value="">Choose a campaign</option> : null}
                      {unknownCampaign ? <option value={r.campaignId}>Campaign {r.campaignId} (unknown)</option> : null}
                      {campaigns.map((c) => (
                        <option key={c.campaignId} value={c.campaignId}>
                          {c.name} ({c.campaignId}){c.deletedExternally ? ' — deleted in Smartlead' : c.status === 'ACTIVE' ? '' : ` — ${c.status}`}
                        </option>
                      ))}
                    </select>
                    <FieldError id={id('campaignId-error')} messages={errs(i, 'campaignId')} />
                  </div>
                </div>
                <div class="rule-actions" role="group" aria-label={`Rule ${i + 1} actions`}>
                  <button type="button" class="outline secondary" data-move="up" data-testid="rule-up" disabled={i === 0} onClick={() => move(i, -1)} aria-label={`Move rule ${i + 1} up`}>
                    ↑ Up
                  </button>
                  <button
                    type="button"
                    class="outline secondary"
                    data-move="down"
                    data-testid="rule-down"
                    disabled={i === draft.length - 1}
                    onClick={() => move(i, 1)}
                    aria-label={`Move rule ${i + 1} down`}
                  >
                    ↓ Down
                  </button>
                  <button type="button" class="outline contrast" data-testid="rule-remove" onClick={() => remove(i)} aria-label={`Remove rule ${i + 1}`}>
                    Remove
                  </button>
                </div>
              </fieldset>
            </li>
          );
        })}
      </ol>
      <div class="toolbar">
        <button type="button" class="secondary" data-testid="rule-add" onClick={add}>
          Add a rule
        </button>
        <button
          type="button"
          class="outline secondary"
          data-testid="rule-discard"
          disabled={!dirty || saving}
          onClick={() => {
            setDraft(data.rules.map(toDraft));
            setProblems({ byRule: new Map(), general: [] });
            setSaveError(undefined);
            setStatus('Changes discarded.');
          }}
        >
          Discard changes
        </button>
        <button type="button" data-testid="rule-save" onClick={save} disabled={saving || !dirty} aria-busy={saving ? 'true' : undefined}>
          Save rules
        </button>
      </div>
      {dirty ? (
        <p class="hint" data-testid="rules-dirty">
          You have unsaved changes.
        </p>
      ) : null}
    </>
  );
}

export function RoutingScreen() {
  const session = useSession();
  const admin = can(session, 'admin');
  const loaded = useLoad(
    async () => {
      const [rules, campaigns] = await Promise.all([request<RoutingRules>('/v1/routing-rules'), allPages<Campaign>('/v1/campaigns', { limit: 500 })]);
      return { rules, campaigns };
    },
    [],
  );
  const [saved, setSaved] = useState<RoutingRules | null>(null);
  return (
    <>
      <PageTitle>Routing</PageTitle>
      <p>
        Each new lead goes to the campaign of the <strong>first</strong> rule it matches; a lead no rule matches stays held. Changing rules never moves a lead that is
        already in a campaign.
      </p>
      <Show loaded={loaded} what="the routing rules">
        {({ rules, campaigns }) => {
          const current = saved ?? rules;
          return (
            <>
              <p class="hint" data-testid="rules-version">
                Version {current.version}
                {current.updatedAt === null ? '' : ', changed '}
                {current.updatedAt === null ? null : <Time iso={current.updatedAt} />}.{admin ? '' : ' Only admins can change the rules.'}
              </p>
              {admin ? <RuleEditor data={current} campaigns={campaigns} onSaved={setSaved} /> : <ReadOnlyRules data={current} campaigns={campaigns} />}
            </>
          );
        }}
      </Show>
    </>
  );
}
