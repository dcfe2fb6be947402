/**
 * Activities: every side effect a workflow needs, built by a factory from their dependencies so tests hand in
 * real or fake ones without module mocking. Each is idempotent: a retry after a crash changes nothing twice.
 */
import { withTenant } from '../db/tenant';
import { appendAudit, type NewAuditEntry } from '../db/repositories/audit';
import { readBuckets } from '../db/repositories/counters';
import { ENGINE_VERSION } from '../domain/engineVersion';
import { summarizeWindows, type WindowSummary } from '../domain/rollingWindows';
import { normalizeEmail } from '../workflows/ids';
import { createEscalationActivities } from './escalation';
import { createLeadLifecycleActivities } from './leadLifecycle';
import { createLeadPipelineActivities } from './leadPipeline';
import { createMailboxEngineActivities } from './mailboxEngine';
import { createSmartleadActivities, type SmartleadActivityDeps } from './smartlead';
import { createSourceQualityActivities } from './sourceQuality';

export type ActivityDeps = SmartleadActivityDeps;

export type RecordAuditInput = Omit<NewAuditEntry, 'engineVersion'> & { idempotencyKey: string };

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmartleadActivities(deps),
    ...createMailboxEngineActivities(deps),
    ...createEscalationActivities(deps),
    ...createLeadPipelineActivities(deps),
    ...createLeadLifecycleActivities(deps),
    ...createSourceQualityActivities(deps),
    /** Appends one audit row; a retry with the same idempotency key is a no-op. Returns whether it wrote. */
    async recordAudit(input: RecordAuditInput): Promise<boolean> {
      // One statement (it scopes itself to the organization): no transaction around it.
      return appendAudit(deps.db, { ...input, engineVersion: ENGINE_VERSION });
    },
    /** The mailbox's 1h / 24h / 7d windows and velocity now, from the counters the relay keeps. Read-only. */
    async readMailboxWindows(input: { organizationId: string; mailbox: string }): Promise<WindowSummary> {
      const key = normalizeEmail(input.mailbox);
      const now = Date.now();
      const buckets = await withTenant(deps.db, input.organizationId, (tx) => readBuckets(tx, 'mailbox', [key], now));
      return summarizeWindows({ buckets: buckets.get(key) ?? [] }, now);
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
