/**
 * Activities: every side effect a workflow needs, built by a factory from their dependencies so tests hand in
 * real or fake ones without module mocking. Each is idempotent: a retry after a crash changes nothing twice.
 */
import { withTenant } from '../db/tenant';
import { appendAudit, type NewAuditEntry } from '../db/repositories/audit';
import { ENGINE_VERSION } from '../domain/engineVersion';
import { createSmartleadActivities, type SmartleadActivityDeps } from './smartlead';

export type ActivityDeps = SmartleadActivityDeps;

export type RecordAuditInput = Omit<NewAuditEntry, 'engineVersion'> & { idempotencyKey: string };

export function createActivities(deps: ActivityDeps) {
  return {
    ...createSmartleadActivities(deps),
    /** Appends one audit row; a retry with the same idempotency key is a no-op. Returns whether it wrote. */
    async recordAudit(input: RecordAuditInput): Promise<boolean> {
      return withTenant(deps.db, input.organizationId, (tx) => appendAudit(tx, { ...input, engineVersion: ENGINE_VERSION }));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
