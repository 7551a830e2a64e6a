import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_PATTERN, API_KEY_PREFIX } from '../../contracts/metered-api';

/** A new API key: the secret (shown once), its public id, and the hash that is all we store. */
export interface NewApiKey {
  readonly apiKey: string;
  readonly keyId: string;
  readonly hash: string;
}

/** 32 random bytes behind a recognisable prefix, so that secret scanners and people spot a leaked key. */
export function generateApiKey(): NewApiKey {
  const apiKey = `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { apiKey, keyId: `key_${randomBytes(9).toString('base64url')}`, hash: hashApiKey(apiKey) };
}

/** SHA-256 of the key, hex: what the store keeps and looks keys up by. */
export function hashApiKey(apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex');
}

/** Whether a string has the shape of an API key (checked before any lookup). */
export const looksLikeApiKey = (value: string): boolean => API_KEY_PATTERN.test(value);

/** Compares two hex digests in constant time. */
export function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
