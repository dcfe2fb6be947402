/**
 * The Smartlead integration (admin): credentials (stored encrypted, never returned), the organization's webhook
 * URL, and webhook-token rotation. Every change is audited without the secret.
 */
import { z } from 'zod';
import { config } from '../../config';
import { smartleadBaseUrlAllowed } from '../../domain/smartleadBaseUrl';
import { appendAudit, type NewAuditEntry } from '../../db/repositories/audit';
import { DEFAULT_WEBHOOK_TOKEN_GRACE_MS, SMARTLEAD_DEFAULT_BASE_URL } from '../../db/repositories/integrations';
import { withTenant, type Tx } from '../../db/tenant';
import { ENGINE_VERSION } from '../../domain/engineVersion';
import { actorOf, authOf, type AuthContext } from '../auth';
import type { ApiDeps } from '../deps';
import type { Routes } from '../route';
import { AppError, ConflictError } from '../../lib/errors';
import { ensureSyncSchedule, startSyncNow } from '../../services/smartleadSync';

// abort: a value that is not an http(s) URL gets that one message, not also the allow-list's.
const httpUrl = z
  .url({ protocol: /^https?$/, abort: true, error: 'must be an http or https URL' })
  .max(500)
  .refine((v) => smartleadBaseUrlAllowed(v, config().NODE_ENV === 'production'), {
    message: `must be Smartlead's API (${SMARTLEAD_DEFAULT_BASE_URL}); loopback addresses are accepted outside production, for the simulator`,
  });

const RateLimit = z
  .object({
    requestsPerMinute: z.number().int().min(1).max(10_000).describe('Smartlead requests in any minute with this key (standard plan 60, Pro 120).'),
    burst: z.number().int().min(1).max(10_000).describe('Smartlead requests in any one second (standard plan 10, Pro 20); at most requestsPerMinute.'),
  })
  .strict()
  .refine((r) => r.burst <= r.requestsPerMinute, { message: 'must be at most requestsPerMinute', path: ['burst'] })
  .openapi('SmartleadRateLimit');

const PutSmartlead = z
  .object({
    apiKey: z.string().trim().min(1).max(500).describe('Smartlead API key; stored encrypted, never returned.'),
    baseUrl: httpUrl.optional().describe(`Smartlead API base URL (default ${SMARTLEAD_DEFAULT_BASE_URL}).`),
    webhookSecret: z
      .string()
      .min(16)
      .max(200)
      .nullable()
      .optional()
      .describe('Expected `secret_key` of every Smartlead webhook body; null stops checking it.'),
    rateLimit: RateLimit.nullable()
      .optional()
      .describe("This key's Smartlead budget, shared by every worker process (your plan's limits); null returns to the default, omitted keeps the saved one."),
  })
  .strict()
  .openapi('PutSmartleadIntegration');

const WebhookUrl = z.string().describe('POST target for Smartlead webhooks; it embeds an unguessable token, treat it as a secret.');
const SmartleadConfigured = z
  .object({
    configured: z.literal(true),
    webhookUrl: WebhookUrl,
    syncWorkflowId: z.string().describe('The reconciliation started by this save (Temporal workflow id).'),
  })
  .openapi('SmartleadConfigured');
const SyncStarted = z.object({ syncWorkflowId: z.string(), scheduleId: z.string() }).openapi('SmartleadSyncStarted');
const SmartleadStatus = z
  .object({
    configured: z.boolean(),
    status: z.enum(['configured', 'broken', 'not_configured']),
    baseUrl: z.string().nullable(),
    brokenReason: z.string().nullable(),
    brokenAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
    webhookConfigured: z.boolean(),
    webhookSecretConfigured: z.boolean(),
    rateLimit: z
      .object({ requestsPerMinute: z.number().int(), burst: z.number().int(), source: z.enum(['integration', 'default']) })
      .describe("The Smartlead budget in force for this organization's key: its own (`integration`) or the deployment's default."),
  })
  .openapi('SmartleadIntegration');
