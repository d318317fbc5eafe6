/** Opaque bearer tokens: 256 random bits, base64url. Stored and compared by their SHA-256 digest. */
import { createHash, randomBytes } from 'node:crypto';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(9).toString('base64url').replace(/[^A-Za-z0-9]/g, 'x')}`;
}

/** Tokens are kept only as digests, so a leaked memory dump or table does not leak usable tokens. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
