/**
 * What every entity workflow (mailbox, campaign, domain) runs the same way: its local activities, the queue that
 * carries out decisions one at a time beside the main loop, and the log of command ids already taken. Workflow code:
 * deterministic, no I/O.
 */
import { condition, log, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { Trigger } from '../domain/mailboxMachine';
import { applyRecommendationSignal, overrideSignal, settingsChangedSignal } from './mailboxSignals';

type Activities = ReturnType<typeof createActivities>;

export const READ_RETRY = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute' } as const;

/**
 * Reading a decision's input and writing a batch's audit row are short, idempotent database calls: as local
 * activities they run inside the workflow task that handles the signal (one server round trip a batch instead of
 * five, and about half the history events). See docs/decisions/010-event-pipeline.md.
 */
export const localActivities = proxyLocalActivities<Activities>({ startToCloseTimeout: '30 seconds', localRetryThreshold: '10 seconds', retry: READ_RETRY });

/**
 * Carries out queued decisions one at a time, in order, beside the main loop, so an action Temporal keeps retrying
 * (a Smartlead outage) never stops the workflow from taking signals and deciding. The head of the queue is in flight.
 */
export function carryOutInOrder<T>(queue: T[], act: (item: T) => Promise<unknown>, describe: (item: T) => Record<string, unknown>): void {
  void (async () => {
    for (;;) {
      await condition(() => queue.length > 0);
      const next = queue[0]!;
      try {
        await act(next);
      } catch (error) {
        // Only a failure the activity could not classify ends up here (its retries never stop otherwise).
        log.error('a decision could not be carried out', { ...describe(next), error: String(error) });
      }
      queue.shift();
    }
  })();
}

/** Command ids already taken (the last `max`): a redelivered command is acted on once. */
export class CommandLog {
  constructor(
    private ids: string[],
    private readonly max: number,
  ) {}

  /** True the first time a command id is seen. */
  take(commandId: string): boolean {
    if (this.ids.includes(commandId)) return false;
    this.ids = [...this.ids, commandId].slice(-this.max);
    return true;
  }

  get seen(): string[] {
    return this.ids;
  }
}

/** A person's command taken from a signal and not yet decided. */
export type InboxItem = Extract<Trigger, { kind: 'override' | 'recommendation_applied' }>;

/**
 * The handlers of what people send every entity: `override` and `applyRecommendation` (each command once, into
 * `inbox`) and `settingsChanged` (the newest version, to `onSettings`).
 */
export function takePeoplesCommands(commands: CommandLog, inbox: InboxItem[], onSettings: (version: number) => void): void {
  setHandler(overrideSignal, (c) => {
    if (commands.take(c.commandId)) inbox.push({ kind: 'override', action: c.action, reason: c.reason, actor: c.actor, commandId: c.commandId });
  });
  setHandler(applyRecommendationSignal, (c) => {
    if (commands.take(c.commandId)) inbox.push({ kind: 'recommendation_applied', decisionId: c.decisionId, recommendationId: c.recommendationId, actor: c.actor });
  });
  setHandler(settingsChangedSignal, ({ version }) => onSettings(version));
}
