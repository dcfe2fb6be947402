/**
 * The signals a mailbox workflow takes besides `bounces` (src/workflows/mailboxWorkflow.ts), as the relay
 * (src/services/eventRelay.ts, the only code that signals entity workflows) sends them. The API never signals: it
 * stores a command (entity_commands, migration 006) and the relay delivers it, so a request never waits for Temporal.
 * Ops may send the same signals with `temporal workflow signal` (README, "Manual overrides").
 */
import { defineSignal } from '@temporalio/workflow';

export interface OverrideCommand {
  /** entity_commands.command_id: the workflow acts on each command once, however often it is delivered. */
  commandId: string;
  action: 'pause' | 'resume';
  reason: string;
  /** Who asked, as the audit log names them: e.g. `api-key:ops (3f2a…)` or `temporal-cli:alice`. */
  actor: string;
  /** Epoch ms when the command was stored. */
  requestedAt: number;
}

export interface ApplyRecommendationCommand {
  commandId: string;
  recommendationId: string;
  /** The decision the recommendation came from (recommendations.decision_id). */
  decisionId: string;
  actor: string;
  requestedAt: number;
}

export interface SettingsChangedCommand {
  /** The organization's new settings version; the workflow re-decides at once with it. */
  version: number;
}

/** A manual pause or resume: obeyed in every mode; a manual pause holds until a manual resume. */
export const overrideSignal = defineSignal<[OverrideCommand]>('override');
/** An operator applied a suggest-mode recommendation (POST /v1/recommendations/:id/apply). */
export const applyRecommendationSignal = defineSignal<[ApplyRecommendationCommand]>('applyRecommendation');
/** The organization's settings changed: decide again now, with the new version. */
export const settingsChangedSignal = defineSignal<[SettingsChangedCommand]>('settingsChanged');
