/**
 * Settings: the organization's mode (each with its consequence in one line) and thresholds. Admins change them with
 * PUT /v1/settings (only what they changed is sent; a 422's errors[].path such as `thresholds.hardBounceRate.warning`
 * is shown beside that field). Operators and viewers read them without any edit control.
 */
import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { ErrorNote, FieldError, PageTitle, Show, TextField, Time, useLoad } from '../components/common';
import { can, useSession } from '../session';
import type { Mode, Overview, Settings, Thresholds } from '../types';

export const MODE_CONSEQUENCE: Record<Mode, string> = {
  observe: 'Drason only watches: it records what it would pause or push in the audit log and changes nothing in Smartlead.',
  suggest: 'Drason recommends each pause and push; nothing changes in Smartlead until a person applies the recommendation.',
  enforce: 'Drason acts on its own: it pauses mailboxes, campaigns and domains in Smartlead and pushes the leads that pass the gate.',
};
const MODES: Mode[] = ['observe', 'suggest', 'enforce'];

type Unit = 'percent' | 'minutes' | 'count' | 'score';

interface FieldSpec {
  path: string;
  label: string;
  unit: Unit;
  hint?: string;
}

const GROUPS: { title: string; fields: FieldSpec[] }[] = [
  {
    title: 'Rates',
    fields: [
      { path: 'hardBounceRate.warning', label: 'Hard-bounce rate: warning at (%)', unit: 'percent' },
      { path: 'hardBounceRate.pause', label: 'Hard-bounce rate: pause at (%)', unit: 'percent' },
      { path: 'failureRate.warning', label: 'Delivery-failure rate: warning at (%)', unit: 'percent' },
      { path: 'failureRate.pause', label: 'Delivery-failure rate: pause at (%)', unit: 'percent' },
      { path: 'reputationRate.warning', label: 'Reputation-block rate: warning at (%)', unit: 'percent' },
      { path: 'reputationRate.pause', label: 'Reputation-block rate: pause at (%)', unit: 'percent' },
      { path: 'velocity.warning', label: 'Bounce velocity: warning at (percentage points)', unit: 'percent', hint: 'The 1h hard-bounce rate minus the 24h rate.' },
      { path: 'minSample', label: 'Minimum sample (sends)', unit: 'count', hint: 'Rates are judged only after this many sends in the window.' },
    ],
  },
  {
    title: 'Timing',
    fields: [
      { path: 'sustainMinutes', label: 'Sustain (minutes)', unit: 'minutes', hint: 'How long a breach must last before it escalates; 0: at once.' },
      { path: 'cooldownMinutes', label: 'Cooldown after a pause (minutes)', unit: 'minutes' },
      { path: 'maxCooldownMinutes', label: 'Longest cooldown after repeated pauses (minutes)', unit: 'minutes' },
      { path: 'probationMinutes', label: 'Probation after a resume (minutes)', unit: 'minutes' },
    ],
  },
  {
    title: 'Escalation and gate',
    fields: [
      { path: 'campaignDegradedMailboxes', label: 'Degraded mailboxes that mark a campaign degraded', unit: 'count' },
      { path: 'domainDegradedMailboxes', label: 'Degraded mailboxes that mark a domain degraded', unit: 'count' },
      { path: 'escalationLoopPauses', label: 'Automatic pauses in a row that stop automation', unit: 'count' },
      { path: 'gateMaxRiskScore', label: 'Highest risk score the execution gate lets through', unit: 'score' },
    ],
  },
];

function read(t: Thresholds, path: string): number | undefined {
  let v: unknown = t;
  for (const p of path.split('.')) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[p] : undefined;
  return typeof v === 'number' ? v : undefined;
}

function display(unit: Unit, v: number | undefined): string {
  if (v === undefined) return '';
  return unit === 'percent' ? String(Number((v * 100).toFixed(6))) : String(v);
}

function fromDisplay(unit: Unit, text: string): number | string {
  const n = Number(text.trim());
  if (text.trim() === '' || !Number.isFinite(n)) return text;
  return unit === 'percent' ? Number((n / 100).toFixed(10)) : n;
}

