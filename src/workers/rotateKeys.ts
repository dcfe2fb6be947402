/**
 * `npm run rotate-keys`: re-encrypts every stored secret (Smartlead API keys, webhook tokens and secrets) with the
 * current key, the first of DRASON_ENCRYPTION_KEYS. Rotation, step by step:
 *   1. put a new key first: DRASON_ENCRYPTION_KEYS=k2:<new>,k1:<old>, and restart Drason (new secrets use k2);
 *   2. run `npm run rotate-keys` with the same variable (old secrets move to k2; safe to re-run);
 *   3. drop k1 from the variable and restart.
 * With the embedded default (no DATABASE_URL) it uses the embedded Postgres: the running one if `npm start` is up,
 * else it starts it for the duration. `drason secrets rotate` runs the same rotation. See
 * docs/decisions/006-encryption-at-rest-and-rotation.md.
 */
import { config, ConfigError, type Config } from '../config';
import { createDb } from '../db/knex';
import { createIntegrations } from '../db/repositories/integrations';
import { Keyring } from '../security/encryption';
import { commandDatabase } from './commandDatabase';
import { runMain } from './main';

export interface RotationReport {
  organizations: number;
  secrets: number;
  keyId: string;
}

export async function rotateKeys(cfg: Config = config()): Promise<RotationReport> {
  const target = await commandDatabase(cfg);
  const encryptionKeys = cfg.DRASON_ENCRYPTION_KEYS ?? target.secrets?.encryptionKeys;
  if (encryptionKeys === undefined) {
    await target.release();
    throw new ConfigError([{ variable: 'DRASON_ENCRYPTION_KEYS', message: 'set it to the key list (new key first) to rotate to' }]);
  }
  const keyring = new Keyring(encryptionKeys);
  const db = createDb({ url: target.databaseUrl, poolMax: 2 });
  try {
    const result = await createIntegrations(keyring).rotateEncryptionKeys(db);
    return { ...result, keyId: keyring.currentKeyId };
  } finally {
    await db.destroy();
    await target.release();
  }
}

/** The rotation in one sentence (never key material). */
export function rotationSentence({ organizations, secrets, keyId }: RotationReport): string {
  return `Re-encrypted ${secrets} secret(s) in ${organizations} organization(s) with key "${keyId}". Every stored secret now uses it; older keys can be removed from DRASON_ENCRYPTION_KEYS.`;
}

if (require.main === module) {
  runMain('drason-rotate-keys', async () => {
    process.stdout.write(`${rotationSentence(await rotateKeys())}\n`);
    return { stop: async () => undefined };
  });
}
