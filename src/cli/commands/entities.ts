/**
 * `drason mailboxes|domains|campaigns show <id>` (viewer key): the entity's state, risk score, reason, cooldown end,
 * windows and Temporal link, from GET /v1/mailboxes/:email and its siblings. `… pause|resume <id> --reason "…"`
 * (operator key): the public API's override endpoints, which store the command for the relay to deliver to the
 * entity's workflow; the workflow acts on it and writes the audit entry naming the reason.
 */
import type { Command } from 'commander';
import { organizationApi, type Json } from '../api';
import { action, withApiOptions } from '../command';
import type { ApiFlags } from '../config';
import { UsageError } from '../errors';
import { fields, percent, table, type Outcome } from '../output';

interface EntityKind {
  /** Command group and API collection: mailboxes → /v1/mailboxes. */
  group: 'mailboxes' | 'domains' | 'campaigns';
  noun: 'Mailbox' | 'Domain' | 'Campaign';
  /** The argument naming one entity. */
  argument: string;
  argumentHelp: string;
}

const KINDS: EntityKind[] = [
  { group: 'mailboxes', noun: 'Mailbox', argument: '<email>', argumentHelp: 'the mailbox email (case-insensitive)' },
  { group: 'domains', noun: 'Domain', argument: '<domain>', argumentHelp: 'the sending domain (case-insensitive)' },
  { group: 'campaigns', noun: 'Campaign', argument: '<id>', argumentHelp: "Smartlead's campaign id" },
];

const windowRow = (name: string, w: Json, r: Json): string[] => [
  name,
  String(w.sent),
  `${w.hardBounces} (${percent(r.hardBounceRate)})`,
  `${w.failures} (${percent(r.failureRate)})`,
  String(w.reputationBlocks),
];

/** The entity as a few readable lines: one sentence, its fields, its windows. */
export function describeEntity(kind: EntityKind, id: string, e: Json): string {
  const lines: [string, string][] = [
    ['Reason', e.pauseReason ?? 'none'],
    ['Cooldown until', e.cooldownUntil ?? 'none'],
    ['State changed', e.stateChangedAt ?? 'never'],
  ];
  if (e.automationStopped != null) lines.push(['Automation stopped', `${e.automationStopped.at}: ${e.automationStopped.reason}`]);
  if (kind.group === 'campaigns') {
    lines.unshift(['Name', e.name], ['Smartlead status', e.status]);
    lines.push(['Holds', e.holds.length === 0 ? 'none' : e.holds.map((h: Json) => `${h.holder} since ${h.since}${h.applied ? '' : ' (not applied yet)'}: ${h.reason}`).join('; ')]);
  }
  if (kind.group !== 'mailboxes') {
    lines.push(['Mailboxes', `${e.mailboxCount}${e.mailboxes.length === 0 ? '' : `: ${e.mailboxes.join(', ')}`}`]);
    lines.push(['Degraded mailboxes', e.degradedMailboxes.length === 0 ? 'none' : e.degradedMailboxes.join(', ')]);
  }
  if (e.deletedExternally === true) lines.push(['Deleted in Smartlead', 'yes']);
  lines.push(['Workflow', e.workflowId], ['Temporal', e.temporalUrl ?? 'no Web UI address configured (TEMPORAL_UI_URL)']);
  const windows = table([['window', 'sent', 'hard bounces', 'failures', 'reputation blocks'], ...(['1h', '24h', '7d'] as const).map((w) => windowRow(w, e.windows[w], e.rates[w]))], '  ');
  return `${kind.noun} ${id} is ${e.state} (risk score ${e.riskScore}).\n${fields(lines)}\n${windows}`;
}

function entityCommands(program: Command, kind: EntityKind): void {
  const group = program.command(kind.group).description(`${kind.group[0]!.toUpperCase()}${kind.group.slice(1)}: show one, or pause or resume one by hand.`);
  const path = (id: string): string => `/v1/${kind.group}/${encodeURIComponent(id)}`;

  withApiOptions(group.command('show').argument(kind.argument, kind.argumentHelp))
    .description(`Show a ${kind.noun.toLowerCase()}'s state, risk score, reason, cooldown end, windows and Temporal link (viewer key).`)
    .action(
      action(async ([id], flags: ApiFlags): Promise<Outcome> => {
        const entity: Json = await organizationApi(flags).call('GET', path(id!));
        return { json: entity, text: describeEntity(kind, id!, entity) };
      }),
    );

  for (const verb of ['pause', 'resume'] as const) {
    withApiOptions(group.command(verb).argument(kind.argument, kind.argumentHelp))
      .description(
        verb === 'pause'
          ? `Pause a ${kind.noun.toLowerCase()} by hand (operator key, every mode): it stays paused until a manual resume.`
          : `Resume a ${kind.noun.toLowerCase()} by hand (operator key): probation judges only what it sends from then on.`,
      )
      .requiredOption('--reason <text>', 'why, in words (it appears in the audit log)')
      .action(
        action(async ([id], flags: ApiFlags & { reason: string }): Promise<Outcome> => {
          if (flags.reason.trim() === '') throw new UsageError('--reason must not be empty');
          const accepted: Json = await organizationApi(flags).call('POST', `${path(id!)}/override`, { action: verb, reason: flags.reason });
          return {
            json: { ...accepted, action: verb, [kind.group]: id },
            text: `${verb === 'pause' ? 'Pause' : 'Resume'} of ${kind.noun.toLowerCase()} ${id} accepted (command ${accepted.commandId}): the relay delivers it to the workflow, which acts on it and writes the audit entry with your reason. See it with \`drason ${kind.group} show ${id}\`.`,
          };
        }),
      );
  }
}

export function entityCommandGroups(program: Command): void {
  for (const kind of KINDS) entityCommands(program, kind);
}