const suffix = (unit: Unit): string => (unit === 'percent' ? '%' : '');

/** A nested patch {thresholds: {hardBounceRate: {warning: 0.03}}} from the changed fields. */
function patchOf(mode: Mode, original: Settings, values: Record<string, string>): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  if (mode !== original.mode) patch.mode = mode;
  const thresholds: Record<string, unknown> = {};
  for (const g of GROUPS) {
    for (const f of g.fields) {
      const text = values[f.path] ?? '';
      if (text === display(f.unit, read(original.thresholds, f.path))) continue;
      const [head, tail] = f.path.split('.') as [string, string | undefined];
      const value = fromDisplay(f.unit, text);
      if (tail === undefined) thresholds[head] = value;
      else thresholds[head] = { ...((thresholds[head] as Record<string, unknown> | undefined) ?? {}), [tail]: value };
    }
  }
  if (Object.keys(thresholds).length > 0) patch.thresholds = thresholds;
  return patch;
}

function initialValues(s: Settings): Record<string, string> {
  return Object.fromEntries(GROUPS.flatMap((g) => g.fields.map((f) => [f.path, display(f.unit, read(s.thresholds, f.path))])));
}

function SettingsForm({ settings, onSaved }: { settings: Settings; onSaved: (s: Settings) => void }) {
  const [mode, setMode] = useState<Mode>(settings.mode);
  const [values, setValues] = useState<Record<string, string>>(() => initialValues(settings));
  const [errors, setErrors] = useState<Map<string, string[]>>(new Map());
  const [general, setGeneral] = useState<unknown>(undefined);
  const [saving, setSaving] = useState(false);
  const [status, setStatus] = useState('');
  const patch = patchOf(mode, settings, values);
  const dirty = Object.keys(patch).length > 0;

  const save = async (e: Event): Promise<void> => {
    e.preventDefault();
    setSaving(true);
    setErrors(new Map());
    setGeneral(undefined);
    setStatus('');
    try {
      const saved = await request<Settings>('/v1/settings', { method: 'PUT', body: patch });
      onSaved(saved);
      setMode(saved.mode);
      setValues(initialValues(saved));
      setStatus(`Saved: settings version ${saved.settingsVersion}.`);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422 && err.errors.length > 0) {
        const byField = new Map<string, string[]>();
        const known = new Set(['mode', ...GROUPS.flatMap((g) => g.fields.map((f) => f.path))]);
        const leftover: string[] = [];
        for (const p of err.errors) {
          const path = p.path.replace(/^(body\.)?(thresholds\.)?/, '');
          if (known.has(path)) byField.set(path, [...(byField.get(path) ?? []), p.message]);
          else leftover.push(`${p.path}: ${p.message}`);
        }
        setErrors(byField);
        setGeneral(new ApiError(422, err.title, `${err.detail} ${leftover.join('; ')}`.trim()));
        const first = [...byField.keys()][0];
        if (first !== undefined) window.setTimeout(() => document.getElementById(`s-${first.replace('.', '-')}`)?.focus(), 0);
      } else {
        setGeneral(err);
      }
    } finally {
      setSaving(false);
    }
  };

  return (
    <form onSubmit={save} noValidate data-testid="settings-form">
      {general === undefined ? null : <ErrorNote error={general} />}
      <p class="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>
      {status === '' ? null : (
        <p class="notice notice-ok" data-testid="settings-saved">
          {status}
        </p>
      )}
      <fieldset>
        <legend>
          <strong>Mode</strong>
        </legend>
        {MODES.map((m) => (
          <div key={m} class="mode-option">
            <input type="radio" id={`mode-${m}`} name="mode" value={m} checked={mode === m} onChange={() => setMode(m)} data-testid={`mode-${m}`} aria-describedby={`mode-${m}-hint`} />
            <label for={`mode-${m}`}>
              <strong>{m[0]?.toUpperCase() + m.slice(1)}</strong>
            </label>
            <small id={`mode-${m}-hint`} class="mode-hint">
              {MODE_CONSEQUENCE[m]}
            </small>
          </div>
        ))}
        <FieldError id="mode-error" messages={errors.get('mode')} />
        <small>Manual pauses and resumes are obeyed in every mode.</small>
      </fieldset>
      {GROUPS.map((g) => (
        <fieldset key={g.title}>
          <legend>
            <strong>{g.title}</strong>
          </legend>
          <div class="settings-grid">
            {g.fields.map((f) => (
              <TextField
                key={f.path}
                id={`s-${f.path.replace('.', '-')}`}
                label={f.label}
                testId={`setting-${f.path}`}
                inputMode="decimal"
                value={values[f.path] ?? ''}
                errors={errors.get(f.path)}
                {...(f.hint === undefined ? {} : { hint: f.hint })}
                onValue={(value) => setValues((v) => ({ ...v, [f.path]: value }))}
              />
            ))}
          </div>
        </fieldset>
      ))}
      <div class="toolbar">
        <button
          type="button"
          class="outline secondary"
          disabled={!dirty || saving}
          onClick={() => {
            setMode(settings.mode);
            setValues(initialValues(settings));
            setErrors(new Map());
            setGeneral(undefined);
          }}
        >
          Discard changes
        </button>
        <button type="submit" data-testid="settings-save" disabled={!dirty || saving} aria-busy={saving ? 'true' : undefined}>
          Save settings
        </button>
      </div>
    </form>
  );
}

