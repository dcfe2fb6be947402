/**
 * Integration secrets: an organization's Smartlead API key (encrypted at rest) and its Smartlead webhook tokens.
 *
 * Built by a factory from the keyring so tests and entry points hand in their keys explicitly:
 * `const integrations = createIntegrations(keyring)`. Plaintext secrets leave this module only as return values
 * of the load/create functions; nothing here logs.
 *
 * Webhook tokens are the unguessable last segment of `POST /v1/webhooks/smartlead/:token`. They are looked up by
 * SHA-256 hash (through a narrow SECURITY DEFINER function, before the organization is known), and also kept
 * encrypted so Drason can show the URL again and register it with Smartlead. Rotation issues a new token and lets
 * the old one work for a grace period, so events in flight are not lost while Smartlead is repointed.
 */
import crypto from 'node:crypto';
import type { Db } from '../knex';
import { organizationsFrom, withTenant, type Tx } from '../tenant';
import type { Keyring } from '../../security/encryption';
import { constantTimeEqual, randomToken, sha256Hex } from '../../security/tokens';

export { SMARTLEAD_DEFAULT_BASE_URL } from '../../smartlead/client';
import { SMARTLEAD_DEFAULT_BASE_URL } from '../../smartlead/client';
import type { BudgetWaitOutcome, RateBudget, RateWindow, RequestsPerMinute } from '../../smartlead/rateBudget';
export const WEBHOOK_TOKEN_PREFIX = 'whk_';
/** How long a rotated-out webhook token keeps working by default. */
export const DEFAULT_WEBHOOK_TOKEN_GRACE_MS = 24 * 60 * 60 * 1000;

export interface SmartleadCredentials {
  apiKey: string;
  /** Identifies this saved key (changes whenever a key is saved or re-encrypted); never the key itself. */
  fingerprint: string;
  baseUrl: string;
  status: 'configured' | 'broken';
  brokenReason: string | null;
}

export interface IntegrationStatus {
  configured: boolean;
  baseUrl: string | null;
  status: 'configured' | 'broken' | 'not_configured';
  brokenReason: string | null;
  brokenAt: string | null;
  updatedAt: string | null;
  /** The integration's own Smartlead budget, or null when it uses the deployment's default. */
  rateLimit: RequestsPerMinute | null;
}

export interface IssuedWebhookToken {
  id: string;
  token: string;
}

export type WebhookSecretCheck = 'ok' | 'not_required' | 'missing' | 'mismatch';

const apiKeyContext = (organizationId: string): string => `smartlead_api_key:${organizationId}`;
const tokenContext = (organizationId: string, tokenId: string): string => `webhook_token:${organizationId}:${tokenId}`;
const secretContext = (organizationId: string, tokenId: string): string => `webhook_secret:${organizationId}:${tokenId}`;

interface CredentialRow {
  id: string;
  organization_id: string;
  provider: string;
  api_key_ciphertext: string;
  encryption_key_id: string;
  base_url: string;
  status: 'configured' | 'broken';
  broken_reason: string | null;
  broken_at: Date | null;
  updated_at: Date;
  rate_limit_per_minute: number | null;
  rate_limit_burst: number | null;
}

interface TokenRow {
  id: string;
  organization_id: string;
  provider: string;
  token_hash: string;
  token_ciphertext: string;
  secret_key_hash: string | null;
  secret_key_ciphertext: string | null;
  encryption_key_id: string;
}

/** The current organization's active tokens (not revoked, not expired), newest first. */
const activeTokens = (tx: Tx) =>
  tx<TokenRow>('webhook_tokens')
    .where({ provider: 'smartlead' })
    .whereNull('revoked_at')
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', tx.fn.now()))
    .orderBy('created_at', 'desc');

/** Looks a presented webhook token up across tenants (before the organization is known). */
export interface ResolvedWebhookToken {
  id: string;
  organizationId: string;
  /** SHA-256 of the secret_key every body must carry, or null when the organization set none. */
  secretKeyHash: string | null;
}