const RotateToken = z
  .object({ graceMinutes: z.number().int().min(0).max(7 * 24 * 60).optional().describe('How long the old URL keeps working (default 24 h).') })
  .strict()
  .openapi('RotateWebhookToken');
const RotatedToken = z.object({ webhookUrl: WebhookUrl, previousValidUntil: z.string().nullable() }).openapi('RotatedWebhookToken');

const webhookUrl = (deps: ApiDeps, token: string): string => `${deps.publicUrl}/v1/webhooks/smartlead/${token}`;

function audit(tx: Tx, auth: AuthContext, action: string, message: string): Promise<boolean> {
  const entry: NewAuditEntry = {
    organizationId: auth.organizationId,
    entityType: 'integration',
    entityId: 'smartlead',
    action,
    actor: actorOf(auth),
    message,
    engineVersion: ENGINE_VERSION,
  };
  return appendAudit(tx, entry);
}

/** After credentials change: keep the periodic sync scheduled and run one now. */
async function scheduleAndStartSync(deps: ApiDeps, organizationId: string, reason: 'integration_saved' | 'manual'): Promise<{ syncWorkflowId: string; scheduleId: string }> {
  try {
    const scheduleId = await ensureSyncSchedule(deps.temporal, deps.taskQueue, organizationId, deps.smartleadSyncIntervalMinutes);
    const syncWorkflowId = await startSyncNow(deps.temporal, deps.taskQueue, organizationId, reason);
    return { syncWorkflowId, scheduleId };
  } catch (error) {
    throw new AppError(
      'dependency_unavailable',
      'The Smartlead settings are saved, but Temporal is not reachable so the sync was not started; repeat this request shortly.',
      503,
      { cause: error },
    );
  }
}

type RateLimitValue = { requestsPerMinute: number; burst: number } | null;

const sameRateLimit = (a: RateLimitValue, b: RateLimitValue): boolean =>
  a === null || b === null ? a === b : a.requestsPerMinute === b.requestsPerMinute && a.burst === b.burst;

function describeRateLimit(r: RateLimitValue): string {
  const { requestsPerMinute, burst } = r ?? config().smartleadBudget;
  return `${requestsPerMinute} requests a minute with bursts of ${burst} a second${r === null ? ' (the default)' : ''}`;
}

