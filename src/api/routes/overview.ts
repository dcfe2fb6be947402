/** GET /v1/overview: the organization at a glance (viewer). */
import { z } from 'zod';
import { currentSettings } from '../../db/repositories/settings';
import { readOverview } from '../../db/repositories/overview';
import { withTenant } from '../../db/tenant';
import { authOf } from '../auth';
import type { Routes } from '../route';

const Paused = (key: string) => z.array(z.object({ [key]: z.string(), pauseReason: z.string().nullable() }).passthrough());
const OverviewSchema = z
  .object({
    leads: z.object({ held: z.number().int(), active: z.number().int(), paused: z.number().int(), completed: z.number().int() }),
    unrouted: z.number().int().describe('Held leads that no routing rule matches.'),
    pausedDomains: Paused('domain'),
    pausedMailboxes: Paused('email'),
    pausedCampaigns: Paused('campaignId'),
    mode: z.enum(['observe', 'suggest', 'enforce']),
    integrations: z.object({
      smartlead: z.object({ status: z.enum(['configured', 'broken', 'not_configured']), brokenReason: z.string().nullable() }),
    }),
    attention: z.array(z.string()).describe('Plain-English problems a person should act on.'),
  })
  .openapi('Overview');

export function mountOverview(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/overview',
    summary: 'Lead counts, paused domains/mailboxes/campaigns, mode, integration health and what needs attention.',
    tags: ['entities'],
    access: 'viewer',
    responses: { 200: { description: 'Overview', schema: OverviewSchema } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      const body = await withTenant(deps.db, organizationId, async (tx) => ({ ...(await readOverview(tx)), mode: (await currentSettings(tx)).mode }));
      res.json(body);
    },
  });
}