function ReadOnlySettings({ settings }: { settings: Settings }) {
  return (
    <>
      {GROUPS.map((g) => (
        <section key={g.title} aria-labelledby={`g-${g.title}`}>
          <h2 id={`g-${g.title}`}>{g.title}</h2>
          <dl class="facts">
            {g.fields.map((f) => (
              <div key={f.path}>
                <dt>{f.label}</dt>
                <dd data-testid={`setting-${f.path}`}>
                  {display(f.unit, read(settings.thresholds, f.path))}
                  {suffix(f.unit)}
                </dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
    </>
  );
}

export function SettingsScreen() {
  const session = useSession();
  const admin = can(session, 'admin');
  // GET /v1/settings is for admins: the others read the mode from the overview (no request bound to be refused).
  const loaded = useLoad(async (): Promise<{ settings: Settings | null; mode: Mode }> => {
    if (admin) {
      const settings = await request<Settings>('/v1/settings');
      return { settings, mode: settings.mode };
    }
    return { settings: null, mode: (await request<Overview>('/v1/overview')).mode };
  }, []);
  const [saved, setSaved] = useState<Settings | null>(null);
  return (
    <>
      <PageTitle>Settings</PageTitle>
      <Show loaded={loaded} what="the settings">
        {({ settings: loadedSettings, mode }) => {
          const settings = saved ?? loadedSettings;
          return (
            <>
              <p class="hint" data-testid="settings-version">
                {settings === null ? '' : `Settings version ${settings.settingsVersion}`}
                {settings === null || settings.updatedAt === null ? '' : ', changed '}
                {settings === null || settings.updatedAt === null ? null : <Time iso={settings.updatedAt} />}
                {settings === null ? '' : '.'}
                {admin ? '' : ' Only admins can change the settings.'}
              </p>
              {admin && settings !== null ? (
                <SettingsForm settings={settings} onSaved={setSaved} />
              ) : (
                <>
                  <section aria-labelledby="mode-title">
                    <h2 id="mode-title">Mode</h2>
                    <p data-testid="settings-mode">
                      <strong>{mode}</strong>: {MODE_CONSEQUENCE[mode]}
                    </p>
                    <ul class="mode-list">
                      {MODES.filter((m) => m !== mode).map((m) => (
                        <li key={m}>
                          <strong>{m}</strong>: {MODE_CONSEQUENCE[m]}
                        </li>
                      ))}
                    </ul>
                  </section>
                  {settings === null ? <p data-testid="settings-admin-only">The thresholds are shown to admins only.</p> : <ReadOnlySettings settings={settings} />}
                </>
              )}
            </>
          );
        }}
      </Show>
    </>
  );
}
