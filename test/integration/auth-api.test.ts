// Authentication and the permission matrix, route by route: every route registered is in the
// table below (a new route without an entry fails this test), and every role gets exactly the
// access the table gives it. Tokens are stored hashed, revocable, rate-limited on failure;
// numbers are masked without "numbers.view" and audited when shown.
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import type { Role } from '../../src/db/schema.js';
import { buildServer } from '../../src/http/server.js';
import { pino } from 'pino';
import { createLogger, redactPaths } from '../../src/log.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dialwell.js');

const A = 'admin', S = 'supervisor', Q = 'qa', G = 'agent';
/** Routes anyone may call (signing in); each still answers 401 to wrong credentials. */
const publicRoutes = ['POST /api/v1/session'];
/** Who may call each route. "agent" on a route with an agent id means: on their own agent only. */
const expected: Record<string, Role[]> = {
  'GET /api/v1/me': [A, S, Q, G],
  'PUT /api/v1/me/password': [A, S, Q, G],
  'DELETE /api/v1/session': [A, S, Q, G],
  'GET /api/v1/sessions': [A],
  'DELETE /api/v1/sessions/:id': [A],
  'PUT /api/v1/users/:id/password': [A],
  'POST /api/v1/eligibility/check': [A, S],
  'POST /api/v1/eligibility/check-batch': [A, S],
  'POST /api/v1/eligibility/scrub': [A, S],
  'GET /api/v1/attempts/:id/decision': [A, S, Q],
  'GET /api/v1/campaigns/:id/attempts': [A, S, Q],
  'GET /api/v1/contacts/:id/attempts': [A, S, Q],
  'GET /api/v1/campaigns/:id/progress': [A, S],
  'GET /api/v1/contacts/:id': [A, S, Q],
  'GET /api/v1/holiday-calendars': [A, S, Q],
  'GET /api/v1/holiday-calendars/:name': [A, S, Q],
  'PUT /api/v1/holiday-calendars/:name': [A],
  'DELETE /api/v1/holiday-calendars/:name': [A],
  'GET /api/v1/settings/complaint-calendar': [A, S, Q],
  'PUT /api/v1/settings/complaint-calendar': [A],
  'POST /api/v1/attempts/:id/disposition': [A, S, G],
  'POST /api/v1/dnc': [A, S],
  'GET /api/v1/dnc': [A, S],
  'DELETE /api/v1/dnc/:phone': [A, S],
  'POST /api/v1/dnc/import': [A, S],
  'GET /api/v1/policies': [A, S, Q],
  'GET /api/v1/policies/:name': [A, S, Q],
  'POST /api/v1/policies': [A],
  'DELETE /api/v1/policies/:name': [A],
  'PUT /api/v1/policies/global': [A],
  'POST /api/v1/protected-numbers': [A],
  'GET /api/v1/protected-numbers': [A, S],
  'DELETE /api/v1/protected-numbers/:phone': [A],
  'POST /api/v1/campaigns/:id/contacts/import': [A],
  'POST /api/v1/campaigns/:id/contacts': [A],
  'GET /api/v1/campaigns/:id/contacts': [A, S],
  'GET /api/v1/agents': [A, S, Q],
  'GET /api/v1/agents/:id/state': [A, S, G],
  // The browser phone's credentials: the agent's own, nobody else's.
  'GET /api/v1/agents/:id/phone': [G],
  'POST /api/v1/agents/:id/login': [A, S, G],
  'POST /api/v1/agents/:id/logout': [A, S, G],
  'POST /api/v1/agents/:id/ready': [A, S, G],
  'POST /api/v1/agents/:id/pause': [A, S, G],
  'POST /api/v1/agents/:id/call/hangup': [A, S, G],
  'POST /api/v1/agents/:id/call/hold': [A, S, G],
  'POST /api/v1/agents/:id/call/resume': [A, S, G],
  'POST /api/v1/agents/:id/call/transfer': [A, S, G],
  'POST /api/v1/agents/:id/call/consult': [A, S, G],
  'POST /api/v1/agents/:id/call/consult/accept': [A, S, G],
  'POST /api/v1/agents/:id/call/consult/complete': [A, S, G],
  'POST /api/v1/agents/:id/call/consult/cancel': [A, S, G],
  'POST /api/v1/calls/:id/hangup': [A, S],
  'POST /api/v1/agents/:id/call/listen': [A, S],
  'POST /api/v1/agents/:id/call/whisper': [A, S],
  'DELETE /api/v1/agents/:id/call/supervision': [A, S],
  'GET /api/v1/supervisions': [A, S],
  'POST /api/v1/agents/:id/preview': [A, S, G],
  'POST /api/v1/agents/:id/preview/:attemptId/dial': [A, S, G],
  'POST /api/v1/agents/:id/preview/:attemptId/skip': [A, S, G],
  'POST /api/v1/campaigns': [A],
  'GET /api/v1/campaigns': [A, S, Q],
  'GET /api/v1/campaigns/:id': [A, S, Q],
  'PATCH /api/v1/campaigns/:id': [A],
  'DELETE /api/v1/campaigns/:id': [A],
  'GET /api/v1/campaigns/:id/agents': [A, S, Q],
  'PUT /api/v1/campaigns/:id/agents': [A, S],
  'POST /api/v1/campaigns/:id/start': [A, S],
  'POST /api/v1/campaigns/:id/pause': [A, S],
  'POST /api/v1/campaigns/:id/complete': [A, S],
  'GET /api/v1/trunks': [A, S, Q],
  'GET /api/v1/trunks/:id': [A, S, Q],
  'POST /api/v1/trunks': [A],
  'PATCH /api/v1/trunks/:id': [A],
  'DELETE /api/v1/trunks/:id': [A],
  'GET /api/v1/caller-ids': [A, S, Q],
  'GET /api/v1/caller-ids/:id': [A, S, Q],
  'POST /api/v1/caller-ids': [A],
  'PATCH /api/v1/caller-ids/:id': [A],
  'DELETE /api/v1/caller-ids/:id': [A],
  'GET /api/v1/agents/:id': [A, S, Q, G],
  'POST /api/v1/agents': [A],
  'PATCH /api/v1/agents/:id': [A],
  'DELETE /api/v1/agents/:id': [A],
  'GET /api/v1/nodes': [A, S, Q],
  'GET /api/v1/nodes/:id': [A, S, Q],
  'POST /api/v1/nodes': [A],
  'PATCH /api/v1/nodes/:id': [A],
  'DELETE /api/v1/nodes/:id': [A],
  'POST /api/v1/nodes/:id/drain': [A],
  'POST /api/v1/nodes/:id/undrain': [A],
  'GET /api/v1/users': [A],
  'GET /api/v1/users/:id': [A],
  'POST /api/v1/users': [A],
  'PATCH /api/v1/users/:id': [A],
  'POST /api/v1/users/:id/tokens': [A],
  'DELETE /api/v1/tokens/:id': [A],
  'GET /api/v1/audit': [A],
  'GET /api/v1/reports/campaigns': [A, S],
  'GET /api/v1/reports/agents': [A, S, G],
  'GET /api/v1/live': [A, S],
  'GET /api/v1/live/stream': [A, S, G],
  'GET /api/v1/calls': [A, S, Q, G],
  'GET /api/v1/calls/:id': [A, S, Q, G],
  'GET /api/v1/reviews/:id': [A, S, Q, G],
  'GET /api/v1/qa/summary': [A, S, Q, G],
  'GET /api/v1/scorecards': [A, S, Q],
  'GET /api/v1/scorecards/:id': [A, S, Q],
  'POST /api/v1/scorecards': [A],
  'PATCH /api/v1/scorecards/:id': [A],
  'DELETE /api/v1/scorecards/:id': [A],
  'POST /api/v1/calls/:id/reviews': [A, Q],
  'PATCH /api/v1/reviews/:id': [A, Q],
  'DELETE /api/v1/reviews/:id': [A, Q],
  'POST /api/v1/calls/:id/complaints': [A, Q],
  'PATCH /api/v1/complaints/:id': [A, Q],
  'GET /api/v1/complaints': [A, S, Q],
  'GET /api/v1/complaints/:id': [A, S, Q],
  'GET /api/v1/recordings': [A, S, Q],
  'GET /api/v1/recordings/:id': [A, S, Q],
  'GET /api/v1/recordings/:id/audio': [A, S, Q],
};

