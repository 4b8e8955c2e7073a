// Per-clinic API keys: `cb_<prefix>_<secret>`. The prefix is public (it finds the row and tells keys apart in
// lists and logs); the whole key is stored only as a SHA-256 hash, which is enough for a 256-bit random
// secret (no dictionary to guess from), and compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_SCOPES = [
  'ehr:write',
  'patients:read',
  'patients:write',
  'journeys:admin',
  'reports:read',
] as const;
export type ApiScope = (typeof API_SCOPES)[number];

const KEY_PATTERN = /^cb_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBytes(9)
    .toString('base64url')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '0')
    .slice(0, 12);
  const key = `cb_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

export const hashApiKey = (key: string) => createHash('sha256').update(key).digest('hex');

/** The prefix of something shaped like a key, or undefined (then no database look-up is needed). */
export function apiKeyPrefix(key: string): string | undefined {
  return KEY_PATTERN.exec(key)?.[1];
}

export function apiKeyMatches(key: string, storedHash: string): boolean {
  const given = Buffer.from(hashApiKey(key), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}
