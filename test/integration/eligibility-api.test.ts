// The compliance HTTP API against real PostgreSQL: dry-run checks, stored decisions, DNC lists
// (add, remove with audit, bulk import), scrubbing, and clear 4xx errors for bad input.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { decideAndReserve } from '../../src/compliance/store/dial-gate.js';
import { PolicyResolver, savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { buildServer } from '../../src/http/server.js';
import { apiAs, type Api } from '../helpers/api.js';
import { createLogger } from '../../src/log.js';
import { testConfig, randomCallerNumber } from '../helpers/env.js';

describe('eligibility, decisions and DNC over HTTP', () => {
  let db: Db;
  let app: FastifyInstance;
  let api: Api;
  let campaignId: string;
  const tag = randomUUID().slice(0, 8);
  const policies = () => new PolicyResolver(db, 0);

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, 5);
    app = await buildServer({ db, policies: policies(), log: createLogger('silent') });
    api = await apiAs(app, db, 'admin');
    const trunk = await createTrunk(db, { name: `t-${tag}`, host: '127.0.0.1', port: 5999 });
    const cid = await createCallerId(db, randomCallerNumber());
    campaignId = (await createCampaign(db, { name: `api ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName: 'us-federal', state: 'running' })).id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const post = (url: string, payload: unknown) => api.inject({ method: 'POST', url, payload: payload as object });

  it('answers the documented dry-run check with reasons and zones, reserving nothing', async () => {
    const decisionsOf = async () =>
      Number((await db.selectFrom('decisions').where('phone', '=', '+13055550123').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await decisionsOf();
    // 12:30Z on the US spring-forward day is 08:30 EDT in Miami: allowed under us-federal.
    const ok = await post('/api/v1/eligibility/check', { phone: '+13055550123', campaignId, at: '2026-03-08T12:30:00Z' });
    expect(ok.statusCode).toBe(200);
    const body = ok.json();
    expect(body.allowed).toBe(true);
    expect(body.timeZones).toEqual(['America/New_York']);
    expect(body.reasons.find((r: { rule: string }) => r.rule === 'hours')).toMatchObject({ passed: true });
    expect(body.reasons.every((r: object) => 'rule' in r && 'passed' in r && 'detail' in r)).toBe(true);
    // 11:59Z is 07:59 EDT: the minute before the window opens.
    const early = (await post('/api/v1/eligibility/check', { phone: '+13055550123', at: '2026-03-08T11:59:00Z', campaignId })).json();
    expect(early.allowed).toBe(false);
    expect(early.nextAllowedAt).toBe('2026-03-08T12:00:00.000Z');
    expect(await decisionsOf()).toBe(before);
  });

  it('parses national numbers with the default country and rejects bad input with a clear 4xx', async () => {
    const nat = await post('/api/v1/eligibility/check', { phone: '(305) 555-0123', country: 'US', at: '2026-03-09T15:00:00Z', campaignId });
    expect(nat.statusCode).toBe(200);
    expect(nat.json().phone).toBe('+13055550123');
    const bad = await post('/api/v1/eligibility/check', { phone: 'not a number' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/phone: "not a number" is not a phone number/);
    const wrongType = await post('/api/v1/eligibility/check', { phone: 12345, at: 'yesterday' });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().issues.map((i: { field: string }) => i.field).sort()).toEqual(['body.at', 'body.phone']);
    const noCampaign = await post('/api/v1/eligibility/check', { phone: '+13055550123', campaignId: randomUUID() });
    expect(noCampaign.statusCode).toBe(404);
    const extra = await post('/api/v1/eligibility/check', { phone: '+13055550123', sneaky: "'; drop table attempts; --" });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().error).toMatch(/sneaky/);
  });

  it('stores the decision of a real attempt and shows it', async () => {
    const policyName = `open-${tag}`;
    await savePolicy(db, { name: policyName, windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }] }, 'test');
    const trunk = await db.selectFrom('trunks').where('name', '=', `t-${tag}`).select('id').executeTakeFirstOrThrow();
    const cid = await db.selectFrom('caller_ids').select('id').executeTakeFirstOrThrow();
    const camp = await createCampaign(db, { name: `dec ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, state: 'running' });
    const contact = await addContact(db, { campaignId: camp.id, phone: '+442079460123' });
    const attempt = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });
    const none = await api.inject({ method: 'GET', url: `/api/v1/attempts/${attempt.id}/decision` });
    expect(none.statusCode).toBe(404);
    const r = await decideAndReserve({ db, policies: policies() }, attempt.id);
    expect(r.status).toBe('allowed');
    const got = await api.inject({ method: 'GET', url: `/api/v1/attempts/${attempt.id}/decision` });
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ attemptId: attempt.id, state: 'dialing', allowed: true, timeZones: ['Europe/London'], policyVersions: [{ name: policyName, version: 1 }] });
    // A new policy version does not change the stored decision.
    await savePolicy(db, { name: policyName, windows: [{ days: ['mon'], start: '09:00', end: '10:00' }] }, 'test');
    expect((await api.inject({ method: 'GET', url: `/api/v1/attempts/${attempt.id}/decision` })).json().policyVersions).toEqual([{ name: policyName, version: 1 }]);
    expect((await api.inject({ method: 'GET', url: '/api/v1/attempts/not-a-uuid/decision' })).statusCode).toBe(400);
  });

  it('adds, lists and removes DNC entries with an audit trail; the next check sees them at once', async () => {
    const phone = '+13055550177';
    const at = '2026-03-09T15:00:00Z';
    expect((await post('/api/v1/eligibility/check', { phone, at, campaignId })).json().allowed).toBe(true);
    const add = await post('/api/v1/dnc', { phone, source: 'complaint', reason: 'asked to stop' });
    expect(add.statusCode).toBe(201);
    const denied = (await post('/api/v1/eligibility/check', { phone, at, campaignId })).json();
    expect(denied.allowed).toBe(false);
    expect(denied.reasons.find((r: { rule: string }) => r.rule === 'dnc')).toMatchObject({ passed: false });
    expect(denied.nextAllowedAt).toBeNull();
    const list = (await api.inject({ method: 'GET', url: `/api/v1/dnc?phone=${encodeURIComponent(phone)}` })).json();
    expect(list.entries).toHaveLength(1);
    const del = await api.inject({ method: 'DELETE', url: `/api/v1/dnc/${encodeURIComponent(phone)}?reason=entered%20in%20error` });
    expect(del.statusCode).toBe(200);
    expect((await api.inject({ method: 'DELETE', url: `/api/v1/dnc/${encodeURIComponent(phone)}` })).statusCode).toBe(404);
    const audit = await db.selectFrom('dnc_audit').where('phone', '=', phone).select(['action', 'actor']).orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['add', 'remove']);
    expect((await post('/api/v1/eligibility/check', { phone, at, campaignId })).json().allowed).toBe(true);
  });

  it('bulk-imports a registry (bad lines reported, good ones kept) and scrubs a list', async () => {
    const lines = ['+13055550301', '13055550302', '3055550303', 'garbage', '', '+13055550301', '0123'];
    const imp = await api.inject({
      method: 'POST',
      url: `/api/v1/dnc/import?registry=test-${tag}&nationalPrefix=1`,
      headers: { 'content-type': 'text/plain' },
      payload: lines.join('\n'),
    });
    expect(imp.statusCode).toBe(200);
    expect(imp.json()).toMatchObject({ read: 6, imported: 3, invalid: 2, duplicates: 1 });
    const scrub = await post('/api/v1/eligibility/scrub', {
      phones: ['+13055550301', '+13055550303', '+19005550100', 'nonsense', '+13055550399'],
      campaignId,
      at: '2026-03-09T15:00:00Z',
      details: true,
    });
    expect(scrub.statusCode).toBe(200);
    const s = scrub.json();
    expect(s.counts).toMatchObject({ dnc: 2, invalid: 1, protected: 1, eligible: 1 });
    expect(s.numbers[2]).toMatchObject({ phone: '+19005550100', status: 'protected' });
    // A second registry merges (the first one's numbers stay); replacing it drops only its own.
    const importText = (registry: string, body: string, replace = false) =>
      api.inject({ method: 'POST', url: `/api/v1/dnc/import?registry=${registry}&replace=${replace}`, headers: { 'content-type': 'text/csv' }, payload: body });
    const second = await importText(`other-${tag}`, '+13055550303\n+13055550304\n');
    expect(second.json()).toMatchObject({ read: 2, imported: 1, duplicates: 1 });
    const replaced = await importText(`other-${tag}`, '+13055550305\n', true);
    expect(replaced.json()).toMatchObject({ imported: 1 });
    const after = await post('/api/v1/eligibility/scrub', { phones: ['+13055550301', '+13055550304', '+13055550305'], campaignId, details: true });
    expect(after.json().numbers.map((n: { status: string }) => n.status)).toEqual(['dnc', 'eligible', 'dnc']);
    const noBody = await api.inject({ method: 'POST', url: `/api/v1/dnc/import?registry=x`, headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(noBody.statusCode).toBe(415);
  });

  it('dispositions feed compliance at once: refusals stop a product, a do-not-call request blocks the number', async () => {
    const policyName = `refusals-${tag}`;
    await savePolicy(db, {
      name: policyName,
      windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }],
      refusals: { stopAfter: 2, scope: 'product' },
    }, 'test');
    const trunk = await db.selectFrom('trunks').where('name', '=', `t-${tag}`).select('id').executeTakeFirstOrThrow();
    const cid = await db.selectFrom('caller_ids').select('id').executeTakeFirstOrThrow();
    const camp = await createCampaign(db, { name: `disp ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, product: 'loan', state: 'running' });
    const phone = '+13055550188';
    const contact = await addContact(db, { campaignId: camp.id, phone });
    const gate = { db, policies: policies() };
    const dialOnce = async () => {
      const a = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
      const r = await decideAndReserve(gate, a.id);
      if (r.status === 'allowed') await db.updateTable('attempts').set({ state: 'completed', outcome: 'answered' }).where('id', '=', a.id).execute();
      return { id: a.id, r };
    };
    const undialed = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    const early = await post(`/api/v1/attempts/${undialed.id}/disposition`, { result: 'not-interested', refused: true });
    expect(early.statusCode).toBe(409);
    for (let i = 0; i < 2; i++) {
      const { id, r } = await dialOnce();
      expect(r.status).toBe('allowed');
      const d = await post(`/api/v1/attempts/${id}/disposition`, { result: 'not-interested', refused: true });
      expect(d.statusCode).toBe(200);
    }
    const third = await dialOnce();
    expect(third.r.status).toBe('denied');
    const failed = third.r.status === 'denied' ? third.r.decision.reasons.filter((x) => !x.passed).map((x) => x.rule) : [];
    expect(failed).toEqual(['refusals']);

    const other = '+13055550189';
    const c2 = await addContact(db, { campaignId: camp.id, phone: other });
    const a2 = await createAttempt(db, { campaignId: camp.id, contactId: c2.id, phone: other, idempotencyKey: randomUUID() });
    expect((await decideAndReserve(gate, a2.id)).status).toBe('allowed');
    const dnc = await post(`/api/v1/attempts/${a2.id}/disposition`, { result: 'complaint', complaint: 'called too often' });
    expect(dnc.json()).toMatchObject({ addedToDnc: true });
    const check = (await post('/api/v1/eligibility/check', { phone: other, campaignId: camp.id })).json();
    expect(check.reasons.find((r: { rule: string }) => r.rule === 'dnc')).toMatchObject({ passed: false });
    expect(check.reasons.find((r: { rule: string }) => r.rule === 'dnc').detail).toMatch(/complaint/);
  });

  it('protected lists (e.g. payphones) are never dialed', async () => {
    const phone = '+13055550166';
    const at = '2026-03-09T15:00:00Z';
    expect((await post('/api/v1/eligibility/check', { phone, at, campaignId })).json().allowed).toBe(true);
    expect((await post('/api/v1/protected-numbers', { phone, list: 'payphone', note: 'lobby phone' })).statusCode).toBe(201);
    const denied = (await post('/api/v1/eligibility/check', { phone, at, campaignId })).json();
    expect(denied.allowed).toBe(false);
    expect(denied.reasons.find((r: { rule: string }) => r.rule === 'protected')).toMatchObject({ passed: false });
    expect((await post('/api/v1/protected-numbers', { phone: '12', list: 'payphone' })).statusCode).toBe(400);
    expect((await api.inject({ method: 'DELETE', url: `/api/v1/protected-numbers/${encodeURIComponent(phone)}?list=payphone` })).statusCode).toBe(200);
  });
});