describe('authentication and permissions (PostgreSQL)', () => {
  const cfg = testConfig();
  let db: Db;
  let app: FastifyInstance;
  const as: Partial<Record<Role, Api>> = {};
  let agentId: string;
  let campaignId: string;
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 5);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
    agentId = (await createAgent(db, { name: 'Perm Agent', endpoint: `perm-${tag}`, contactUri: 'sip:127.0.0.1:5999' })).id;
    for (const role of [A, S, Q] as const) as[role] = await apiAs(app, db, role);
    as.agent = await apiAs(app, db, 'agent', { agentId });
    const trunk = await createTrunk(db, { name: `perm-${tag}`, host: '127.0.0.1', port: 5999 });
    const cid = await createCallerId(db, randomCallerNumber());
    campaignId = (await createCampaign(db, { name: `perm ${tag}`, trunkId: trunk.id, callerIdId: cid.id })).id;
    await addContact(db, { campaignId, phone: '+13055550177' });
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const urlFor = (route: string, agent: string) =>
    route
      .replace('/agents/:id', `/agents/${agent}`)
      .replace(':attemptId', randomUUID())
      .replace(':id', randomUUID())
      .replace(':phone', encodeURIComponent('+13055550100'))
      .replace(':name', `no-such-${tag}`);

  it('names an access rule for every route, and the table covers every route', () => {
    const registered = app.routeAccess.filter((r) => r.url.startsWith('/api/')).map((r) => `${r.method} ${r.url}`).sort();
    expect(registered).toEqual([...Object.keys(expected), ...publicRoutes].sort());
    expect(app.routeAccess.filter((r) => r.url.startsWith('/api/') && !r.access)).toEqual([]);
    expect(app.routeAccess.filter((r) => r.access === 'public' && r.url.startsWith('/api/')).map((r) => `${r.method} ${r.url}`)).toEqual(publicRoutes);
  });

  it('marks the probes and /metrics public explicitly, and they answer without a token', async () => {
    const publicRoutes = ['GET /healthz', 'GET /metrics', 'GET /readyz'];
    const marked = app.routeAccess.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.url}`);
    expect(marked.filter((r) => !r.includes('/api/')).sort()).toEqual(publicRoutes);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode, ready.body).toBe(200);
    expect(ready.json()).toMatchObject({ ready: true, checks: { postgresql: { ok: true }, migrations: { ok: true } } });
  });

  it('documents every route at /docs from the zod schemas, without a token', async () => {
    const spec = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    expect(spec.openapi).toMatch(/^3\./);
    const documented = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`));
    for (const route of Object.keys(expected)) expect(documented).toContain(route);
    expect(spec.paths['/api/v1/trunks'].post.requestBody.content['application/json'].schema.properties.maxCps).toMatchObject({ type: 'integer', maximum: 1000 });
    expect(spec.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    const page = await app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(page.statusCode);
  });

  it('gives every role exactly its access, route by route', async () => {
    const wrong: string[] = [];
    for (const route of Object.keys(expected)) {
      const [method, pattern] = route.split(' ') as [string, string];
      for (const role of [A, S, Q, G] as const) {
        const allowed = expected[route]!.includes(role);
        // The agent's own id only for the agent: an admin's DELETE must not remove the test's agent.
        const res = await as[role]!.inject({ method: method as 'GET', url: urlFor(pattern, role === G ? agentId : randomUUID()), ...(method === 'GET' || method === 'DELETE' ? {} : { payload: {} }) });
        const denied = res.statusCode === 403 || res.statusCode === 401;
        if (allowed === denied) wrong.push(`${role} ${route}: ${res.statusCode} ${res.body.slice(0, 120)}`);
        // Nothing here may crash a route; 503 is "the dialer runs in another process".
        if (res.statusCode >= 500 && res.statusCode !== 503) wrong.push(`${role} ${route}: ${res.statusCode} ${res.body.slice(0, 120)}`);
        // An agent is refused on any other agent's session.
        if (role === G && allowed && pattern.startsWith('/api/v1/agents/:id')) {
          const other = await as.agent!.inject({ method: method as 'GET', url: urlFor(pattern, randomUUID()), ...(method === 'GET' ? {} : { payload: {} }) });
          if (other.statusCode !== 403) wrong.push(`agent on another agent ${route}: ${other.statusCode}`);
        }
      }
      // Without a token, every route is 401.
      const anon = await app.inject({ method: method as 'GET', url: urlFor(pattern, agentId) });
      if (anon.statusCode !== 401) wrong.push(`anonymous ${route}: ${anon.statusCode}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it('stores tokens hashed, shows them once, revokes them, and refuses disabled users', async () => {
    const admin = as.admin!;
    const created = await admin.inject({ method: 'POST', url: '/api/v1/users', payload: { name: `sup ${tag}`, role: 'supervisor' } });
    expect(created.statusCode, created.body).toBe(201);
    const userId = created.json().id as string;
    const issued = await admin.inject({ method: 'POST', url: `/api/v1/users/${userId}/tokens`, payload: { name: 'laptop' } });
    const token = issued.json().token as string;
    expect(token).toMatch(/^dw_/);
    const row = await db.selectFrom('api_tokens').selectAll().where('id', '=', issued.json().id).executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(token);
    const me = await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.json()).toMatchObject({ name: `sup ${tag}`, role: 'supervisor' });
    expect(me.json().permissions).not.toContain('config.write');
    const listed = await admin.inject({ method: 'GET', url: `/api/v1/users/${userId}` });
    expect(listed.json().tokens).toHaveLength(1);
    expect(listed.body).not.toContain(token);
    expect(listed.body).not.toContain(row.token_hash);

    expect((await admin.inject({ method: 'PATCH', url: `/api/v1/users/${userId}`, payload: { disabled: true } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    await admin.inject({ method: 'PATCH', url: `/api/v1/users/${userId}`, payload: { disabled: false } });
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/tokens/${issued.json().id}` })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(401);
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/tokens/${issued.json().id}` })).statusCode).toBe(404);
    // An agent user needs the agent they work as.
    expect((await admin.inject({ method: 'POST', url: '/api/v1/users', payload: { name: `ag ${tag}`, role: 'agent' } })).json().issues[0].field).toBe('body.agentId');
    const actions = (await admin.inject({ method: 'GET', url: `/api/v1/audit?resource=user&resourceId=${userId}` })).json().entries.map((e: { action: string }) => e.action);
    expect(actions).toEqual(['user.updated', 'user.updated', 'user.created']);
  });

  it('rate-limits failed token checks per client address', async () => {
    const limited = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent'), auth: { failureBurst: 3, failureRefillMs: 60_000 } });
    const good = await apiAs(limited, db, 'qa');
    const bad = () => limited.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer dw_${'x'.repeat(43)}` } });
    expect([(await bad()).statusCode, (await bad()).statusCode, (await bad()).statusCode]).toEqual([401, 401, 401]);
    const blocked = await bad();
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Blocked addresses are refused before any token lookup, good token or not.
    expect((await good.inject({ method: 'GET', url: '/api/v1/me' })).statusCode).toBe(429);
    // Another address is not affected.
    expect((await limited.inject({ method: 'GET', url: '/api/v1/me', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${good.token}` } })).statusCode).toBe(200);
    await limited.close();
  });

  it('masks numbers for roles without "numbers.view" and audits unmasked views', async () => {
    const url = `/api/v1/campaigns/${campaignId}/contacts?unmasked=true`;
    const sup = await as.supervisor!.inject({ method: 'GET', url });
    expect(sup.statusCode).toBe(200);
    expect(sup.body).not.toContain('+13055550177');
    expect(sup.json().contacts[0].phone).toBe('+1 305****177');
    const granted = await apiAs(app, db, 'supervisor', { viewNumbers: true });
    expect((await granted.inject({ method: 'GET', url })).json().contacts[0].phone).toBe('+13055550177');
    const audit = await db.selectFrom('audit_log').selectAll().where('user_id', '=', granted.userId).execute();
    expect(audit).toMatchObject([{ action: 'numbers.viewed', resource_id: '/api/v1/campaigns/:id/contacts' }]);
    // Error messages are responses too.
    const err = await as.supervisor!.inject({ method: 'POST', url: '/api/v1/eligibility/check', payload: { phone: '+13055550177', campaignId: randomUUID() } });
    expect(err.body).not.toContain('+13055550177');
  });

  it('keeps secrets out of responses and logs, even at trace level', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'trace', redact: { paths: redactPaths, censor: '[redacted]' } }, { write: (l: string) => void lines.push(l) });
    const traced = await buildServer({ db, policies: new PolicyResolver(db, 0), log });
    const admin = await apiAs(traced, db, 'admin');
    const secret = `pw-${randomUUID()}`;
    const t = await admin.inject({ method: 'POST', url: '/api/v1/trunks', payload: { name: `sec-${tag}`, host: '127.0.0.1', username: 'acct', password: secret } });
    expect(t.statusCode, t.body).toBe(201);
    const a = await admin.inject({ method: 'POST', url: '/api/v1/agents', payload: { name: 'Sec', endpoint: `sec-${tag}`, sipPassword: secret } });
    expect(a.statusCode, a.body).toBe(201);
    await admin.inject({ method: 'PATCH', url: `/api/v1/trunks/${t.json().id}`, payload: { password: 'x' } }); // refused: too short
    const bodies = [t.body, a.body, (await admin.inject({ method: 'GET', url: '/api/v1/trunks' })).body, (await admin.inject({ method: 'GET', url: '/api/v1/audit?limit=20' })).body];
    expect(lines.length).toBeGreaterThan(0);
    for (const text of [...bodies, ...lines]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(admin.token);
    }
    await traced.close();
  });

  it('`dialwell token create` makes the first admin and prints a working token once', () => {
    const env = { ...process.env, DATABASE_URL: cfg.DATABASE_URL, LOG_LEVEL: 'warn' };
    const run = spawnSync(process.execPath, [bin, 'token', 'create', '--role', 'admin', '--name', `ops-${tag}`], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    const token = run.stdout.trim();
    expect(token).toMatch(/^dw_[A-Za-z0-9_-]{43}$/);
    expect(run.stderr).toContain('shown once');
    const bad = spawnSync(process.execPath, [bin, 'token', 'create', '--role', 'boss', '--name', 'x'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--role');
    return app.inject({ method: 'GET', url: '/api/v1/me', headers: { authorization: `Bearer ${token}` } }).then((r) => {
      expect(r.json()).toMatchObject({ name: `ops-${tag}`, role: 'admin' });
    });
  });

  it('`dialwell token password` sets a console password from standard input; the user signs in with it', async () => {
    const env = { ...process.env, DATABASE_URL: cfg.DATABASE_URL, LOG_LEVEL: 'warn' };
    const name = `ops-${tag}`;
    const secret = `console-${tag}-pass`;
    const run = spawnSync(process.execPath, [bin, 'token', 'password', '--name', name], { env, input: `${secret}\n`, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout + run.stderr).not.toContain(secret);
    const short = spawnSync(process.execPath, [bin, 'token', 'password', '--name', name], { env, input: 'x\n', encoding: 'utf8', timeout: 60_000 });
    expect(short.status).toBe(2);
    const missing = spawnSync(process.execPath, [bin, 'token', 'password', '--name', `nobody-${tag}`], { env, input: `${secret}\n`, encoding: 'utf8', timeout: 60_000 });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('token create');
    const signIn = await app.inject({ method: 'POST', url: '/api/v1/session', payload: { name, password: secret } });
    expect(signIn.statusCode, signIn.body).toBe(201);
  });
});
