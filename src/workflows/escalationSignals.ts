/**
 * The signals campaign and domain workflows take (src/workflows/escalationWorkflow.ts), as the relay
 * (src/services/eventRelay.ts, the only code that signals entity workflows) delivers them from entity_commands.
 * They also take `override`, `applyRecommendation` and `settingsChanged` (src/workflows/mailboxSignals.ts): the same
 * names and payloads as a mailbox's.
 */
import { defineSignal } from '@temporalio/workflow';
import type { MailboxState } from '../domain/mailboxMachine';

/** A mailbox's state changed (stored by its act activity for its domain and each campaign it sends for). */
export interface MemberStateCommand {
  /** entity_commands.command_id. */
  commandId: string;
  /** Lower-case email. */
  mailbox: string;
  state: MailboxState;
  /** Paused by a person (a manual hold), not by the engine. */
  manual: boolean;
  /** When the mailbox entered the state (epoch ms). */
  at: number;
  /** The mailbox decision that changed it. */
  decisionId: string;
}

/** The Smartlead sync linked or unlinked mailboxes of a campaign: judge membership again. */
export interface MembershipChangedCommand {
  commandId: string;
  /** What changed, for the audit (e.g. `linked a@x.com; unlinked b@y.com`). */
  detail: string;
}

export const memberStateSignal = defineSignal<[MemberStateCommand]>('memberState');
export const membershipChangedSignal = defineSignal<[MembershipChangedCommand]>('membershipChanged');
