/**
 * The Express application: thin. It validates, authenticates, stores, and turns webhooks into signals.
 * No decision logic lives here (see src/domain).
 */
import crypto from 'node:crypto';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { httpRequests } from '../lib/metrics';
import type { ApiDeps } from './deps';
import { errorHandler, sendProblem } from './problem';
import { Routes } from './route';
import { mountHealth } from './routes/health';
import { mountOrganizations } from './routes/organizations';
import { mountEvents } from './routes/events';
import { mountAudit } from './routes/audit';

export function createApp(deps: ApiDeps): { app: Express; routes: Routes } {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(helmet());

  app.use((req, res, next) => {
    const given = req.header('x-request-id');
    const id = given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID();
    res.setHeader('x-request-id', id);
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
      httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  });
  app.use(express.json({ limit: '2mb', type: ['application/json', 'application/*+json'] }));

  const router = express.Router();
  mountHealth(router, deps);
  const routes = new Routes(router, deps);
  mountOrganizations(routes);
  mountEvents(routes);
  mountAudit(routes);
  const document = routes.document();
  router.get('/v1/openapi.json', (_req, res) => {
    res.json(document);
  });
  app.use(router);

  app.use((req, res) => {
    sendProblem(res, 404, 'not_found', `No route for ${req.method} ${req.path}.`);
  });
  app.use(errorHandler);
  return { app, routes };
}
