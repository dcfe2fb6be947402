/**
 * GET / PUT /v1/settings (admin): the organization's mode and thresholds. PUT is a partial update, validated as a
 * whole; every accepted change is a new settings version and an audit row saying, in plain English, what changed
 * from what to what. A mode change gets its own audit row, because it changes what Drason is allowed to do. The same
 * transaction stores a settings_changed command: the relay tells every mailbox workflow whose decision could change,
 * and each decides again with the new version.
 */
import { z } from 'zod';
import { appendAudit } from '../../db/repositories/audit';
import { enqueueCommand, enqueueLeadsChanged } from '../../db/repositories/commands';
import { campaignsWithHeldLeads } from '../../db/repositories/leads';
import { getApiKey } from '../../db/repositories/organizations';
import { currentSettings, saveNextSettingsVersion, type VersionedSettings } from '../../db/repositories/settings';
import { withTenant } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { applySettingsPatch, describeModeChange, describeSettingsChange, MODES, settingsPatchSchema, thresholdsSchema } from '../../domain/settings';
import { ValidationError } from '../../lib/errors';
import { actorOf, authOf } from '../auth';
import type { SettingsChangedCommand } from '../../workflows/mailboxSignals';
import type { Routes } from '../route';

const SettingsSchema = z
  .object({
    mode: z.enum(MODES),
    settingsVersion: z.number().int(),
    thresholds: thresholdsSchema,
    updatedAt: z.string().nullable(),
  })
  .openapi('Settings');

const toResponse = (s: VersionedSettings): z.infer<typeof SettingsSchema> => ({
  mode: s.mode,
  settingsVersion: s.version,
  thresholds: s.thresholds,
  updatedAt: s.updatedAt,
});

export function mountSettings(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/settings',
    summary: "The organization's current mode and thresholds, with their version.",
    tags: ['administration'],
    access: 'admin',
    responses: { 200: { description: 'Current settings', schema: SettingsSchema } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      res.json(toResponse(await withTenant(deps.db, organizationId, (tx) => currentSettings(tx))));
    },
  });

  routes.add({
    method: 'put',
    path: '/v1/settings',
    summary: 'Change some settings (partial update). Each change is audited and bumps settingsVersion; an update that changes nothing does neither.',
    tags: ['administration'],
    access: 'admin',
    bodyLimit: '16kb',
    body: settingsPatchSchema,
    responses: { 200: { description: 'The settings after the update', schema: SettingsSchema } },
    handler: async ({ body, res, deps }) => {
      const auth = authOf(res);
      const after = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const before = await currentSettings(tx, { lock: true });
        const result = applySettingsPatch(before, body);
        if (!result.ok) throw new ValidationError('The settings would be inconsistent.', result.problems);
        if (result.changes.length === 0) return before;
        const version = await saveNextSettingsVersion(tx, auth.organizationId, before.version, result.settings, actorOf(auth));
        const name = (await getApiKey(tx, auth.keyId))?.name;
        const who = name === undefined ? `API key ${auth.keyId}` : `API key "${name}"`;
        const common = { organizationId: auth.organizationId, actor: actorOf(auth), engineVersion: ENGINE_VERSION, settingsVersion: version, mode: result.settings.mode };
        await appendAudit(tx, {
          ...common,
          entityType: 'settings',
          entityId: auth.organizationId,
          action: 'settings_changed',
          trigger: {
            signals: result.changes.map((c) => c.path),
            before: Object.fromEntries(result.changes.map((c) => [c.path, c.before])),
            after: Object.fromEntries(result.changes.map((c) => [c.path, c.after])),
          },
          message: describeSettingsChange(version, who, result.changes),
        });
        if (result.settings.mode !== before.mode) {
          await appendAudit(tx, {
            ...common,
            entityType: 'organization',
            entityId: auth.organizationId,
            action: 'mode_changed',
            trigger: { before: before.mode, after: result.settings.mode },
            message: describeModeChange(before.mode, result.settings.mode, who),
          });
          // What the gate may do changed: every campaign with held leads takes another pass.
          await enqueueLeadsChanged(tx, auth.organizationId, await campaignsWithHeldLeads(tx), 'mode_changed', actorOf(auth));
        }
        // One command per change; the relay fans it out to the mailboxes whose decision it could change.
        const payload = (): SettingsChangedCommand => ({ version });
        await enqueueCommand(tx, { organizationId: auth.organizationId, entityType: 'organization', entityKey: auth.organizationId, kind: 'settings_changed', actor: actorOf(auth), payload });
        return { ...result.settings, version, updatedAt: new Date().toISOString() };
      });
      deps.relayWaker.poke();
      res.json(toResponse(after));
    },
  });
}