export function mountIntegrations(routes: Routes): void {
  routes.add({
    method: 'get',
    path: '/v1/integrations/smartlead',
    summary: 'Whether Smartlead is configured and working (never the API key or the webhook token).',
    tags: ['administration'],
    access: 'admin',
    responses: { 200: { description: 'Integration status', schema: SmartleadStatus } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      const body = await withTenant(deps.db, organizationId, async (tx) => {
        const status = await deps.integrations.smartleadStatus(tx);
        const token = await deps.integrations.currentWebhookToken(tx);
        const { rateLimit, ...rest } = status;
        return {
          ...rest,
          webhookConfigured: token !== undefined,
          webhookSecretConfigured: token?.hasSecret ?? false,
          rateLimit: rateLimit === null ? { ...config().smartleadBudget, source: 'default' as const } : { ...rateLimit, source: 'integration' as const },
        };
      });
      res.json(body);
    },
  });

  routes.add({
    method: 'put',
    path: '/v1/integrations/smartlead',
    summary: "Save the organization's Smartlead API key (encrypted at rest) and get its Smartlead webhook URL.",
    tags: ['administration'],
    access: 'admin',
    bodyLimit: '8kb',
    body: PutSmartlead,
    responses: { 200: { description: 'Saved', schema: SmartleadConfigured } },
    handler: async ({ body, res, deps }) => {
      const auth = authOf(res);
      const token = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const before = body.rateLimit === undefined ? undefined : await deps.integrations.smartleadRateLimit(tx, auth.organizationId);
        await deps.integrations.saveSmartleadCredentials(tx, auth.organizationId, {
          apiKey: body.apiKey,
          ...(body.baseUrl === undefined ? {} : { baseUrl: body.baseUrl }),
          ...(body.rateLimit === undefined ? {} : { rateLimit: body.rateLimit }),
        });
        if (body.rateLimit !== undefined && !sameRateLimit(before ?? null, body.rateLimit)) {
          await audit(tx, auth, 'rate_limit_changed', `The Smartlead budget was changed by API key ${auth.keyId} from ${describeRateLimit(before ?? null)} to ${describeRateLimit(body.rateLimit)}; every worker process shares it.`);
        }
        let current = await deps.integrations.currentWebhookToken(tx);
        if (current === undefined) {
          current = { ...(await deps.integrations.createWebhookToken(tx, auth.organizationId, body.webhookSecret == null ? {} : { secretKey: body.webhookSecret })), hasSecret: body.webhookSecret != null };
        } else if (body.webhookSecret !== undefined) {
          await deps.integrations.setWebhookSecret(tx, auth.organizationId, current.id, body.webhookSecret);
        }
        const secretNote =
          body.webhookSecret === undefined ? '' : body.webhookSecret === null ? ' Webhook bodies no longer need a secret_key.' : ' Webhook bodies must now carry the configured secret_key.';
        await audit(
          tx,
          auth,
          'integration_configured',
          `Smartlead credentials were saved (encrypted) by API key ${auth.keyId}${body.baseUrl === undefined ? '' : ` for ${body.baseUrl}`}.${secretNote}`,
        );
        return current.token;
      });
      const sync = await scheduleAndStartSync(deps, auth.organizationId, 'integration_saved');
      res.json({ configured: true, webhookUrl: webhookUrl(deps, token), syncWorkflowId: sync.syncWorkflowId });
    },
  });

  routes.add({
    method: 'post',
    path: '/v1/integrations/smartlead/sync',
    summary: 'Re-read campaigns and email accounts from Smartlead now and reconcile (each change is audited).',
    tags: ['administration'],
    access: 'admin',
    responses: { 202: { description: 'Sync started', schema: SyncStarted } },
    handler: async ({ res, deps }) => {
      const { organizationId } = authOf(res);
      const status = await withTenant(deps.db, organizationId, (tx) => deps.integrations.smartleadStatus(tx));
      if (!status.configured) throw new ConflictError('Smartlead is not configured: PUT /v1/integrations/smartlead with an API key first.');
      res.status(202).json(await scheduleAndStartSync(deps, organizationId, 'manual'));
    },
  });

  routes.add({
    method: 'post',
    path: '/v1/integrations/smartlead/webhook-token/rotate',
    summary: 'Issue a new Smartlead webhook URL; the old one keeps working for the grace period (default 24 h).',
    tags: ['administration'],
    access: 'admin',
    bodyLimit: '1kb',
    body: RotateToken,
    responses: { 200: { description: 'The new webhook URL', schema: RotatedToken } },
    handler: async ({ body, res, deps }) => {
      const auth = authOf(res);
      const graceMs = body.graceMinutes === undefined ? DEFAULT_WEBHOOK_TOKEN_GRACE_MS : body.graceMinutes * 60_000;
      const issued = await withTenant(deps.db, auth.organizationId, async (tx) => {
        const token = await deps.integrations.rotateWebhookToken(tx, auth.organizationId, { graceMs });
        const until = graceMs === 0 ? null : new Date(Date.now() + graceMs).toISOString();
        await audit(
          tx,
          auth,
          'webhook_token_rotated',
          `The Smartlead webhook URL was rotated by API key ${auth.keyId}; ${until === null ? 'the old URL stopped working at once' : `the old URL keeps working until ${until}`}, so point Smartlead at the new one before then.`,
        );
        return { token: token.token, until };
      });
      res.json({ webhookUrl: webhookUrl(deps, issued.token), previousValidUntil: issued.until });
    },
  });
}
