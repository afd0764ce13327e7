// Campaign configuration over HTTP against real PostgreSQL: validation (limits within the
// trunk's, references exist), script and retry rules, and the state machine.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { buildServer } from '../../src/http/server.js';
import { apiAs, type Api } from '../helpers/api.js';
import { createLogger } from '../../src/log.js';
import { testConfig, randomCallerNumber } from '../helpers/env.js';

describe('campaigns API', () => {
  let db: Db;
  let app: FastifyInstance;
  let api: Api;
  let trunkId: string;
  let callerIdId: string;
  const tag = randomUUID().slice(0, 8);

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, 4);
    app = await buildServer({ db, policies: new PolicyResolver(db), log: createLogger('silent') });
    api = await apiAs(app, db, 'admin');
    trunkId = (await createTrunk(db, { name: `cp-${tag}`, host: '127.0.0.1', port: 5999 })).id; // max_cps 20, 100 channels
    callerIdId = (await createCallerId(db, randomCallerNumber())).id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });
  const send = (method: 'POST' | 'PATCH' | 'GET', url: string, payload?: object) => api.inject({ method, url, ...(payload ? { payload } : {}) });

  it('creates a campaign with defaults, a script and retry rules', async () => {
    const r = await send('POST', '/api/v1/campaigns', {
      name: `Loans ${tag}`, trunkId, callerIdId, policyName: 'callcentre-default', dialMode: 'predictive', maxCps: 10,
      script: { opening: 'Hello, this is Dialwell Bank.', questionnaire: ['Why not now?'] },
      retry: { busy: { afterMinutes: 10, maxAttempts: 3 }, 'no-answer': { afterMinutes: 120, maxAttempts: 2 } },
    });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toMatchObject({ state: 'draft', dialMode: 'predictive', maxCps: 10, maxConcurrent: 10, abandonCap: 0.03, recordCalls: true, script: { opening: 'Hello, this is Dialwell Bank.' } });
    const dup = await send('POST', '/api/v1/campaigns', { name: `Loans ${tag}`, trunkId, callerIdId });
    expect(dup.statusCode).toBe(409);
  });

  it('rejects limits above the trunk, unknown references and bad fields, naming the field', async () => {
    const cps = await send('POST', '/api/v1/campaigns', { name: `Too fast ${tag}`, trunkId, callerIdId, maxCps: 50 });
    expect(cps.statusCode).toBe(400);
    expect(cps.json().issues[0].field).toBe('body.maxCps');
    expect(cps.json().error).toMatch(/limit of 20 calls per second/);
    const pol = await send('POST', '/api/v1/campaigns', { name: `No policy ${tag}`, trunkId, callerIdId, policyName: 'nope' });
    expect(pol.statusCode).toBe(400);
    expect(pol.json().error).toMatch(/no policy named "nope"/);
    const bad = await send('POST', '/api/v1/campaigns', {
      name: '', trunkId: 'x', callerIdId, dialMode: 'psychic', retry: { busy: { afterMinutes: -1, maxAttempts: 1 } }, informationMessage: ['http://evil/x.wav'],
    });
    expect(bad.statusCode).toBe(400);
    const fields = bad.json().issues.map((i: { field: string }) => i.field);
    expect(fields).toEqual(expect.arrayContaining(['body.name', 'body.trunkId', 'body.dialMode', 'body.retry.busy.afterMinutes', 'body.informationMessage.0']));
  });

  it('moves through draft → running ⇄ paused → completed; completing cancels queued attempts', async () => {
    const c = (await send('POST', '/api/v1/campaigns', { name: `States ${tag}`, trunkId, callerIdId })).json();
    const contact = await addContact(db, { campaignId: c.id, phone: '+13055557301' });
    const attempt = await createAttempt(db, { campaignId: c.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });
    expect((await send('POST', `/api/v1/campaigns/${c.id}/pause`)).statusCode).toBe(409);
    expect((await send('POST', `/api/v1/campaigns/${c.id}/start`)).json().state).toBe('running');
    expect((await send('POST', `/api/v1/campaigns/${c.id}/pause`)).json().state).toBe('paused');
    expect((await send('POST', `/api/v1/campaigns/${c.id}/start`)).json().state).toBe('running');
    const patched = await send('PATCH', `/api/v1/campaigns/${c.id}`, { maxConcurrent: 20, script: { close: 'Thank you.' } });
    expect(patched.json()).toMatchObject({ maxConcurrent: 20, script: { close: 'Thank you.' } });
    expect((await send('POST', `/api/v1/campaigns/${c.id}/complete`)).json().state).toBe('completed');
    const a = await db.selectFrom('attempts').where('id', '=', attempt.id).select('state').executeTakeFirstOrThrow();
    expect(a.state).toBe('cancelled');
    expect((await send('PATCH', `/api/v1/campaigns/${c.id}`, { maxConcurrent: 5 })).statusCode).toBe(409);
    expect((await send('POST', `/api/v1/campaigns/${randomUUID()}/start`)).statusCode).toBe(404);
    const listed = (await send('GET', '/api/v1/campaigns?state=completed')).json().campaigns.map((x: { id: string }) => x.id);
    expect(listed).toContain(c.id);
  });
});
