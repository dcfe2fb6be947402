/**
 * Domains & mailboxes (PRD §13.3): lists with state and risk score; a detail page with the rolling windows, the pause
 * reason and cooldown end, the mailboxes behind a domain's decision, the bounce-rate chart, a link to the entity's
 * workflow in the Temporal Web UI, and pause / resume by hand for operators (POST …/override with a reason).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { query, request, seg } from '../api';
import { BounceChart } from '../components/BounceChart';
import { PageTitle, RateTableHead, Show, StateBadge, Time, useLoad } from '../components/common';
import { ReasonDialog } from '../components/ReasonDialog';
import { count, percent } from '../format';
import { href, hrefWith } from '../router';
import { can, useSession } from '../session';
import type { Domain, EntityKind, EntityState, HealthFields, Mailbox, Page, WindowName } from '../types';

const COLLECTION: Record<EntityKind, string> = { mailbox: 'mailboxes', domain: 'domains' };
const STATES: EntityState[] = ['healthy', 'warning', 'paused', 'recovering'];
const PAGE_SIZE = 100;

type Row = (Mailbox | Domain) & { id: string };

function idOf(kind: EntityKind, e: Mailbox | Domain): string {
  return kind === 'mailbox' ? (e as Mailbox).email : (e as Domain).domain;
}

export function EntitiesScreen({ kind }: { kind: EntityKind }) {
  const [state, setState] = useState<EntityState | ''>('');
  const loaded = useLoad(() => request<Page<Mailbox | Domain>>(`/v1/${COLLECTION[kind]}${query({ limit: PAGE_SIZE, state })}`), [kind, state]);
  // Pages after the first ("Show more"), for the first page they follow.
  const [more, setMore] = useState<{ after: Page<Mailbox | Domain> | undefined; items: (Mailbox | Domain)[]; cursor: string | null }>({ after: undefined, items: [], cursor: null });
  const [loadingMore, setLoadingMore] = useState(false);
  const first = loaded.data;
  const extra = more.after !== undefined && more.after === first ? more : undefined;
  const rows: Row[] = [...(first?.items ?? []), ...(extra?.items ?? [])].map((e) => ({ ...e, id: idOf(kind, e) }));
  const cursor = extra === undefined ? (first?.nextCursor ?? null) : extra.cursor;

  const loadMore = async (): Promise<void> => {
    if (cursor === null || first === undefined) return;
    setLoadingMore(true);
    try {
      const page = await request<Page<Mailbox | Domain>>(`/v1/${COLLECTION[kind]}${query({ limit: PAGE_SIZE, state, cursor })}`);
      setMore({ after: first, items: [...(extra?.items ?? []), ...page.items], cursor: page.nextCursor });
    } finally {
      setLoadingMore(false);
    }
  };

  return (
    <>
      <PageTitle>Domains &amp; mailboxes</PageTitle>
      <nav aria-label="Entity kind" class="tabs">
        <ul>
          <li>
            <a href={hrefWith(['entities'], { kind: 'domains' })} aria-current={kind === 'domain' ? 'page' : undefined} data-testid="tab-domains">
              Domains
            </a>
          </li>
          <li>
            <a href={hrefWith(['entities'], { kind: 'mailboxes' })} aria-current={kind === 'mailbox' ? 'page' : undefined} data-testid="tab-mailboxes">
              Mailboxes
            </a>
          </li>
        </ul>
      </nav>
      <div class="filter-inline">
        <label for="state-filter">Show</label>
        <select id="state-filter" data-testid="state-filter" value={state} onChange={(e) => setState(e.currentTarget.value as EntityState | '')}>
          <option value="">every state</option>
          {STATES.map((s) => (
            <option key={s} value={s}>
              {s} only
            </option>
          ))}
        </select>
      </div>
      <Show loaded={loaded} what={kind === 'mailbox' ? 'the mailboxes' : 'the domains'}>
        {() =>
          rows.length === 0 ? (
            <p data-testid="entities-empty">No {kind === 'mailbox' ? 'mailbox' : 'domain'} {state === '' ? 'yet' : `is ${state}`}.</p>
          ) : (
            <>
              <div class="table-scroll" tabIndex={0} role="region" aria-label={kind === 'mailbox' ? 'Mailboxes' : 'Domains'}>
                <table class="striped entity-table">
                  <RateTableHead first="Window" />
                  <tbody>
                    {rows.map((e) => (
                      <tr key={e.id} data-testid="entity-row" data-entity-id={e.id} data-state={e.state}>
                        <th scope="row">
                          <a href={href('entities', kind, e.id)}>{e.id}</a>
                        </th>
                        <td>
                          <StateBadge state={e.state} />
                        </td>
                        <td>{e.riskScore}</td>
                        <td>{count(e.windows['24h'].sent)}</td>
                        <td>{e.windows['24h'].sent === 0 ? '—' : percent(e.rates['24h'].hardBounceRate)}</td>
                        <td class="why">{e.pauseReason ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {cursor === null ? null : (
                <button type="button" class="secondary" onClick={loadMore} aria-busy={loadingMore ? 'true' : undefined} disabled={loadingMore}>
                  Show more
                </button>
              )}
            </>
          )
        }
      </Show>
    </>
  );
}

const WINDOWS: WindowName[] = ['1h', '24h', '7d'];

function WindowsTable({ e }: { e: HealthFields }) {
  return (
    <div class="table-scroll" tabIndex={0} role="region" aria-label="Sends, bounces and failures per window">
      <table class="windows" data-testid="windows">
        <thead>
          <tr>
            <th scope="col">Window</th>
            <th scope="col">Sent</th>
            <th scope="col">Hard bounces</th>
            <th scope="col">Hard-bounce rate</th>
            <th scope="col">Failures</th>
            <th scope="col">Failure rate</th>
          </tr>
        </thead>
        <tbody>
          {WINDOWS.map((w) => (
            <tr key={w}>
              <th scope="row">Last {w}</th>
              <td>{count(e.windows[w].sent)}</td>
              <td>{count(e.windows[w].hardBounces)}</td>
              <td>{e.windows[w].sent === 0 ? '—' : percent(e.rates[w].hardBounceRate)}</td>
              <td>{count(e.windows[w].failures)}</td>
              <td>{e.windows[w].sent === 0 ? '—' : percent(e.rates[w].failureRate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Override({ kind, id, e, onDone }: { kind: EntityKind; id: string; e: HealthFields; onDone: (message: string | null) => void }) {
  const [asking, setAskingState] = useState<'pause' | 'resume' | null>(null);
  const setAsking = (a: 'pause' | 'resume' | null): void => {
    if (a !== null) onDone(null);
    setAskingState(a);
  };
  const paused = e.state === 'paused' || e.automationStopped !== null;
  const noun = kind === 'mailbox' ? 'mailbox' : 'domain';
  const consequence =
    asking === 'pause'
      ? kind === 'mailbox'
        ? `Drason will pause ${id} (in every mode) and keep it paused until someone resumes it by hand.`
        : `Drason will pause the domain ${id} and hold its campaigns paused in Smartlead until someone resumes it by hand.`
      : `Drason will resume ${id}; it starts probation, judged only on what it sends from now on.`;
  return (
    <div class="override">
      {paused ? (
        <button type="button" data-testid="entity-resume" onClick={() => setAsking('resume')}>
          Resume {noun}…
        </button>
      ) : null}
      {e.state !== 'paused' ? (
        <button type="button" class={paused ? 'outline contrast' : 'contrast'} data-testid="entity-pause" onClick={() => setAsking('pause')}>
          Pause {noun}…
        </button>
      ) : null}
      {asking === null ? null : (
        <ReasonDialog
          title={`${asking === 'pause' ? 'Pause' : 'Resume'} ${id}`}
          description={consequence}
          confirmLabel={asking === 'pause' ? `Pause ${noun}` : `Resume ${noun}`}
          onClose={() => setAsking(null)}
          onConfirm={async (reason) => {
            await request(`/v1/${COLLECTION[kind]}/${seg(id)}/override`, { method: 'POST', body: { action: asking, reason } });
            const action = asking;
            setAsking(null);
            onDone(
              `${action === 'pause' ? 'Pause' : 'Resume'} requested. The ${noun}'s workflow acts on it in a moment; the audit log records it with your reason.`,
            );
          }}
        />
      )}
    </div>
  );
}

export function EntityDetailScreen({ kind, id }: { kind: EntityKind; id: string }) {
  const session = useSession();
  const loaded = useLoad(() => request<Mailbox | Domain>(`/v1/${COLLECTION[kind]}/${seg(id)}`), [kind, id]);
  const [notice, setNotice] = useState<string | null>(null);
  const polls = useRef<number[]>([]);
  useEffect(() => () => polls.current.forEach((t) => window.clearTimeout(t)), []);

  const afterOverride = (message: string | null): void => {
    setNotice(message);
    if (message === null) return;
    // The workflow acts asynchronously: look again a few times so the new state shows without a manual refresh.
    polls.current.forEach((t) => window.clearTimeout(t));
    polls.current = [1000, 3000, 6000, 10000].map((ms) => window.setTimeout(loaded.reload, ms));
  };

  return (
    <>
      <p class="breadcrumb">
        <a href={hrefWith(['entities'], { kind: kind === 'mailbox' ? 'mailboxes' : 'domains' })}>← All {kind === 'mailbox' ? 'mailboxes' : 'domains'}</a>
      </p>
      <PageTitle>
        <span class="visually-hidden">{kind === 'mailbox' ? 'Mailbox' : 'Domain'} </span>
        {id}
      </PageTitle>
      <p class="visually-hidden" role="status" aria-live="polite">
        {notice ?? ''}
      </p>
      {notice === null ? null : (
        <p class="notice notice-ok" data-testid="override-notice">
          {notice}
        </p>
      )}
      <Show loaded={loaded} what={`the ${kind}`}>
        {(e) => (
          <>
            <section aria-labelledby="state-title" class="entity-state" data-testid="entity-detail" data-state={e.state}>
              <h2 id="state-title" class="visually-hidden">
                State
              </h2>
              <dl class="facts">
                <div>
                  <dt>State</dt>
                  <dd data-testid="entity-state">
                    <StateBadge state={e.state} />
                    {e.stateChangedAt === null ? null : (
                      <small>
                        {' '}
                        since <Time iso={e.stateChangedAt} withRelative />
                      </small>
                    )}
                  </dd>
                </div>
                <div>
                  <dt>Risk score</dt>
                  <dd data-testid="entity-risk">{e.riskScore} / 100</dd>
                </div>
                <div>
                  <dt>Cooldown ends</dt>
                  <dd data-testid="entity-cooldown">{e.cooldownUntil === null ? 'No cooldown running' : <Time iso={e.cooldownUntil} withRelative />}</dd>
                </div>
                {kind === 'mailbox' ? (
                  <div>
                    <dt>Domain</dt>
                    <dd>
                      <a href={href('entities', 'domain', (e as Mailbox).domain)}>{(e as Mailbox).domain}</a>
                    </dd>
                  </div>
                ) : null}
              </dl>
              <h3>{e.state === 'paused' ? 'Pause reason' : 'Reason'}</h3>
              <p data-testid="entity-reason">{e.pauseReason ?? 'Nothing against it: no reason recorded.'}</p>
              {e.automationStopped === null ? null : (
                <p class="notice notice-warn" data-testid="automation-stopped">
                  <strong>Automation stopped</strong> <Time iso={e.automationStopped.at} />: {e.automationStopped.reason} Drason leaves it as it is until a person resumes or
                  pauses it.
                </p>
              )}
              {kind === 'mailbox' && (e as Mailbox).deletedExternally ? <p class="notice">This mailbox was removed from Smartlead: it no longer counts as a sender.</p> : null}
              <div class="entity-actions">
                {can(session, 'operator') ? <Override kind={kind} id={id} e={e} onDone={afterOverride} /> : null}
                {e.temporalUrl === null ? null : (
                  <a href={e.temporalUrl} target="_blank" rel="noopener noreferrer" data-testid="temporal-link">
                    Open in Temporal Web UI<span class="visually-hidden"> (opens in a new tab)</span>
                  </a>
                )}
                <a href={hrefWith(['audit'], { entityType: kind, entityId: id })} data-testid="entity-audit-link">
                  Audit log for this {kind}
                </a>
              </div>
            </section>
            {kind === 'domain' ? <DomainMailboxes d={e as Domain} /> : null}
            <section aria-labelledby="windows-title">
              <h2 id="windows-title">Rolling windows</h2>
              <WindowsTable e={e} />
              <p class="hint">
                Velocity (1h rate minus 24h rate; positive means getting worse): hard bounces {percent(e.velocity.hardBounceRate)}, failures {percent(e.velocity.failureRate)}.
              </p>
            </section>
            <BounceChart kind={kind} id={id} />
          </>
        )}
      </Show>
    </>
  );
}

function DomainMailboxes({ d }: { d: Domain }) {
  const degraded = new Set(d.degradedMailboxes);
  return (
    <section aria-labelledby="mailboxes-title">
      <h2 id="mailboxes-title">Mailboxes behind this domain's decision</h2>
      {d.degradedMailboxes.length === 0 ? (
        <p data-testid="degraded-none">No mailbox is behind a decision yet.</p>
      ) : (
        <ul data-testid="degraded-mailboxes">
          {d.degradedMailboxes.map((m) => (
            <li key={m}>
              <a href={href('entities', 'mailbox', m)}>{m}</a>
            </li>
          ))}
        </ul>
      )}
      <details>
        <summary>
          All {d.mailboxCount} mailbox{d.mailboxCount === 1 ? '' : 'es'} of {d.domain}
        </summary>
        <ul>
          {d.mailboxes.map((m) => (
            <li key={m}>
              <a href={href('entities', 'mailbox', m)}>{m}</a>
              {degraded.has(m) ? ' (behind the last decision)' : ''}
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}
