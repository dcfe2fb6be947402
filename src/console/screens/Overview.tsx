/** Overview (PRD §13.1): lead counts, why held leads wait, what is paused and why, and what needs a person. */
import { request } from '../api';
import { PageTitle, Show, StateBadge, Time, useLoad } from '../components/common';
import { count, formatTime } from '../format';
import { href } from '../router';
import type { EngineFields, Overview } from '../types';
import { MODE_CONSEQUENCE } from './Settings';

function LeadCounts({ o }: { o: Overview }) {
  const cells: [string, number, string][] = [
    ['Active', o.leads.active, 'in a campaign and sending'],
    ['Held', o.leads.held, 'waiting for the gate or a rule'],
    ['Paused', o.leads.paused, 'held back by a paused mailbox, campaign or domain'],
    ['Completed', o.leads.completed, 'replied, unsubscribed or finished'],
  ];
  return (
    <section aria-labelledby="leads-title">
      <h2 id="leads-title">Leads</h2>
      <div class="stats">
        {cells.map(([label, n, hint]) => (
          <article key={label} class="stat" data-testid={`leads-${label.toLowerCase()}`}>
            <p class="stat-number">{count(n)}</p>
            <p class="stat-label">
              <strong>{label}</strong>
              <br />
              <small>{hint}</small>
            </p>
          </article>
        ))}
      </div>
    </section>
  );
}

function HeldReasons({ o }: { o: Overview }) {
  return (
    <section aria-labelledby="held-title">
      <h2 id="held-title">Why leads are held</h2>
      <p data-testid="unrouted">
        <strong>{count(o.unrouted)}</strong> held lead{o.unrouted === 1 ? '' : 's'} match no routing rule
        {o.unrouted > 0 ? (
          <>
            {' '}
            — <a href={href('routing')}>review the routing rules</a>
          </>
        ) : null}
        .
      </p>
      {o.heldReasons.length === 0 ? (
        <p>No lead is held.</p>
      ) : (
        <div class="table-scroll" tabIndex={0} role="region" aria-label="Held leads by reason">
          <table class="striped">
            <thead>
              <tr>
                <th scope="col">Campaign</th>
                <th scope="col">Reason</th>
                <th scope="col">Leads</th>
              </tr>
            </thead>
            <tbody>
              {o.heldReasons.map((h, i) => (
                <tr key={`${h.campaignId ?? 'unrouted'}-${i}`} data-testid="held-reason">
                  <td>{h.campaignId === null ? <em>Unrouted</em> : h.campaignId}</td>
                  <td>{h.reason}</td>
                  <td>{count(h.leads)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function PausedList({ title, kind, testId, items }: { title: string; kind: 'domain' | 'mailbox'; testId: string; items: (EngineFields & { id: string })[] }) {
  if (items.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul class="entity-list">
        {items.map((e) => (
          <li key={e.id} data-testid={testId}>
            <a href={href('entities', kind, e.id)}>{e.id}</a> <StateBadge state={e.state} />
            <p>{e.pauseReason ?? 'No reason recorded.'}</p>
            {e.cooldownUntil === null ? null : (
              <p>
                <small>
                  Cooldown ends <Time iso={e.cooldownUntil} withRelative />
                </small>
              </p>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

function Paused({ o }: { o: Overview }) {
  const total = o.pausedDomains.length + o.pausedMailboxes.length + o.pausedCampaigns.length;
  return (
    <section aria-labelledby="paused-title">
      <h2 id="paused-title">Paused</h2>
      {total === 0 ? <p>Nothing is paused.</p> : null}
      <PausedList title="Domains" kind="domain" testId="paused-domain" items={o.pausedDomains.map((d) => ({ ...d, id: d.domain }))} />
      <PausedList title="Mailboxes" kind="mailbox" testId="paused-mailbox" items={o.pausedMailboxes.map((m) => ({ ...m, id: m.email }))} />
      {o.pausedCampaigns.length === 0 ? null : (
        <>
          <h3>Campaigns</h3>
          <ul class="entity-list">
            {o.pausedCampaigns.map((c) => (
              <li key={c.campaignId} data-testid="paused-campaign">
                <strong>{c.name}</strong> <small>(campaign {c.campaignId}, Smartlead status {c.status})</small> <StateBadge state={c.state} />
                <p>{c.pauseReason ?? (c.holds[0]?.reason || 'No reason recorded.')}</p>
                {c.holds.length === 0 ? null : (
                  <ul>
                    {c.holds.map((h) => (
                      <li key={`${h.holder}-${h.since}`}>
                        Held by {h.holder}: {h.reason} (since <Time iso={h.since} />
                        {h.applied ? '' : ', not yet confirmed by Smartlead'})
                      </li>
                    ))}
                  </ul>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}

function Attention({ o }: { o: Overview }) {
  const integration = o.integrations.smartlead;
  const items: { key: string; text: string; link?: { to: string; label: string } }[] = [];
  if (integration.status === 'broken') items.push({ key: 'integration', text: `The Smartlead integration is broken: ${integration.brokenReason ?? 'no reason given'}.` });
  if (integration.status === 'not_configured') items.push({ key: 'integration', text: 'Smartlead is not connected yet: Drason cannot sync campaigns, push leads or pause anything.' });
  for (const s of o.quarantinedSources) items.push({ key: `source-${s.source}`, text: `Source "${s.source}" is quarantined since ${formatTime(s.since)}: ${s.reason}` });
  for (const a of o.automationStopped) {
    const link = a.entityType === 'campaign' ? undefined : { to: href('entities', a.entityType, a.entityId), label: `Open ${a.entityType}` };
    items.push({ key: `stopped-${a.entityType}-${a.entityId}`, text: `Automation stopped for ${a.entityType} ${a.entityId}: ${a.reason}`, ...(link === undefined ? {} : { link }) });
  }
  const seen = new Set(items.map((i) => i.text));
  o.attention.forEach((text, i) => {
    if (!seen.has(text)) items.push({ key: `attention-${i}`, text });
  });
  return (
    <section aria-labelledby="attention-title">
      <h2 id="attention-title">Needs attention</h2>
      {items.length === 0 ? (
        <p data-testid="attention-none">Nothing needs attention.</p>
      ) : (
        <ul class="attention">
          {items.map((item) => (
            <li key={item.key} data-testid="attention-item">
              {item.text}
              {item.link === undefined ? null : (
                <>
                  {' '}
                  <a href={item.link.to}>{item.link.label}</a>
                </>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

export function OverviewScreen() {
  const loaded = useLoad(() => request<Overview>('/v1/overview'), []);
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <Show loaded={loaded} what="the overview">
        {(o) => (
          <>
            <p class="mode-line" data-testid="mode">
              Mode: <strong>{o.mode}</strong> — {MODE_CONSEQUENCE[o.mode]}
            </p>
            <Attention o={o} />
            <LeadCounts o={o} />
            <HeldReasons o={o} />
            <Paused o={o} />
          </>
        )}
      </Show>
    </>
  );
}
