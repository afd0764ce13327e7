// Console sessions: a user signs in with name and password and gets a random session secret (an
// HttpOnly cookie) and a CSRF token (sent back in a header on every change). Both are stored as
// SHA-256 hashes (high-entropy, so a fast hash is enough); sessions expire and can be revoked.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/database.js';
import { ClientError } from '../errors.js';
import { decoyHash, hashPassword, verifyPassword, checkPasswordRules } from './passwords.js';
import { permissionsOf } from './permissions.js';
import type { Principal } from './users.repository.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const secretPattern = /^[A-Za-z0-9_-]{43}$/;

export interface OpenedSession {
  id: string;
  /** The cookie's value: shown to the browser once, stored hashed. */
  secret: string;
  csrfToken: string;
  expiresAt: Date;
}

/** The user a name and password stand for, or null (a wrong name costs as much as a wrong password). */
export async function checkPassword(db: Db, name: string, password: string): Promise<{ id: string } | null> {
  const u = await db.selectFrom('users').select(['id', 'password_hash', 'disabled']).where('name', '=', name).executeTakeFirst();
  const ok = await verifyPassword(password, u?.password_hash ?? (await decoyHash()));
  return u && u.password_hash && ok && !u.disabled ? { id: u.id } : null;
}

export async function openSession(db: Db, userId: string, ttlMs: number, client: { ip: string; userAgent?: string | undefined }): Promise<OpenedSession> {
  const secret = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlMs);
  const row = await db
    .insertInto('sessions')
    .values({ user_id: userId, secret_hash: sha256(secret), csrf_hash: sha256(csrfToken), expires_at: expiresAt, revoked_at: null, client_ip: client.ip, user_agent: client.userAgent?.slice(0, 300) ?? null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return { id: row.id, secret, csrfToken, expiresAt };
}

export interface SessionPrincipal extends Principal {
  sessionId: string;
  csrfHash: string;
}

/** The principal of a live session secret, or null when unknown, expired, revoked, or its user disabled. */
export async function authenticateSession(db: Db, secret: string): Promise<SessionPrincipal | null> {
  if (!secretPattern.test(secret)) return null;
  const row = await db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id as sessionId', 's.csrf_hash', 's.last_seen_at', 'u.id as userId', 'u.name', 'u.role', 'u.agent_id', 'u.view_numbers'])
    .where('s.secret_hash', '=', sha256(secret))
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', new Date())
    .where('u.disabled', '=', false)
    .executeTakeFirst();
  if (!row) return null;
  // For the admin's session list; a minute's precision spares a write per request.
  if (Date.now() - row.last_seen_at.getTime() > 60_000) {
    await db.updateTable('sessions').set({ last_seen_at: new Date() }).where('id', '=', row.sessionId).execute();
  }
  return {
    userId: row.userId, name: row.name, role: row.role, agentId: row.agent_id, tokenId: null, sessionId: row.sessionId, csrfHash: row.csrf_hash,
    permissions: permissionsOf(row.role, row.view_numbers),
  };
}

/** Whether a CSRF token sent by the browser is the session's. */
export function csrfMatches(sent: string, csrfHash: string): boolean {
  const a = Buffer.from(sha256(sent), 'hex');
  const b = Buffer.from(csrfHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function revokeSession(db: Db, sessionId: string): Promise<boolean> {
  const r = await db.updateTable('sessions').set({ revoked_at: new Date() }).where('id', '=', sessionId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Ends every live session of a user (a new password), but the one named. */
export async function revokeSessionsOf(db: Db, userId: string, except: string | null = null): Promise<number> {
  let q = db.updateTable('sessions').set({ revoked_at: new Date() }).where('user_id', '=', userId).where('revoked_at', 'is', null);
  if (except) q = q.where('id', '!=', except);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Live sessions (not revoked, not expired), newest first; one user's when userId is given. */
export async function listSessions(db: Db, opts: { userId?: string | undefined } = {}) {
  let q = db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .select(['s.id', 's.user_id', 'u.name', 'u.role', 's.created_at', 's.expires_at', 's.last_seen_at', 's.client_ip', 's.user_agent'])
    .where('s.revoked_at', 'is', null)
    .where('s.expires_at', '>', new Date())
    .orderBy('s.created_at', 'desc')
    .limit(1000);
  if (opts.userId) q = q.where('s.user_id', '=', opts.userId);
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id, userId: r.user_id, user: r.name, role: r.role, createdAt: r.created_at, expiresAt: r.expires_at, lastSeenAt: r.last_seen_at,
    clientIp: r.client_ip, userAgent: r.user_agent,
  }));
}

/** Sets (or replaces) a user's password; their other sessions end. */
export async function setPassword(db: Db, userId: string, password: string, keepSession: string | null = null): Promise<void> {
  checkPasswordRules(password);
  const hash = await hashPassword(password);
  const r = await db.updateTable('users').set({ password_hash: hash, password_changed_at: new Date(), updated_at: new Date() }).where('id', '=', userId).executeTakeFirst();
  if (Number(r.numUpdatedRows) === 0) throw new ClientError(`user ${userId} does not exist`, 404);
  await revokeSessionsOf(db, userId, keepSession);
}
