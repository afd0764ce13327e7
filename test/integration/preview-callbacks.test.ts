// Preview dialing and callbacks with the dialer engine, over HTTP: an agent previews a contact
// (masked number, script), skips one, dials the next, and at wrap-up schedules a callback for
// themselves that is offered to them at its time, through the compliance gate.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import type { Db } from '../../src/db/database.js';
import type { Engine } from '../../src/app/engine.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import type { Api } from '../helpers/api.js';
import { openAllHours } from '../helpers/harness.js';
import { randomCallerNumber } from '../helpers/env.js';

const CARRIER = 5361;
const AGENT = 5371;

describe('preview dialing and callbacks (Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: EngineHarness;
  let db: Db;
  let engine: Engine;
  let api: Api;
  let tag: string;

  beforeAll(async () => {
    h = await startEngineHarness([
      { scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 18100, pauseMs: 1500 },
      { scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 18150 },
    ]);
    ({ db, engine, api, tag } = h);
  });
  afterAll(async () => h?.close());

  const post = (url: string, payload?: object) => api.inject({ method: 'POST', url, ...(payload ? { payload } : {}) });
  const callOf = (attemptId: string) => db.selectFrom('calls').where('attempt_id', '=', attemptId).selectAll().executeTakeFirst();

  it('preview: skip one, dial the next; callback for me at wrap-up, offered to me at its time', async () => {
    const policyName = `open-${tag}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `tp-${tag}`, host: '127.0.0.1', port: CARRIER });
    const agent = await createAgent(db, { name: 'Preview Agent', endpoint: `ap-${tag}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    await syncTrunk(db, engine.ari, trunk.id);
    await syncAgent(db, engine.ari, agent.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `preview ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, dialMode: 'preview', recordCalls: false, state: 'running' });
    await db.updateTable('campaigns').set({ settings: JSON.stringify({ script: { opening: 'Good afternoon!' } }) }).where('id', '=', camp.id).execute();
    for (const [i, phone] of ['+13055557401', '+13055557402'].entries()) {
      const c = await addContact(db, { campaignId: camp.id, phone, name: `Preview ${i}` });
      await db.updateTable('contacts').set({ priority: 10 - i }).where('id', '=', c.id).execute();
      await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
    }
    expect((await post(`/api/v1/agents/${agent.id}/preview`)).statusCode).toBe(409); // not logged in
    expect((await post(`/api/v1/agents/${agent.id}/login`)).json().state).toBe('ready');

    const first = await post(`/api/v1/agents/${agent.id}/preview`);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ contact: { name: 'Preview 0', phone: '+1 305****401' }, campaign: { script: { opening: 'Good afternoon!' } } });
    expect((await api.inject({ method: 'GET', url: `/api/v1/agents/${agent.id}/state` })).json().state).toBe('reserved');
    const skip = await post(`/api/v1/agents/${agent.id}/preview/${first.json().attemptId}/skip`);
    expect(skip.json()).toMatchObject({ skipped: true, state: 'ready' });

    const second = (await post(`/api/v1/agents/${agent.id}/preview`)).json();
    expect(second.contact.name).toBe('Preview 1');
    const dial = await post(`/api/v1/agents/${agent.id}/preview/${second.attemptId}/dial`);
    expect(dial.json()).toMatchObject({ status: 'dialing' });
    await until(async () => !!(await callOf(second.attemptId))?.ended_at, 15_000, 'the previewed call to end');
    const call = await callOf(second.attemptId);
    expect(call?.agent_id).toBe(agent.id);
    expect(call?.bridged_at).toBeInstanceOf(Date);
    expect((await post(`/api/v1/agents/${agent.id}/preview`)).statusCode).toBe(409); // in wrap-up, not ready

    const at = new Date(Date.now() + 3000).toISOString();
    const disp = await post(`/api/v1/attempts/${second.attemptId}/disposition`, { result: 'callback-requested', callback: { at, agent: 'me', note: 'after lunch' } });
    expect(disp.statusCode).toBe(200);
    const cbId = disp.json().callback.attemptId as string;
    expect(disp.json().callback.agentId).toBe(agent.id);
    // Not before its time.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await callOf(cbId)).toBeUndefined();
    await until(async () => !!(await callOf(cbId))?.ended_at, 20_000, 'the callback call to end');
    const cbCall = await callOf(cbId);
    expect(cbCall?.agent_id).toBe(agent.id);
    expect(cbCall?.created_at.getTime()).toBeGreaterThanOrEqual(new Date(at).getTime());
    const cbAttempt = await db.selectFrom('attempts').where('id', '=', cbId).select(['is_callback', 'decision_id', 'note']).executeTakeFirstOrThrow();
    expect(cbAttempt).toMatchObject({ is_callback: true, note: 'after lunch' });
    expect(cbAttempt.decision_id).not.toBeNull();

    const past = await post(`/api/v1/attempts/${second.attemptId}/disposition`, { result: 'x', callback: { at: '2020-01-01T00:00:00Z' } });
    expect(past.statusCode).toBe(400);
    await post(`/api/v1/agents/${agent.id}/logout`);
  }, 90_000);
});
