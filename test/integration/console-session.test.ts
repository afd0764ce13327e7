// Console sign-in against a real PostgreSQL: passwords (scrypt, never shown or logged), session
// cookies (HttpOnly, SameSite=Strict), CSRF on every change made with a cookie, sign-out, expiry,
// revocation by an admin, a new password ending other sessions, and the shared failure limit.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger, redactPaths } from '../../src/log.js';
import { apiAs, type Api } from '../helpers/api.js';
import { testConfig } from '../helpers/env.js';

/** The cookies a response sets, by name (value and attributes). */
function cookiesOf(res: LightMyRequestResponse): Record<string, { value: string; attrs: string }> {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return Object.fromEntries(list.map((c) => {
    const [pair, ...attrs] = c.split(';');
    const i = pair!.indexOf('=');
    return [pair!.slice(0, i), { value: pair!.slice(i + 1), attrs: attrs.join(';') }];
  }));
}

interface Browser {
  cookie: string;
  csrf: string;
  sessionId?: string;
}

describe('console sessions (PostgreSQL)', () => {
  const cfg = testConfig();
  let db: Db;
  let app: FastifyInstance;
  let admin: Api;
  const tag = randomUUID().slice(0, 8);
  const password = `correct horse ${tag}`;
  let userId: string;
  const name = `sup-${tag}`;

  const signIn = async (server: FastifyInstance, n: string, pw: string, remoteAddress = '127.0.0.1') =>
    server.inject({ method: 'POST', url: '/api/v1/session', payload: { name: n, password: pw }, remoteAddress });
  const browserOf = (res: LightMyRequestResponse): Browser => {
    const c = cookiesOf(res);
    return { cookie: `dw_session=${c.dw_session!.value}; dw_csrf=${c.dw_csrf!.value}`, csrf: c.dw_csrf!.value };
  };
  const as = (b: Browser, method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, payload?: object, csrf: string | null = b.csrf) =>
    app.inject({ method, url, payload, headers: { cookie: b.cookie, ...(csrf ? { 'x-csrf-token': csrf } : {}) } });

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 5);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
    admin = await apiAs(app, db, 'admin');
    const created = await admin.inject({ method: 'POST', url: '/api/v1/users', payload: { name, role: 'supervisor', password } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json().hasPassword).toBe(true);
    userId = created.json().id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  it('stores the password as scrypt, refuses short ones with the field named, and never shows it', async () => {
    const row = await db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    expect(row.password_hash).toMatch(/^scrypt\$32768\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(row.password_hash).not.toContain(password);
    const short = await admin.inject({ method: 'POST', url: '/api/v1/users', payload: { name: `short-${tag}`, role: 'qa', password: 'abc' } });
    expect(short.statusCode).toBe(400);
    expect(short.json().issues).toEqual([{ field: 'body.password', problem: expect.stringContaining('at least 10') }]);
    // Refused in one transaction: no user without the password it was asked with.
    expect(await db.selectFrom('users').select('id').where('name', '=', `short-${tag}`).executeTakeFirst()).toBeUndefined();
    const listed = await admin.inject({ method: 'GET', url: `/api/v1/users/${userId}` });
    const audit = await admin.inject({ method: 'GET', url: `/api/v1/audit?resource=user&resourceId=${userId}` });
    for (const body of [listed.body, audit.body]) {
      expect(body).not.toContain(password);
      expect(body).not.toContain(row.password_hash!);
    }
  });

  it('signs in to an HttpOnly, SameSite=Strict cookie; GET works with it, changes need the CSRF token', async () => {
    const res = await signIn(app, name, password);
    expect(res.statusCode, res.body).toBe(201);
    const c = cookiesOf(res);
    expect(c.dw_session!.attrs).toMatch(/HttpOnly/);
    expect(c.dw_session!.attrs).toMatch(/SameSite=Strict/);
    expect(c.dw_csrf!.attrs).not.toMatch(/HttpOnly/);
    expect(res.json()).toMatchObject({ name, role: 'supervisor', via: 'session', csrfToken: c.dw_csrf!.value });
    expect(res.body).not.toContain(c.dw_session!.value);
    const stored = await db.selectFrom('sessions').selectAll().where('user_id', '=', userId).execute();
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored)).not.toContain(c.dw_session!.value);
    const b = browserOf(res);
    expect((await as(b, 'GET', '/api/v1/me')).json()).toMatchObject({ name, via: 'session' });
    // A supervisor may pause a campaign: a forged change (no token, a wrong token) is refused first.
    const url = `/api/v1/campaigns/${randomUUID()}/pause`;
    const none = await as(b, 'POST', url, {}, null);
    expect(none.statusCode).toBe(403);
    expect(none.json().error).toMatch(/x-csrf-token/);
    expect((await as(b, 'POST', url, {}, 'x'.repeat(43))).statusCode).toBe(403);
    expect((await as(b, 'POST', url, {})).statusCode).toBe(404);
    // Permissions still apply to a session: a supervisor does not manage users.
    expect((await as(b, 'GET', '/api/v1/users')).statusCode).toBe(403);
  });

  it('answers a wrong name and a wrong password alike, and shares the failure limit with tokens', async () => {
    const limited = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent'), auth: { failureBurst: 3, failureRefillMs: 60_000 } });
    const wrongPw = await signIn(limited, name, 'not the password');
    const wrongName = await signIn(limited, `nobody-${tag}`, password);
    expect([wrongPw.statusCode, wrongName.statusCode]).toEqual([401, 401]);
    expect(wrongPw.json().error).toBe(wrongName.json().error);
    // The third failure is a wrong token: the same allowance.
    expect((await limited.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer dw_${'x'.repeat(43)}` } })).statusCode).toBe(401);
    const blocked = await signIn(limited, name, password);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not affected.
    expect((await signIn(limited, name, password, '10.9.8.7')).statusCode).toBe(201);
    await limited.close();
  });

  it('signs out, and a cookie that was signed out, revoked or expired no longer works', async () => {
    const b = browserOf(await signIn(app, name, password));
    const out = await as(b, 'DELETE', '/api/v1/session');
    expect(out.statusCode).toBe(204);
    expect(cookiesOf(out).dw_session!.attrs).toMatch(/Max-Age=0/);
    const after = await as(b, 'GET', '/api/v1/me');
    expect(after.statusCode).toBe(401);
    expect(after.json().error).toMatch(/sign in again/);

    const b2 = browserOf(await signIn(app, name, password));
    const listed = (await admin.inject({ method: 'GET', url: `/api/v1/sessions?userId=${userId}` })).json().sessions;
    // Newest first: b2's session (earlier tests left others open).
    expect(listed.length).toBeGreaterThanOrEqual(1);
    expect(listed[0]).toMatchObject({ userId, user: name, role: 'supervisor', clientIp: '127.0.0.1' });
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/sessions/${listed[0].id}` })).statusCode).toBe(204);
    expect((await as(b2, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/sessions/${listed[0].id}` })).statusCode).toBe(404);
    const actions = (await admin.inject({ method: 'GET', url: `/api/v1/audit?resource=session&resourceId=${listed[0].id}` })).json().entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['session.revoked', 'session.opened']);
    // A token holder has no session to end.
    expect((await admin.inject({ method: 'DELETE', url: '/api/v1/session' })).statusCode).toBe(400);

    const short = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent'), auth: { sessionTtlMs: 300 } });
    const res = await signIn(short, name, password);
    const b3 = browserOf(res);
    expect((await short.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: b3.cookie } })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, 500));
    expect((await short.inject({ method: 'GET', url: '/api/v1/me', headers: { cookie: b3.cookie } })).statusCode).toBe(401);
    await short.close();
  });

  it('lets a user change their own password (other sessions end) and an admin set one; disabled users are out', async () => {
    const kept = browserOf(await signIn(app, name, password));
    const other = browserOf(await signIn(app, name, password));
    const wrong = await as(kept, 'PUT', '/api/v1/me/password', { currentPassword: 'nope', password: `new one ${tag}` });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().issues[0].field).toBe('body.currentPassword');
    const changed = await as(kept, 'PUT', '/api/v1/me/password', { currentPassword: password, password: `new one ${tag}` });
    expect(changed.statusCode, changed.body).toBe(204);
    expect((await as(kept, 'GET', '/api/v1/me')).statusCode).toBe(200);
    expect((await as(other, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await signIn(app, name, password)).statusCode).toBe(401);
    expect((await signIn(app, name, `new one ${tag}`)).statusCode).toBe(201);

    // The admin resets it: every session of the user ends.
    expect((await admin.inject({ method: 'PUT', url: `/api/v1/users/${userId}/password`, payload: { password } })).statusCode).toBe(204);
    expect((await as(kept, 'GET', '/api/v1/me')).statusCode).toBe(401);
    const b = browserOf(await signIn(app, name, password));
    await admin.inject({ method: 'PATCH', url: `/api/v1/users/${userId}`, payload: { disabled: true } });
    expect((await as(b, 'GET', '/api/v1/me')).statusCode).toBe(401);
    expect((await signIn(app, name, password)).statusCode).toBe(401);
    await admin.inject({ method: 'PATCH', url: `/api/v1/users/${userId}`, payload: { disabled: false } });
    const actions = (await admin.inject({ method: 'GET', url: `/api/v1/audit?resource=user&resourceId=${userId}&limit=10` })).json().entries.map((e: { action: string }) => e.action);
    expect(actions.slice(0, 4)).toEqual(['user.updated', 'user.updated', 'user.password-set', 'user.password-changed']);
  });

  it('keeps passwords, cookies and CSRF tokens out of the logs, even at trace level', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace', redact: { paths: redactPaths, censor: '[redacted]' } }, { write: (l: string) => void lines.push(l) });
    const traced = await buildServer({ db, policies: new PolicyResolver(db, 0), log });
    const res = await signIn(traced, name, password);
    expect(res.statusCode).toBe(201);
    const b = browserOf(res);
    await traced.inject({ method: 'PUT', url: '/api/v1/me/password', payload: { currentPassword: password, password }, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) {
      expect(l).not.toContain(password);
      expect(l).not.toContain(b.csrf);
      expect(l).not.toContain(cookiesOf(res).dw_session!.value);
    }
    await traced.close();
  });
});
