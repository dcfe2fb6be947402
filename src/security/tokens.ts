/**
 * Bearer secrets Drason issues (API keys, webhook tokens): random, prefixed so they are recognisable in a leak
 * scanner, and stored only as a SHA-256 hash. A hash (not a slow password hash) is right here: the secrets are 192+
 * random bits, so there is nothing to brute-force, and every request must look one up cheaply.
 * See docs/decisions/005-api-keys-and-roles.md.
 */
import crypto from 'node:crypto';

export function sha256Hex(value: string): string {
  return crypto.createHash('sha256').update(value).digest('hex');
}

/** `prefix` + `bytes` random bytes, base64url. */
export function randomToken(prefix: string, bytes = 24): string {
  return `${prefix}${crypto.randomBytes(bytes).toString('base64url')}`;
}

/** Compares two strings in time that does not depend on where they differ (or on their lengths). */
export function constantTimeEqual(a: string, b: string): boolean {
  return crypto.timingSafeEqual(crypto.createHash('sha256').update(a).digest(), crypto.createHash('sha256').update(b).digest());
}
