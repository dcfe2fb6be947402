/**
 * Audit log (PRD §12, §13.4): the timeline, newest first, each entry's sentence first and its details (trigger,
 * actor, mode, versions) on demand; filters by entity, action, actor and time, kept in the URL so a link can carry
 * them; and the hash chain's verification status (GET /v1/audit/verify).
 */
import { useState } from 'preact/hooks';
import { ApiError, query, request } from '../api';
import { ErrorNote, PageTitle, Show, Time, useLoad } from '../components/common';
import { count, words } from '../format';
import { hrefWith, navigate } from '../router';
import type { AuditEntry, AuditVerification, Page } from '../types';

const ENTITY_TYPES = ['lead', 'mailbox', 'campaign', 'domain', 'organization', 'api_key', 'integration', 'routing', 'settings', 'event'];
const FILTERS = ['entityType', 'entityId', 'action', 'actor', 'since', 'until'] as const;
type FilterName = (typeof FILTERS)[number];
type Filters = Record<FilterName, string>;
const PAGE_SIZE = 50;

/** An ISO instant as a datetime-local value in the browser's time zone. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value: string): string {
  if (value === '') return '';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function Verification() {
  const loaded = useLoad(() => request<AuditVerification>('/v1/audit/verify'), []);
  if (loaded.data === undefined) {
    if (loaded.error === undefined)
      return (
        <p class="notice" aria-busy="true" data-testid="audit-verify">
          Verifying the audit chain…
        </p>
      );
    return (
      <div class="notice notice-warn" data-testid="audit-verify" data-verify="unavailable">
        <p>The audit chain could not be verified: {loaded.error instanceof ApiError ? loaded.error.detail || loaded.error.title : String(loaded.error)}</p>
        <button type="button" class="outline secondary" onClick={loaded.reload}>
          Verify again
        </button>
      </div>
    );
  }
  const v = loaded.data;
  if (v.ok) {
    return (
      <p class="notice notice-ok" role="status" data-testid="audit-verify" data-verify="ok">
        <strong>Audit chain verified:</strong> {count(v.checked)} entr{v.checked === 1 ? 'y' : 'ies'} checked, none altered or removed
        {v.unsealed > 0 ? `; ${count(v.unsealed)} newest not sealed yet` : ''}.
      </p>
    );
  }
  const b = v.firstBroken;
  return (
    <div class="notice notice-error" role="alert" data-testid="audit-verify" data-verify="broken">
      <p>
        <strong>The audit chain is broken.</strong>{' '}
        {b === undefined ? (
          'An entry was altered or removed.'
        ) : (
          <>
            The first broken entry is <strong data-testid="audit-broken-id">#{b.auditId}</strong>
            {b.action === null ? ' (deleted)' : ` (${words(b.action)} on ${b.entityType ?? '?'} ${b.entityId ?? '?'}`}
            {b.at === null ? '' : ', '}
            {b.at === null ? null : <Time iso={b.at} />}
            {b.action === null ? '' : ')'}: {b.detail ?? words(b.reason)}
          </>
        )}{' '}
        {count(v.checked)} entries checked.
      </p>
    </div>
  );
}

function Entry({ e }: { e: AuditEntry }) {
  const t = e.trigger;
  const json = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v, null, 1));
  const triggerRows: [string, string][] = [];
  if (t.signals !== undefined && t.signals.length > 0) triggerRows.push(['Signals', t.signals.join(', ')]);
  if (t.metric !== undefined) triggerRows.push(['Metric', t.metric]);
  if (t.observed !== undefined) triggerRows.push(['Observed', json(t.observed)]);
  if (t.threshold !== undefined) triggerRows.push(['Threshold', json(t.threshold)]);
  if (t.window !== undefined) triggerRows.push(['Window', t.window]);
  if (t.before !== undefined) triggerRows.push(['Before', json(t.before)]);
  if (t.after !== undefined) triggerRows.push(['After', json(t.after)]);
  for (const [k, v] of Object.entries(t)) {
    if (!['signals', 'metric', 'observed', 'threshold', 'window', 'before', 'after'].includes(k) && v !== undefined) triggerRows.push([k, json(v)]);
  }
  return (
    <li class="audit-entry" data-testid="audit-entry" data-audit-id={e.id} data-action={e.action}>
      <p class="audit-message" data-testid="audit-message">
        {e.message}
      </p>
      <p class="audit-meta">
        <Time iso={e.at} /> · {words(e.action)} · {e.entityType} <span class="mono">{e.entityId}</span>
        {e.outcome === undefined || e.outcome === null ? '' : ` · ${words(e.outcome)}`}
      </p>
      <details>
        <summary>Details</summary>
        <dl class="facts compact">
          <div>
            <dt>Actor</dt>
            <dd>{e.actor}</dd>
          </div>
          <div>
            <dt>Mode</dt>
            <dd>{e.mode}</dd>
          </div>
          {e.outcome === undefined || e.outcome === null ? null : (
            <div>
              <dt>Outcome</dt>
              <dd>{words(e.outcome)}</dd>
            </div>
          )}
          <div>
            <dt>Engine version</dt>
            <dd>{e.engineVersion}</dd>
          </div>
          <div>
            <dt>Settings version</dt>
            <dd>{e.settingsVersion}</dd>
          </div>
          <div>
            <dt>Entry</dt>
            <dd>
              #{e.id} at <time dateTime={e.at}>{e.at}</time>
            </dd>
          </div>
        </dl>
        {triggerRows.length === 0 ? null : (
          <>
            <h3 class="small-heading">Trigger</h3>
            <dl class="facts compact">
              {triggerRows.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>
                    <code class="wrap">{v}</code>
                  </dd>
                </div>
              ))}
            </dl>
          </>
        )}
      </details>
    </li>
  );
}

function FilterForm({ current }: { current: Filters }) {
  const [f, setF] = useState<Filters>({ ...current, since: current.since === '' ? '' : toLocalInput(current.since), until: current.until === '' ? '' : toLocalInput(current.until) });
  const set = (name: FilterName) => (e: Event) => {
    const value = (e.currentTarget as HTMLInputElement | HTMLSelectElement).value;
    setF((old) => ({ ...old, [name]: value }));
  };
  const apply = (e: Event): void => {
    e.preventDefault();
    navigate(hrefWith(['audit'], { ...f, entityId: f.entityId.trim(), action: f.action.trim().toLowerCase().replace(/\s+/g, '_'), actor: f.actor.trim(), since: fromLocalInput(f.since), until: fromLocalInput(f.until) }));
  };
  const active = FILTERS.some((k) => current[k] !== '');
  return (
    <form class="audit-filters filters-box" onSubmit={apply} aria-label="Filter the audit log" data-testid="audit-filters">
      <div class="filter-grid">
        <div>
          <label for="f-entityType">Entity type</label>
          <select id="f-entityType" data-testid="filter-entity-type" value={f.entityType} onChange={set('entityType')}>
            <option value="">Any</option>
            {ENTITY_TYPES.map((t) => (
              <option key={t} value={t}>
                {words(t)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="f-entityId">Entity id</label>
          <input id="f-entityId" data-testid="filter-entity-id" value={f.entityId} onInput={set('entityId')} placeholder="email, domain, campaign id…" />
        </div>
        <div>
          <label for="f-action">Action</label>
          <input id="f-action" data-testid="filter-action" value={f.action} onInput={set('action')} placeholder="mailbox_paused, or mailbox_* for a prefix" />
        </div>
        <div>
          <label for="f-actor">Actor</label>
          <input id="f-actor" data-testid="filter-actor" value={f.actor} onInput={set('actor')} placeholder="system, api-key:<id>, …" />
        </div>
        <div>
          <label for="f-since">Since</label>
          <input id="f-since" data-testid="filter-since" type="datetime-local" value={f.since} onInput={set('since')} />
        </div>
        <div>
          <label for="f-until">Until</label>
          <input id="f-until" data-testid="filter-until" type="datetime-local" value={f.until} onInput={set('until')} />
        </div>
      </div>
      <div class="toolbar">
        <button type="submit" data-testid="filter-apply">
          Apply filters
        </button>
        {active ? (
          <a href={hrefWith(['audit'], {})} role="button" class="outline secondary" data-testid="filter-clear">
            Clear filters
          </a>
        ) : null}
      </div>
    </form>
  );
}

export function AuditScreen({ params }: { params: URLSearchParams }) {
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) ?? ''])) as Filters;
  const [extra, setExtra] = useState<{ items: AuditEntry[]; cursor: string | null } | null>(null);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const loaded = useLoad(() => request<Page<AuditEntry>>(`/v1/audit${query({ ...filters, limit: PAGE_SIZE })}`), [params.toString()]);
  const first = loaded.data;
  const items = [...(first?.items ?? []), ...(extra?.items ?? [])];
  const cursor = extra === null ? (first?.nextCursor ?? null) : extra.cursor;

  const loadMore = async (): Promise<void> => {
    if (cursor === null) return;
    setLoadingMore(true);
    setMoreError(undefined);
    try {
      const page = await request<Page<AuditEntry>>(`/v1/audit${query({ ...filters, limit: PAGE_SIZE, cursor })}`);
      setExtra({ items: [...(extra?.items ?? []), ...page.items], cursor: page.nextCursor });
    } catch (e) {
      setMoreError(e);
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <Verification />
      <FilterForm current={filters} />
      <Show loaded={loaded} what="the audit log">
        {() => (
          <section aria-labelledby="timeline-title">
            <h2 id="timeline-title" class="visually-hidden">
              Timeline
            </h2>
            {items.length === 0 ? (
              <p data-testid="audit-empty">No audit entry matches.</p>
            ) : (
              <ol class="timeline" data-testid="audit-timeline">
                {items.map((e) => (
                  <Entry key={e.id} e={e} />
                ))}
              </ol>
            )}
            {moreError === undefined ? null : <ErrorNote error={moreError} />}
            {cursor === null ? null : (
              <button type="button" class="secondary" onClick={loadMore} aria-busy={loadingMore ? 'true' : undefined} disabled={loadingMore} data-testid="audit-more">
                Show older entries
              </button>
            )}
          </section>
        )}
      </Show>
    </>
  );
}
