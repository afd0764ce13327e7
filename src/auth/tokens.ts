// API tokens: 32 random bytes, shown once, stored as their SHA-256 (a token is high-entropy, so a
// fast hash is enough and lets every request look it up by index).
import { createHash, randomBytes } from 'node:crypto';

const prefix = 'dw_';

export function newToken(): { token: string; hash: string; prefix: string } {
  const token = `${prefix}${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashToken(token), prefix: token.slice(0, 10) };
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** A token's shape, checked before any database lookup. */
export function looksLikeToken(s: string): boolean {
  return /^dw_[A-Za-z0-9_-]{43}$/.test(s);
}
