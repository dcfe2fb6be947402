/** Platform bootstrap: the platform admin creates an organization and receives its first admin key. */
import { z } from 'zod';
import { createOrganizationWithAdminKey } from '../../db/repositories/organizations';
import { withTenant } from '../../db/tenant';
import { appendAudit } from '../../db/repositories/audit';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import type { Routes } from '../route';

const CreateOrganization = z.object({ name: z.string().trim().min(1).max(200) }).strict().openapi('CreateOrganization');
const CreatedOrganization = z
  .object({
    organization: z.object({ id: z.uuid(), name: z.string(), mode: z.enum(['observe', 'suggest', 'enforce']) }),
    apiKey: z.object({ id: z.uuid(), key: z.string(), role: z.literal('admin') }),
  })
  .openapi('CreatedOrganization');

export function mountOrganizations(routes: Routes): void {
  routes.add({
    method: 'post',
    path: '/v1/organizations',
    summary: 'Create an organization (platform admin token). Returns its first admin key, shown once.',
    tags: ['platform'],
    access: 'platform',
    body: CreateOrganization,
    responses: { 201: { description: 'Created', schema: CreatedOrganization } },
    handler: async ({ body, res, deps }) => {
      const created = await createOrganizationWithAdminKey(deps.db, body.name);
      await withTenant(deps.db, created.organization.id, (tx) =>
        appendAudit(tx, {
          organizationId: created.organization.id,
          entityType: 'organization',
          entityId: created.organization.id,
          action: 'organization_created',
          actor: 'platform-admin',
          message: `Organization "${body.name}" was created in observe mode with one admin API key; Drason will take no automated action until the mode is changed.`,
          engineVersion: ENGINE_VERSION,
        }),
      );
      res.status(201).json(created);
    },
  });
}