/** The webhook token's organization and secret-key hash, in one lookup (no tenant transaction needed). */
export async function resolveWebhookToken(db: Db, token: string): Promise<ResolvedWebhookToken | undefined> {
  if (!token.startsWith(WEBHOOK_TOKEN_PREFIX) || token.length > 200) return undefined;
  const result = await db.raw<{ rows: { id: string; organization_id: string; secret_key_hash: string | null }[] }>(
    'select * from drason_resolve_webhook_token(?)',
    [sha256Hex(token)],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : { id: row.id, organizationId: row.organization_id, secretKeyHash: row.secret_key_hash };
}

/**
 * Reserves the next slot of the shared Smartlead budget of one key (migration 014, decision 016), in the current
 * tenant's transaction: granted with the wait until the slot, or not granted when it is further than `maxWaitMs`.
 */
export async function takeSmartleadBudgetSlot(
  tx: Tx,
  keyFingerprint: string,
  windows: readonly RateWindow[],
  options: { maxWaitMs: number; marginMs: number },
): Promise<{ granted: boolean; waitMs: number }> {
  const result = await tx.raw<{ rows: { granted: boolean; wait_ms: number }[] }>(
    'select granted, wait_ms from drason_smartlead_take_budget(?, ?::int[], ?::int[], ?, ?)',
    [keyFingerprint, windows.map((w) => Math.floor(w.maxRequests)), windows.map((w) => Math.floor(w.perMs)), options.maxWaitMs, options.marginMs],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('drason_smartlead_take_budget returned no row');
  return { granted: row.granted, waitMs: Math.max(0, Number(row.wait_ms)) };
}

/** Extra spacing (ms) added to every window: absorbs timer and network jitter between the slot and Smartlead's clock. */
export const SMARTLEAD_BUDGET_MARGIN_MS = 50;

/**
 * The shared budget of an organization's Smartlead key as a client's `sharedBudget.store`: each reservation is one
 * tenant transaction running `drason_smartlead_take_budget`.
 */
export function smartleadBudgetStore(
  db: Db,
  organizationId: string,
  windows: readonly RateWindow[],
  options: { marginMs?: number; observe?: (waitedMs: number, outcome: BudgetWaitOutcome) => void } = {},
): RateBudget {
  const marginMs = options.marginMs ?? SMARTLEAD_BUDGET_MARGIN_MS;
  return {
    reserve: (keyFingerprint, maxWaitMs) => withTenant(db, organizationId, (tx) => takeSmartleadBudgetSlot(tx, keyFingerprint, windows, { maxWaitMs, marginMs })),
    // Migration 017: no slot of the key before now + holdMs, in any process.
    hold: async (keyFingerprint, holdMs) => {
      await withTenant(db, organizationId, (tx) => tx.raw('select drason_smartlead_hold_budget(?, ?)', [keyFingerprint, holdMs]));
    },
    ...(options.observe === undefined ? {} : { observe: options.observe }),
  };
}

const rateLimitOf = (row: Pick<CredentialRow, 'rate_limit_per_minute' | 'rate_limit_burst'>): RequestsPerMinute | null =>
  row.rate_limit_per_minute === null || row.rate_limit_burst === null ? null : { requestsPerMinute: row.rate_limit_per_minute, burst: row.rate_limit_burst };

/** Whether a webhook body's secret_key matches the token's (constant time). */
export function checkWebhookSecret(secretKeyHash: string | null, presented: unknown): WebhookSecretCheck {
  if (secretKeyHash === null) return 'not_required';
  if (typeof presented !== 'string' || presented === '') return 'missing';
  return constantTimeEqual(sha256Hex(presented), secretKeyHash) ? 'ok' : 'mismatch';
}

export function createIntegrations(keyring: Keyring) {
  async function insertToken(tx: Tx, organizationId: string, secret: { hash: string | null; plaintext: string | null }): Promise<IssuedWebhookToken> {
    const id = crypto.randomUUID();
    const token = randomToken(WEBHOOK_TOKEN_PREFIX, 32);
    const encryptedToken = keyring.encrypt(token, tokenContext(organizationId, id));
    await tx('webhook_tokens').insert({
      organization_id: organizationId,
      id,
      provider: 'smartlead',
      token_hash: sha256Hex(token),
      token_ciphertext: encryptedToken.ciphertext,
      secret_key_hash: secret.hash,
      secret_key_ciphertext: secret.plaintext === null ? null : keyring.encrypt(secret.plaintext, secretContext(organizationId, id)).ciphertext,
      encryption_key_id: encryptedToken.keyId,
    });
    return { id, token };
  }

  function decryptTokenSecret(row: TokenRow): string | null {
    if (row.secret_key_ciphertext === null) return null;
    return keyring.decrypt({ keyId: row.encryption_key_id, ciphertext: row.secret_key_ciphertext }, secretContext(row.organization_id, row.id));
  }

  /** Re-encrypts the current organization's secrets that are not under the current key. Returns how many. */
  async function reencryptOrganization(tx: Tx): Promise<number> {
    let count = 0;
    const credentials = (await tx<CredentialRow>('integration_credentials').whereNot('encryption_key_id', keyring.currentKeyId).forUpdate()) as CredentialRow[];
    for (const row of credentials) {
      const context = apiKeyContext(row.organization_id);
      const fresh = keyring.encrypt(keyring.decrypt({ keyId: row.encryption_key_id, ciphertext: row.api_key_ciphertext }, context), context);
      await tx('integration_credentials').where({ id: row.id }).update({ api_key_ciphertext: fresh.ciphertext, encryption_key_id: fresh.keyId });
      count += 1;
    }
    const tokens = (await tx<TokenRow>('webhook_tokens').whereNot('encryption_key_id', keyring.currentKeyId).forUpdate()) as TokenRow[];
    for (const row of tokens) {
      const context = tokenContext(row.organization_id, row.id);
      const token = keyring.encrypt(keyring.decrypt({ keyId: row.encryption_key_id, ciphertext: row.token_ciphertext }, context), context);
      const secret = decryptTokenSecret(row);
      await tx('webhook_tokens')
        .where({ id: row.id })
        .update({
          token_ciphertext: token.ciphertext,
          secret_key_ciphertext: secret === null ? null : keyring.encrypt(secret, secretContext(row.organization_id, row.id)).ciphertext,
          encryption_key_id: token.keyId,
        });
      count += 1;
    }
    return count;
  }

  return {
    /** Stores (or replaces) the organization's Smartlead API key, encrypted; a replaced key is no longer broken. */
    async saveSmartleadCredentials(
      tx: Tx,
      organizationId: string,
      input: { apiKey: string; baseUrl?: string; /** undefined keeps the saved budget; null returns to the default. */ rateLimit?: RequestsPerMinute | null },
    ): Promise<void> {
      const encrypted = keyring.encrypt(input.apiKey, apiKeyContext(organizationId));
      const rate =
        input.rateLimit === undefined
          ? {}
          : { rate_limit_per_minute: input.rateLimit?.requestsPerMinute ?? null, rate_limit_burst: input.rateLimit?.burst ?? null };
      await tx('integration_credentials')
        .insert({
          organization_id: organizationId,
          provider: 'smartlead',
          api_key_ciphertext: encrypted.ciphertext,
          encryption_key_id: encrypted.keyId,
          base_url: input.baseUrl ?? SMARTLEAD_DEFAULT_BASE_URL,
          status: 'configured',
          ...rate,
        })
        .onConflict(['organization_id', 'provider'])
        .merge({
          api_key_ciphertext: encrypted.ciphertext,
          encryption_key_id: encrypted.keyId,
          // Saving a new key without a base URL keeps the one already configured.
          ...(input.baseUrl === undefined ? {} : { base_url: input.baseUrl }),
          ...rate,
          status: 'configured',
          broken_reason: null,
          broken_at: null,
          updated_at: tx.fn.now(),
        });
    },

    /** The decrypted Smartlead API key and where to call, or undefined when none is configured. */
    async loadSmartleadCredentials(tx: Tx, organizationId: string): Promise<SmartleadCredentials | undefined> {
      const row = (await tx<CredentialRow>('integration_credentials').where({ organization_id: organizationId, provider: 'smartlead' }).first()) as CredentialRow | undefined;
      if (row === undefined) return undefined;
      return {
        apiKey: keyring.decrypt({ keyId: row.encryption_key_id, ciphertext: row.api_key_ciphertext }, apiKeyContext(organizationId)),
        fingerprint: sha256Hex(row.api_key_ciphertext),
        baseUrl: row.base_url,
        status: row.status,
        brokenReason: row.broken_reason,
      };
    },

    /** The integration's own Smartlead budget, or null (none saved, or no integration): the default applies. */
    async smartleadRateLimit(tx: Tx, organizationId: string): Promise<RequestsPerMinute | null> {
      const row = (await tx<CredentialRow>('integration_credentials')
        .where({ organization_id: organizationId, provider: 'smartlead' })
        .first('rate_limit_per_minute', 'rate_limit_burst')) as Pick<CredentialRow, 'rate_limit_per_minute' | 'rate_limit_burst'> | undefined;
      return row === undefined ? null : rateLimitOf(row);
    },

    /**
     * Records that the credentials stopped working (revoked key, 401 from Smartlead). With `fingerprint`, only if that
     * key is still the saved one and not already broken, so a call that failed on an old key cannot break a key saved
     * since, and concurrent failures report the transition once. Returns whether this call changed the state.
     */
    async markIntegrationBroken(tx: Tx, organizationId: string, reason: string, options: { fingerprint?: string } = {}): Promise<boolean> {
      const q = tx('integration_credentials').where({ organization_id: organizationId, provider: 'smartlead' });
      if (options.fingerprint !== undefined) {
        q.where({ status: 'configured' }).whereRaw('encode(sha256(convert_to(api_key_ciphertext, ?)), ?) = ?', ['UTF8', 'hex', options.fingerprint]);
      }
      const updated = await q.update({ status: 'broken', broken_reason: reason, broken_at: tx.fn.now(), updated_at: tx.fn.now() });
      return updated > 0;
    },

    /** Status without secrets, for the API. */
    async smartleadStatus(tx: Tx): Promise<IntegrationStatus> {
      const row = (await tx<CredentialRow>('integration_credentials').where({ provider: 'smartlead' }).first()) as CredentialRow | undefined;
      if (row === undefined) return { configured: false, baseUrl: null, status: 'not_configured', brokenReason: null, brokenAt: null, updatedAt: null, rateLimit: null };
      return {
        configured: true,
        baseUrl: row.base_url,
        status: row.status,
        brokenReason: row.broken_reason,
        brokenAt: row.broken_at?.toISOString() ?? null,
        updatedAt: row.updated_at.toISOString(),
        rateLimit: rateLimitOf(row),
      };
    },

    /** Issues the organization's first webhook token (with an optional secret_key Smartlead will send in each body). */
    async createWebhookToken(tx: Tx, organizationId: string, options: { secretKey?: string } = {}): Promise<IssuedWebhookToken> {
      const secret = options.secretKey === undefined ? { hash: null, plaintext: null } : { hash: sha256Hex(options.secretKey), plaintext: options.secretKey };
      return insertToken(tx, organizationId, secret);
    },

    /** The newest active token, decrypted (to build the webhook URL), or undefined. */
    async currentWebhookToken(tx: Tx): Promise<(IssuedWebhookToken & { hasSecret: boolean }) | undefined> {
      const row = (await activeTokens(tx).first()) as TokenRow | undefined;
      if (row === undefined) return undefined;
      const token = keyring.decrypt({ keyId: row.encryption_key_id, ciphertext: row.token_ciphertext }, tokenContext(row.organization_id, row.id));
      return { id: row.id, token, hasSecret: row.secret_key_hash !== null };
    },

    /**
     * Issues a new token; the previous ones keep working for `graceMs` (default 24 h) so deliveries in flight are not
     * lost while Smartlead is pointed at the new URL. `graceMs: 0` cuts them off at once. The secret_key carries over
     * unless a new one is given (`null` removes it).
     */
    async rotateWebhookToken(
      tx: Tx,
      organizationId: string,
      options: { graceMs?: number; secretKey?: string | null } = {},
    ): Promise<IssuedWebhookToken> {
      const previous = (await activeTokens(tx).forUpdate()) as TokenRow[];
      const graceMs = options.graceMs ?? DEFAULT_WEBHOOK_TOKEN_GRACE_MS;
      if (previous.length > 0) {
        const ids = previous.map((r) => r.id);
        if (graceMs <= 0) await tx('webhook_tokens').whereIn('id', ids).update({ revoked_at: tx.fn.now() });
        else {
          await tx('webhook_tokens')
            .whereIn('id', ids)
            .update({ expires_at: tx.raw(`least(coalesce(expires_at, 'infinity'::timestamptz), now() + ? * interval '1 millisecond')`, [graceMs]) });
        }
      }
      let secret: { hash: string | null; plaintext: string | null } = { hash: null, plaintext: null };
      if (typeof options.secretKey === 'string') secret = { hash: sha256Hex(options.secretKey), plaintext: options.secretKey };
      else if (options.secretKey === undefined && previous[0] !== undefined) secret = { hash: previous[0].secret_key_hash, plaintext: decryptTokenSecret(previous[0]) };
      return insertToken(tx, organizationId, secret);
    },

    /** Sets (or with null removes) the secret_key expected in every webhook body of the given token. */
    async setWebhookSecret(tx: Tx, organizationId: string, tokenId: string, secretKey: string | null): Promise<void> {
      const row = (await tx<TokenRow>('webhook_tokens').where({ id: tokenId }).first('encryption_key_id')) as Pick<TokenRow, 'encryption_key_id'> | undefined;
      if (row === undefined) return;
      // The row keeps one key id for all its ciphertexts: encrypt with that key, rotation will move it along.
      const encrypted = secretKey === null ? null : keyring.encrypt(secretKey, secretContext(organizationId, tokenId));
      if (encrypted !== null && encrypted.keyId !== row.encryption_key_id) {
        await reencryptOrganization(tx);
      }
      await tx('webhook_tokens')
        .where({ id: tokenId })
        .update({ secret_key_hash: secretKey === null ? null : sha256Hex(secretKey), secret_key_ciphertext: encrypted?.ciphertext ?? null });
    },

    /** Checks the body's secret_key against the one configured for this token (constant time). */
    reencryptOrganization,

    /** Every organization, one transaction each: re-encrypts all secrets under the current key. Safe to re-run. */
    async rotateEncryptionKeys(db: Db): Promise<{ organizations: number; secrets: number }> {
      const organizations = await organizationsFrom(db, 'drason_orgs_with_secrets_not_under', keyring.currentKeyId);
      let secrets = 0;
      for (const organizationId of organizations) {
        secrets += await withTenant(db, organizationId, (tx) => reencryptOrganization(tx));
      }
      return { organizations: organizations.length, secrets };
    },
  };
}

export type Integrations = ReturnType<typeof createIntegrations>;
