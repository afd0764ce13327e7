// Reports over real calls: sipp customers and an agent softphone through Asterisk, the dialer
// engine and the API in one process (engine harness). Two calls, two dispositions; the campaign
// and agent reports count exactly those calls, /live and /metrics show the agent in wrap-up, and
// the agent's logged-in time comes from the state changes the pool wrote.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import { apiAs } from '../helpers/api.js';
import { openAllHours } from '../helpers/harness.js';
import { randomCallerNumber } from '../helpers/env.js';

const CARRIER = 5501;
const AGENT = 5511;
const TALK_MS = 2000;

describe('reports over real calls (Asterisk, sipp, engine)', () => {
  let h: EngineHarness;
  beforeAll(async () => {
    h = await startEngineHarness([
      { scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 22000, pauseMs: TALK_MS },
      { scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 22100 },
    ]);
  });
  afterAll(async () => h?.close());

  it('counts the calls placed, their talk, wrap-up and the agent\'s logged-in time', async () => {
    const { db, engine, app, tag } = h;
    const from = new Date(Date.now() - 1000);
    const policyName = `open-${tag}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `tr-${tag}`, host: '127.0.0.1', port: CARRIER });
    const agent = await createAgent(db, { name: `Report Agent ${tag}`, endpoint: `rep-${tag}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    await syncTrunk(db, engine.ari, trunk.id);
    await syncAgent(db, engine.ari, agent.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `reports ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'draft' });
    const attempts: string[] = [];
    for (const phone of ['+13055557301', '+13055557302']) {
      const c = await addContact(db, { campaignId: camp.id, phone });
      attempts.push((await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    const supervisor = await apiAs(app, db, 'supervisor');
    const agentApi = await apiAs(app, db, 'agent', { agentId: agent.id });
    const get = (url: string) => supervisor.inject({ method: 'GET', url });

    expect((await agentApi.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/login` })).json()).toMatchObject({ state: 'ready' });
    await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
    const ended = async (id: string) => !!(await db.selectFrom('calls').where('attempt_id', '=', id).select('ended_at').executeTakeFirst())?.ended_at;

    // Each call leaves the agent in wrap-up until its disposition: the live view and /metrics show it.
    const results = ['sale', 'not-interested'];
    const done: string[] = [];
    for (const result of results) {
      const next = async () => {
        for (const id of attempts) if (!done.includes(id) && (await ended(id))) return id;
        return null;
      };
      await until(async () => (await next()) !== null, 30_000, `call ${done.length + 1} to end`);
      const id = (await next())!;
      await until(() => engine.dialer.agents.get(agent.id)?.state === 'wrap-up', 5000, 'the agent in wrap-up');
      const live = (await get('/api/v1/live')).json() as { dialer: boolean; agents: { byState: Record<string, number> }; campaigns: { campaignId: string; attempts: number }[] };
      expect(live.dialer).toBe(true);
      expect(live.agents.byState['wrap-up']).toBe(1);
      expect(live.campaigns.find((c) => c.campaignId === camp.id)?.attempts).toBe(done.length + 1);
      const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain('dialwell_agents{node="default",state="wrap-up"} 1');
      // Wrap-up lasts a moment, so that handle time exceeds talk time measurably.
      await new Promise((r) => setTimeout(r, 300));
      const disp = await agentApi.inject({ method: 'POST', url: `/api/v1/attempts/${id}/disposition`, payload: { result } });
      expect(disp.statusCode).toBe(200);
      done.push(id);
    }
    expect((await agentApi.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/logout` })).json()).toMatchObject({ state: 'logged-out' });
    await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
    const to = new Date(Date.now() + 1000);

    // What Asterisk and the dialer wrote, read raw.
    const calls = await db.selectFrom('calls').where('campaign_id', '=', camp.id).selectAll().execute();
    expect(calls).toHaveLength(2);
    const talk = calls.reduce((s, c) => s + (c.ended_at!.getTime() - c.bridged_at!.getTime()) / 1000, 0);
    for (const c of calls) {
      expect(c.outcome).toBe('answered');
      expect(c.agent_id).toBe(agent.id);
      expect((c.ended_at!.getTime() - c.bridged_at!.getTime()) / 1000).toBeGreaterThan(TALK_MS / 1000 - 1);
    }

    const q = `from=${from.toISOString()}&to=${to.toISOString()}`;
    const byCampaign = (await get(`/api/v1/reports/campaigns?${q}&campaignId=${camp.id}`)).json() as { campaigns: Record<string, number | null>[] };
    const r = byCampaign.campaigns[0]!;
    expect(r).toMatchObject({ attempts: 2, liveAnswered: 2, connected: 2, effective: 0, successes: 1, abandoned: 0, connectRate: 1, abandonmentRate: 0, successRate: 0.5 });
    expect(r.talkSeconds).toBeCloseTo(talk, 3);
    expect(r.wrapUpSeconds).toBeGreaterThanOrEqual(0.6); // two wrap-ups of at least 300 ms
    expect(r.averageHandleSeconds).toBeCloseTo((talk + r.wrapUpSeconds!) / 2, 6);

    // Logged in from login to logout, as the pool's state changes say (written a moment after each change).
    await until(async () => !!(await db.selectFrom('agent_state_changes').where('agent_id', '=', agent.id).where('state', '=', 'logged-out').select('id').executeTakeFirst()), 5000, 'the logout in the state history');
    const states = await db.selectFrom('agent_state_changes').where('agent_id', '=', agent.id).orderBy('id').select(['state', 'at']).execute();
    expect(states[0]!.state).toBe('ready');
    expect(states.at(-1)!.state).toBe('logged-out');
    expect(states.map((s) => s.state)).toEqual(expect.arrayContaining(['reserved', 'on-call', 'wrap-up']));
    const loggedIn = (states.at(-1)!.at.getTime() - states[0]!.at.getTime()) / 1000;
    const byAgent = (await agentApi.inject({ method: 'GET', url: `/api/v1/reports/agents?${q}` })).json() as { agents: Record<string, number | string | null>[] };
    expect(byAgent.agents).toHaveLength(1);
    const a = byAgent.agents[0]!;
    expect(a).toMatchObject({ agentId: agent.id, attempts: 2, connected: 2, successes: 1 });
    expect(a.talkSeconds as number).toBeCloseTo(talk, 3);
    expect(a.loggedInSeconds as number).toBeCloseTo(loggedIn, 3);
    expect(a.talkUtilisation as number).toBeCloseTo(talk / loggedIn, 6);
    expect(a.talkUtilisation as number).toBeLessThan(1);
  }, 120_000);
});
