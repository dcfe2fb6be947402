/**
 * Secrets the embedded default generates once and keeps under the data folder (mode 0600):
 * the platform admin token and the embedded Postgres role passwords.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface EmbeddedSecrets {
  adminToken: string;
  postgresSuperuserPassword: string;
  ownerPassword: string;
  appPassword: string;
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
  };
  if (JSON.stringify(existing) !== JSON.stringify(secrets)) {
    fs.writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  }
  return secrets;
}
