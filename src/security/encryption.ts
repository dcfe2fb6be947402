/**
 * Secrets at rest (Smartlead API keys, webhook tokens): AES-256-GCM with keys from DRASON_ENCRYPTION_KEYS.
 *
 * The variable lists `id:base64key` pairs, comma-separated, current key first (`k2:…,k1:…`). Each ciphertext is
 * stored beside the id of the key that made it, so older keys keep decrypting until `npm run rotate-keys` has
 * re-encrypted everything with the current one. Each secret is bound to what it is and whose it is (GCM additional
 * data, e.g. `smartlead_api_key:<organization id>`): a ciphertext copied into another row or organization fails.
 * See docs/decisions/006-encryption-at-rest-and-rotation.md.
 */
import crypto from 'node:crypto';
import { SecretUnavailableError } from '../lib/errors';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Format marker of the ciphertext string, so the layout can change later without guessing. */
const FORMAT = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export interface EncryptedValue {
  keyId: string;
  ciphertext: string;
}

export class EncryptionKeysFormatError extends Error {
  override readonly name = 'EncryptionKeysFormatError';
}

/** Parses `id:base64,id:base64` (current first). Throws EncryptionKeysFormatError saying what is wrong, never echoing key material. */
export function parseEncryptionKeys(spec: string): { currentKeyId: string; keys: Map<string, Buffer> } {
  const keys = new Map<string, Buffer>();
  const entries = spec.split(',').map((e) => e.trim()).filter((e) => e !== '');
  if (entries.length === 0) throw new EncryptionKeysFormatError('must list at least one key as id:base64 (32 bytes), e.g. k1:<openssl rand -base64 32>');
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = colon === -1 ? '' : entry.slice(0, colon);
    const material = colon === -1 ? '' : entry.slice(colon + 1);
    if (!KEY_ID.test(id)) throw new EncryptionKeysFormatError(`entry ${index + 1} must look like id:base64 with an id of letters, digits, _ or - (at most 32)`);
    if (keys.has(id)) throw new EncryptionKeysFormatError(`key id "${id}" appears twice`);
    // Node's base64 decoder reads both the standard and the URL-safe alphabet.
    const bytes = /^[A-Za-z0-9+/_-]+={0,2}$/.test(material) ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (bytes.length !== KEY_BYTES) throw new EncryptionKeysFormatError(`key "${id}" must be ${KEY_BYTES} bytes, base64-encoded (openssl rand -base64 32)`);
    keys.set(id, bytes);
  });
  return { currentKeyId: [...keys.keys()][0]!, keys };
}

/** A fresh key list with one random key, for the embedded default. */
export function generateEncryptionKeySpec(id = 'k1'): string {
  return `${id}:${crypto.randomBytes(KEY_BYTES).toString('base64')}`;
}

export class Keyring {
  readonly currentKeyId: string;
  private readonly keys: Map<string, Buffer>;

  constructor(spec: string) {
    const parsed = parseEncryptionKeys(spec);
    this.currentKeyId = parsed.currentKeyId;
    this.keys = parsed.keys;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  /** Encrypts with the current key. `context` names the secret and its owner (additional authenticated data). */
  encrypt(plaintext: string, context: string): EncryptedValue {
    const iv = crypto.randomBytes(IV_BYTES);
    const cipher = crypto.createCipheriv(ALGORITHM, this.keys.get(this.currentKeyId)!, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const packed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
    return { keyId: this.currentKeyId, ciphertext: `${FORMAT}.${packed}` };
  }

  decrypt(value: EncryptedValue, context: string): string {
    const key = this.keys.get(value.keyId);
    if (key === undefined) {
      throw new SecretUnavailableError(
        `A stored secret was encrypted with key "${value.keyId}", which is not in DRASON_ENCRYPTION_KEYS; add that key back after the current one and run npm run rotate-keys.`,
      );
    }
    const [format, packed] = value.ciphertext.split('.', 2);
    const raw = format === FORMAT && packed !== undefined ? Buffer.from(packed, 'base64url') : Buffer.alloc(0);
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretUnavailableError('A stored secret is not in a format Drason wrote.');
    try {
      const decipher = crypto.createDecipheriv(ALGORITHM, key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch (error) {
      throw new SecretUnavailableError(`A stored secret failed its integrity check (key "${value.keyId}"): it was altered or belongs to another record.`, error);
    }
  }

  /** True when the value should be re-encrypted with the current key. */
  isStale(value: Pick<EncryptedValue, 'keyId'>): boolean {
    return value.keyId !== this.currentKeyId;
  }
}
