/** Operations endpoints: liveness, readiness (Postgres and Temporal reachable) and Prometheus metrics. */
import type { Router } from 'express';
import { pingDb } from '../../db/knex';
import { registry } from '../../lib/metrics';
import type { ApiDeps } from '../deps';

export function mountHealth(router: Router, deps: ApiDeps): void {
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const [postgres, temporal] = await Promise.all([
      pingDb(deps.db),
      deps.temporal.connection
        .withDeadline(Date.now() + 2000, () => deps.temporal.workflowService.getSystemInfo({}))
        .then(() => true)
        .catch(() => false),
    ]);
    res.status(postgres && temporal ? 200 : 503).json({ status: postgres && temporal ? 'ready' : 'not ready', postgres, temporal });
  });
  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
}
