/**
 * GET /v1/mailboxes/:email/series, /v1/domains/:domain/series and /v1/campaigns/:campaignId/series (viewer): sends,
 * hard bounces and delivery failures over time, for the console's charts, from the window counters
 * (src/db/repositories/series.ts). `?window=24h` gives 96 buckets of 15 minutes, `?window=7d` (the default) 168
 * buckets of one hour; buckets are aligned to their width in UTC, oldest first, the last one still filling, and every
 * bucket is present (zeros when nothing was counted). Rates are null when nothing was sent in the bucket.
 * An entity this organization does not have is a 404, like its detail endpoint (./entities.ts).
 */
import { z } from 'zod';
import { entityKeyOf, type MonitoredEntityType } from '../../db/repositories/entities';
import { readSeries } from '../../db/repositories/series';
import { withTenant } from '../../db/tenant';
import { NotFoundError } from '../../lib/errors';
import { authOf } from '../auth';
import type { Routes } from '../route';
import { ENTITY_PATHS } from './entities';

export const SERIES_WINDOWS = {
  '24h': { bucketMinutes: 15, count: 96 },
  '7d': { bucketMinutes: 60, count: 168 },
} as const;
type SeriesWindow = keyof typeof SERIES_WINDOWS;

const SeriesQuery = z.object({
  window: z
    .enum(Object.keys(SERIES_WINDOWS) as [SeriesWindow, ...SeriesWindow[]])
    .default('7d')
    .describe('24h: 96 buckets of 15 minutes; 7d (default): 168 buckets of one hour.'),
});

const rate = (description: string) => z.number().nullable().describe(`${description} per send in the bucket; null when nothing was sent.`);

const SeriesSchema = z
  .object({
    entity: z.object({
      type: z.enum(['mailbox', 'domain', 'campaign']),
      id: z.string().describe('Mailbox email or domain name (lower-case), or Smartlead campaign id: how the counters name it.'),
    }),
    window: z.enum(['24h', '7d']),
    bucketMinutes: z.number().int().describe('Width of each bucket.'),
    points: z
      .array(
        z.object({
          start: z.string().describe('Start of the bucket (ISO-8601, UTC, aligned to the bucket width).'),
          sent: z.number().int(),
          hardBounces: z.number().int(),
          failures: z.number().int().describe('Delivery failures.'),
          hardBounceRate: rate('Hard bounces'),
          failureRate: rate('Delivery failures'),
        }),
      )
      .describe('Oldest first; the last bucket holds the current time and is still filling.'),
  })
  .openapi('Series');

export function mountSeries(routes: Routes): void {
  for (const entityType of ['mailbox', 'domain', 'campaign'] as const satisfies readonly MonitoredEntityType[]) {
    const e = ENTITY_PATHS[entityType];
    routes.add({
      method: 'get',
      path: `${e.path}/:${e.param}/series`,
      summary: `The ${e.noun}'s sends, hard bounces and delivery failures over the last 24 hours (15-minute buckets) or 7 days (hourly), zero-filled, with rates: for charts.`,
      tags: ['entities'],
      access: 'viewer',
      params: z.object({ [e.param]: e.paramSchema }),
      query: SeriesQuery,
      responses: { 200: { description: `The ${e.noun}'s series`, schema: SeriesSchema } },
      handler: async ({ params, query, res, deps }) => {
        const { organizationId } = authOf(res);
        const id = params[e.param] ?? '';
        const window = SERIES_WINDOWS[query.window];
        const found = await withTenant(deps.db, organizationId, async (tx) => {
          const key = await entityKeyOf(tx, entityType, id);
          return key === undefined ? undefined : { key, buckets: await readSeries(tx, entityType, key, { ...window, nowMs: Date.now() }) };
        });
        if (found === undefined) throw new NotFoundError(`There is no ${e.noun} ${id} in this organization.`);
        const body: z.infer<typeof SeriesSchema> = {
          entity: { type: entityType, id: found.key },
          window: query.window,
          bucketMinutes: window.bucketMinutes,
          points: found.buckets.map((b) => ({
            start: b.start.toISOString(),
            sent: b.sent,
            hardBounces: b.hardBounces,
            failures: b.failures,
            hardBounceRate: b.sent === 0 ? null : b.hardBounces / b.sent,
            failureRate: b.sent === 0 ? null : b.failures / b.sent,
          })),
        };
        res.json(body);
      },
    });
  }
}
