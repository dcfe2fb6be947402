/**
 * Versioned organization settings: one append-only row per version; the current settings are the highest version.
 * organizations.mode mirrors the current version's mode (it is what audit rows and workflows read cheaply).
 */
import type { Tx } from '../tenant';
import { DEFAULT_MODE, DEFAULT_THRESHOLDS } from '../../domain/defaultSettings';
import { thresholdsSchema, type Settings } from '../../domain/settings';

export interface VersionedSettings extends Settings {
  version: number;
  updatedAt: string | null;
}

export async function insertSettingsVersion(tx: Tx, organizationId: string, version: number, settings: Settings, actor: string): Promise<void> {
  await tx('organization_settings').insert({
    organization_id: organizationId,
    version,
    mode: settings.mode,
    thresholds: JSON.stringify(settings.thresholds),
    actor,
  });
}

/**
 * The current organization's settings. `lock` serialises concurrent updates on the organization row.
 * An organization without a settings row (impossible after migration 002) reads as the defaults, version 1.
 */
export async function currentSettings(tx: Tx, options: { lock?: boolean } = {}): Promise<VersionedSettings> {
  if (options.lock === true) await tx.raw('select 1 from organizations where id = drason_current_org() for update');
  const row = (await tx('organization_settings').orderBy('version', 'desc').first('version', 'mode', 'thresholds', { createdAt: 'created_at' })) as StoredSettingsRow | undefined;
  return settingsFromRow(row);
}

/** A stored settings version as read (by `currentSettings`, or in one round trip by `readDecisionInput`). */
export interface StoredSettingsRow {
  version: number;
  mode: Settings['mode'];
  thresholds: unknown;
  createdAt: Date | string;
}

/**
 * The settings a stored row means. No row (impossible after migration 002) reads as the defaults, version 1.
 * Stored thresholds were validated on the way in; parsing again guards against hand edits. Versions stored before a
 * threshold existed (e.g. reputationRate, maxCooldownMinutes) read it as its default.
 */
export function settingsFromRow(row: StoredSettingsRow | undefined | null): VersionedSettings {
  if (row === undefined || row === null) return { version: 1, mode: DEFAULT_MODE, thresholds: DEFAULT_THRESHOLDS, updatedAt: null };
  const stored = typeof row.thresholds === 'object' && row.thresholds !== null ? row.thresholds : {};
  return { version: row.version, mode: row.mode, thresholds: thresholdsSchema.parse({ ...DEFAULT_THRESHOLDS, ...stored }), updatedAt: new Date(row.createdAt).toISOString() };
}

/** Writes `settings` as the next version and mirrors the mode onto the organization. Call with the lock held. */
export async function saveNextSettingsVersion(tx: Tx, organizationId: string, previousVersion: number, settings: Settings, actor: string): Promise<number> {
  const version = previousVersion + 1;
  await insertSettingsVersion(tx, organizationId, version, settings, actor);
  await tx('organizations').where({ id: organizationId }).update({ mode: settings.mode });
  return version;
}
