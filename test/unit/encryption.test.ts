import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { EncryptionKeysFormatError, generateEncryptionKeySpec, Keyring, parseEncryptionKeys } from '../../src/security/encryption';
import { SecretUnavailableError } from '../../src/lib/errors';

const key = (): string => crypto.randomBytes(32).toString('base64');

describe('encryption at rest (AES-256-GCM keyring)', () => {
  const k1 = `k1:${key()}`;
  const k2 = `k2:${key()}`;

  it('round-trips a secret, with a fresh IV each time', () => {
    const ring = new Keyring(k1);
    const a = ring.encrypt('sl_live_secret', 'smartlead_api_key:org-1');
    const b = ring.encrypt('sl_live_secret', 'smartlead_api_key:org-1');
    assert.equal(a.keyId, 'k1');
    assert.notEqual(a.ciphertext, b.ciphertext);
    assert.ok(!a.ciphertext.includes('sl_live_secret'));
    assert.equal(ring.decrypt(a, 'smartlead_api_key:org-1'), 'sl_live_secret');
  });

  it('binds a ciphertext to its context: it does not decrypt as another organization’s secret', () => {
    const ring = new Keyring(k1);
    const value = ring.encrypt('s', 'smartlead_api_key:org-1');
    assert.throws(() => ring.decrypt(value, 'smartlead_api_key:org-2'), SecretUnavailableError);
  });

  it('detects tampering', () => {
    const ring = new Keyring(k1);
    const value = ring.encrypt('secret', 'c');
    const bytes = Buffer.from(value.ciphertext.slice(3), 'base64url');
    bytes[bytes.length - 1]! ^= 1;
    assert.throws(() => ring.decrypt({ keyId: 'k1', ciphertext: `v1.${bytes.toString('base64url')}` }, 'c'), /integrity check/);
    assert.throws(() => ring.decrypt({ keyId: 'k1', ciphertext: 'garbage' }, 'c'), /not in a format/);
  });

  it('rotates: a new current key encrypts, older keys still decrypt, and stale values are recognised', () => {
    const old = new Keyring(k1).encrypt('secret', 'c');
    const rotated = new Keyring(`${k2},${k1}`);
    assert.equal(rotated.currentKeyId, 'k2');
    assert.equal(rotated.decrypt(old, 'c'), 'secret');
    assert.equal(rotated.isStale(old), true);
    const fresh = rotated.encrypt(rotated.decrypt(old, 'c'), 'c');
    assert.deepEqual([fresh.keyId, rotated.isStale(fresh)], ['k2', false]);
    assert.equal(new Keyring(k2).decrypt(fresh, 'c'), 'secret', 'k1 can be dropped once everything moved');
  });

  it('names the missing key (and the variable) when a ciphertext’s key is gone', () => {
    const old = new Keyring(k1).encrypt('secret', 'c');
    assert.throws(() => new Keyring(k2).decrypt(old, 'c'), /key "k1", which is not in DRASON_ENCRYPTION_KEYS.*rotate-keys/);
  });

  it('generates a usable key list for the embedded default', () => {
    const spec = generateEncryptionKeySpec('k7');
    assert.equal(parseEncryptionKeys(spec).currentKeyId, 'k7');
  });

  const material = key();
  const bad: [string, string, RegExp][] = [
    ['empty', '', /at least one key/],
    ['no id', material, /id:base64/],
    ['bad id', `k 1:${material}`, /letters, digits/],
    ['short key', `k1:${crypto.randomBytes(16).toString('base64')}`, /32 bytes/],
    ['not base64', 'k1:!!!not-base64!!!', /32 bytes/],
    ['duplicate id', `k1:${material},k1:${key()}`, /appears twice/],
  ];
  for (const [what, spec, message] of bad) {
    it(`refuses a key list with ${what}, without echoing key material`, () => {
      assert.throws(
        () => parseEncryptionKeys(spec),
        (error: unknown) => error instanceof EncryptionKeysFormatError && message.test(error.message) && !error.message.includes(material),
      );
    });
  }
  it('accepts URL-safe base64 and spaces around entries', () => {
    assert.deepEqual(parseEncryptionKeys(` a:${crypto.randomBytes(32).toString('base64url')} , b:${key()} `).currentKeyId, 'a');
  });
});
