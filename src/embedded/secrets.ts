/**
 * Secrets the embedded default generates once and keeps under the data folder (mode 0600):
 * the platform admin token, the embedded Postgres role passwords, and the key list that encrypts stored secrets
 * (the DRASON_ENCRYPTION_KEYS format; to rotate, set DRASON_ENCRYPTION_KEYS to a new key followed by this one).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { generateEncryptionKeySpec } from '../security/encryption';

export interface EmbeddedSecrets {
  adminToken: string;
  postgresSuperuserPassword: string;
  ownerPassword: string;
  appPassword: string;
  encryptionKeys: string;
}

const random = (bytes: number): string => crypto.randomBytes(bytes).toString('base64url');

export function loadOrCreateSecrets(dataDir: string): EmbeddedSecrets {
  const file = path.join(dataDir, 'secrets.json');
  fs.mkdirSync(dataDir, { recursive: true });
  let existing: Partial<EmbeddedSecrets> = {};
  if (fs.existsSync(file)) existing = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<EmbeddedSecrets>;
  const secrets: EmbeddedSecrets = {
    adminToken: existing.adminToken ?? `drason_admin_${random(24)}`,
    postgresSuperuserPassword: existing.postgresSuperuserPassword ?? random(18),
    ownerPassword: existing.ownerPassword ?? random(18),
    appPassword: existing.appPassword ?? random(18),
    encryptionKeys: existing.encryptionKeys ?? generateEncryptionKeySpec('k1'),
  };
  if (JSON.stringify(existing) !== JSON.stringify(secrets)) {
    fs.writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return secrets;
}

/** The embedded Postgres options for these secrets (roles and passwords the embedded default generated). */
export function embeddedPostgresOptions(secrets: EmbeddedSecrets, dataDir: string, port: number) {
  return { dataDir, port, superuserPassword: secrets.postgresSuperuserPassword, ownerPassword: secrets.ownerPassword, appPassword: secrets.appPassword };
}
