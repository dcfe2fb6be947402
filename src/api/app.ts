/**
 * The Express application: thin. It validates, authenticates, stores, and turns webhooks into signals.
 * No decision logic lives here (see src/domain).
 */
import crypto from 'node:crypto';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { componentLogger } from '../lib/logger';
import { collectSnapshotWith, httpRequestDuration, httpRequests, statusClass } from '../lib/metrics';
import { organizationOfLocals, runWithRequestContext } from '../lib/requestContext';
import { metricsSnapshot } from '../db/knex';
import { noSuchRoute } from './auth';
import type { ApiDeps } from './deps';
import { errorHandler, routeOf } from './problem';
import { failedAuthRateLimit } from './rateLimit';
import { Routes } from './route';
import { mountApiKeys } from './routes/apiKeys';
import { mountAudit } from './routes/audit';
import { defaultConsoleDir, mountConsoleApp, mountConsoleSession } from './routes/console';
import { mountEntities } from './routes/entities';
import { mountEvents } from './routes/events';
import { mountHealth } from './routes/health';
import { mountIntegrations } from './routes/integrations';
import { mountLeads } from './routes/leads';
import { mountOrganizations } from './routes/organizations';
import { mountSettings } from './routes/settings';
import { mountOverview } from './routes/overview';
import { mountOverrides } from './routes/overrides';
import { mountRecommendations } from './routes/recommendations';
import { mountRouting } from './routes/routing';
import { mountSeries } from './routes/series';
import { mountSmartleadWebhook } from './routes/smartleadWebhook';
import { mountSources } from './routes/sources';

const log = componentLogger('http');

/** A client's x-request-id is echoed when it is printable ASCII of at most 200 characters; otherwise one is made. */
export function acceptableRequestId(given: string | undefined): given is string {
  return given !== undefined && /^[\x20-\x7e]{1,200}$/.test(given) && given.trim() !== '';
}

export interface AppOptions {
  /** Where the built console is (default dist/console under the project root). */
  consoleDir?: string;
}

export function createApp(deps: ApiDeps, options: AppOptions = {}): { app: Express; routes: Routes } {
  const app = express();
  // The backlog and lead gauges of /metrics are read from this process's database at each scrape.
  collectSnapshotWith(() => metricsSnapshot(deps.db));
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());

  app.use((req, res, next) => {
    const given = req.header('x-request-id');
    const id = acceptableRequestId(given) ? given : crypto.randomUUID();
    res.setHeader('x-request-id', id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The route pattern, never the URL: paths can carry secrets (webhook tokens) and personal data (emails).
      const route = routeOf(req);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      httpRequestDuration.observe({ method: req.method, route, status_class: statusClass(res.statusCode) }, seconds);
      const organizationId = organizationOfLocals(res.locals);
      log.http('request', { method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000), requestId: id, ...(organizationId === undefined ? {} : { organizationId }) });
    });
    // Every log line written while serving this request carries its id and, once authenticated, its organization.
    runWithRequestContext(
      {
        requestId: id,
        get organizationId() {
          return organizationOfLocals(res.locals);
        },
      },
      next,
    );
  });
  // JSON bodies are parsed per route, after authentication, with each route's own size limit (src/api/route.ts).

  const router = express.Router();
  mountHealth(router, deps);
  const routes = new Routes(router, deps);
  // Ingestion first: it is most of the traffic, and the router tries routes in order.
  mountEvents(routes);
  mountSmartleadWebhook(routes);
  mountLeads(routes);
  mountOrganizations(routes);
  mountApiKeys(routes);
  mountSettings(routes);
  mountRouting(routes);
  mountIntegrations(routes);
  mountOverview(routes);
  mountEntities(routes);
  mountSeries(routes);
  mountOverrides(routes);
  mountRecommendations(routes);
  mountSources(routes);
  mountAudit(routes);
  mountConsoleSession(routes, deps.rateLimits);
  const document = routes.document();
  router.get('/v1/openapi.json', (_req, res) => {
    res.json(document);
  });
  app.use(router);
  mountConsoleApp(app, options.consoleDir ?? defaultConsoleDir());

  app.use((req, _res, next) => {
    next(noSuchRoute(req));
  });
  // After authentication has failed, never before: a valid key or webhook token is not refused for others' failures.
  app.use(failedAuthRateLimit(deps.rateLimits));
  app.use(errorHandler);
  return { app, routes };
}
