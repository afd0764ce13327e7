// Console passwords: scrypt (node:crypto) with a random salt per password, stored as
// "scrypt$N$r$p$salt$hash" so the cost can rise later without breaking stored hashes.
// Passwords are never logged nor returned; comparisons are constant-time.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { ClientError } from '../errors.js';

const scrypt = (password: string, salt: Buffer, keylen: number, opts: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) => scryptCb(password, salt, keylen, opts, (err, key) => (err ? reject(err) : resolve(key))));

/** N=2^15, r=8, p=1: OWASP's scrypt minimum; ~50 ms on this machine's cores. */
const cost = { N: 1 << 15, r: 8, p: 1 } as const;
const keyLength = 32;
// scrypt needs 128*N*r bytes; node's default maxmem (32 MiB) is exactly that, so give headroom.
const maxmem = 64 * 1024 * 1024;

export const passwordRules = { min: 10, max: 200 } as const;

/** Refuses passwords a user should not be allowed to set, naming the rule. */
export function checkPasswordRules(password: string, field = 'password'): void {
  if (password.length < passwordRules.min) throw new ClientError(`the password must have at least ${passwordRules.min} characters`, 400, field);
  if (password.length > passwordRules.max) throw new ClientError(`the password must have at most ${passwordRules.max} characters`, 400, field);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, keyLength, { ...cost, maxmem });
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const key = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let decoy: Promise<string> | undefined;
/** A hash to verify against when the user does not exist, so that a wrong name takes as long as a wrong password. */
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(16).toString('hex'));
  return decoy;
}
