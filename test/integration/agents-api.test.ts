// Agents over HTTP with the dialer engine in the same process (as `dialwell serve` runs it): log
// in (the softphone is called once), take a call, stay in wrap-up until the disposition, then
// the next customer; pause with a reason; log out. Progressive pacing never dials for an agent
// in wrap-up.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { PolicyResolver, savePolicy } from '../../src/compliance/store/policies.repository.js';
import type { Db } from '../../src/db/database.js';
import type { Engine } from '../../src/app/engine.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import { apiAs, type Api } from '../helpers/api.js';
import { openAllHours } from '../helpers/harness.js';
import { randomCallerNumber } from '../helpers/env.js';

const CARRIER = 5341;
const AGENT = 5351;

describe('agents API with the dialer engine (Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: EngineHarness;
  let db: Db;
  let engine: Engine;
  let api: Api;
  let tag: string;

  beforeAll(async () => {
    h = await startEngineHarness([
      { scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 17900, pauseMs: 1500 },
      { scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 17950 },
    ]);
    ({ db, engine, api, tag } = h);
  });
  afterAll(async () => h?.close());

  const req = async (method: 'GET' | 'POST', url: string, payload?: object) => api.inject({ method, url, ...(payload ? { payload } : {}) });

  it('login, call, wrap-up until disposition, next call, pause, logout', async () => {
    const policyName = `open-${tag}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `tr-${tag}`, host: '127.0.0.1', port: CARRIER });
    const agent = await createAgent(db, { name: 'Api Agent', endpoint: `ag-${tag}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    // The engine pushed what existed at start; push what was created since, as the admin API will.
    const { syncAgent, syncTrunk } = await import('../../src/admin/pbx-sync.js');
    await syncTrunk(db, engine.ari, trunk.id);
    await syncAgent(db, engine.ari, agent.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `agents ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'draft' });
    const attempts: string[] = [];
    for (const phone of ['+13055557201', '+13055557202']) {
      const c = await addContact(db, { campaignId: camp.id, phone });
      attempts.push((await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }

    expect((await req('GET', `/api/v1/agents/${agent.id}/state`)).json()).toMatchObject({ state: 'logged-out' });
    const login = await req('POST', `/api/v1/agents/${agent.id}/login`);
    expect(login.statusCode).toBe(200);
    expect(login.json()).toMatchObject({ state: 'ready' });

    await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
    const ended = async (id: string) => !!(await db.selectFrom('calls').where('attempt_id', '=', id).select('ended_at').executeTakeFirst())?.ended_at;
    const firstDone = async () => (await ended(attempts[0]!)) || (await ended(attempts[1]!));
    await until(firstDone, 20_000, 'the first call to end');
    const firstId = (await ended(attempts[0]!)) ? attempts[0]! : attempts[1]!;
    const secondId = firstId === attempts[0] ? attempts[1]! : attempts[0]!;
    expect((await req('GET', `/api/v1/agents/${agent.id}/state`)).json()).toMatchObject({ state: 'wrap-up' });
    // In wrap-up nobody is ready: progressive pacing places nothing.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await db.selectFrom('calls').where('attempt_id', '=', secondId).select('id').executeTakeFirst()).toBeUndefined();

    // The agent's own screen shows the customer (number masked) and the call to close; the agent closes it.
    const me = await apiAs(h.app, db, 'agent', { agentId: agent.id });
    const screen = (await me.inject({ method: 'GET', url: `/api/v1/agents/${agent.id}/state` })).json();
    expect(screen).toMatchObject({ state: 'wrap-up', current: { attemptId: firstId, campaign: `agents ${tag}` } });
    expect(screen.current.contact.phone).toMatch(/^\+1 305\*{4}\d{3}$/);
    const disp = await me.inject({ method: 'POST', url: `/api/v1/attempts/${firstId}/disposition`, payload: { result: 'callback-requested', refused: false } });
    expect(disp.statusCode, disp.body).toBe(200);
    // The agent now holds the contact's data (taken back after CONTACT_RECLAIM_MONTHS).
    const held = await db.selectFrom('attempts as a').innerJoin('contacts as c', 'c.id', 'a.contact_id').where('a.id', '=', firstId).select(['c.assigned_agent_id', 'c.assigned_at']).executeTakeFirstOrThrow();
    expect(held.assigned_agent_id).toBe(agent.id);
    expect(held.assigned_at).toBeInstanceOf(Date);
    // The CDR keeps the result and the wrap-up: call end → disposition (at least the 1.5 s waited above).
    const firstCall = await db.selectFrom('calls').where('attempt_id', '=', firstId).selectAll().executeTakeFirstOrThrow();
    expect(firstCall.disposition).toBe('callback-requested');
    expect(firstCall.disposition_at).toBeInstanceOf(Date);
    expect(firstCall.wrapup_ms).toBe(firstCall.disposition_at!.getTime() - firstCall.ended_at!.getTime());
    expect(firstCall.wrapup_ms).toBeGreaterThan(1400);
    // Nobody else's call: another agent user is refused.
    const other = await apiAs(h.app, db, 'agent', { agentId: (await createAgent(db, { name: 'Other', endpoint: `other-${tag}`, sipPassword: 'test-sip-secret' })).id });
    expect((await other.inject({ method: 'POST', url: `/api/v1/attempts/${firstId}/disposition`, payload: { result: 'x' } })).statusCode).toBe(403);
    await until(() => ended(secondId), 20_000, 'the second call to end');
    const second = await db.selectFrom('calls').where('attempt_id', '=', secondId).selectAll().executeTakeFirstOrThrow();
    expect(second.agent_id).toBe(agent.id);
    expect(second.bridged_at).toBeInstanceOf(Date);

    const pause = await req('POST', `/api/v1/agents/${agent.id}/pause`, { reason: 'break' });
    expect(pause.statusCode).toBe(200);
    expect(pause.json()).toMatchObject({ state: 'paused', pauseReason: 'break' });
    expect((await req('POST', `/api/v1/agents/${agent.id}/pause`, { reason: 'Not A Code' })).statusCode).toBe(400);
    expect((await req('POST', `/api/v1/agents/${agent.id}/ready`)).json()).toMatchObject({ state: 'ready' });
    expect((await req('POST', `/api/v1/agents/${agent.id}/logout`)).json()).toMatchObject({ state: 'logged-out' });
    expect((await req('POST', `/api/v1/agents/${randomUUID()}/login`)).statusCode).toBe(404);
  }, 90_000);

  it('answers 503 where no dialer runs', async () => {
    const apiOnly = await apiAs(await buildServer({ db, policies: new PolicyResolver(db), log: createLogger('silent') }), db, 'admin');
    // An unknown agent is a 404 wherever the dialer runs; a known one needs the dialer's process.
    expect((await apiOnly.inject({ method: 'POST', url: `/api/v1/agents/${randomUUID()}/ready` })).statusCode).toBe(404);
    const agent = await createAgent(db, { name: 'Nowhere', endpoint: `nw-${tag}`, sipPassword: 'test-sip-secret' });
    expect((await apiOnly.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/login` })).statusCode).toBe(503);
    await apiOnly.app.close();
  });
});
