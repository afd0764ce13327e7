// Agents assigned to campaigns: a campaign that lists agents is served by them alone, and the
// pacer of a campaign none of the ready agents serve places nothing; clearing the list gives the
// agent back to the campaigns that list nobody.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import type { Db } from '../../src/db/database.js';
import type { Api } from '../helpers/api.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';

const CARRIER = 5571;
const AGENT = 5572;

describe('campaign agents (Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: EngineHarness;
  let db: Db;
  let api: Api;
  let tag: string;

  beforeAll(async () => {
    h = await startEngineHarness([
      { scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 23100, pauseMs: 1000 },
      { scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 23150 },
    ]);
    ({ db, api, tag } = h);
  });
  afterAll(async () => h?.close());

  it('dials a campaign only for the agents it lists', async () => {
    const policyName = `open-${tag}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `ca-${tag}`, host: '127.0.0.1', port: CARRIER });
    const agent = await createAgent(db, { name: 'Assigned', endpoint: `ca-${tag}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    await syncTrunk(db, h.engine.ari, trunk.id);
    await syncAgent(db, h.engine.ari, agent.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const campaign = async (name: string, phone: string) => {
      const c = await createCampaign(db, { name: `${name} ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'draft' });
      const contact = await addContact(db, { campaignId: c.id, phone });
      await createAttempt(db, { campaignId: c.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
      return c.id;
    };
    const a = await campaign('listed', '+13055557401');
    const b = await campaign('unlisted', '+13055557402');
    // Someone else is listed on B: our agent is not B's.
    const other = await createAgent(db, { name: 'Elsewhere', endpoint: `ca2-${tag}`, contactUri: 'sip:127.0.0.1:5999' });
    const setA = await api.inject({ method: 'PUT', url: `/api/v1/campaigns/${a}/agents`, payload: { agentIds: [agent.id] } });
    expect(setA.statusCode, setA.body).toBe(200);
    expect((await api.inject({ method: 'PUT', url: `/api/v1/campaigns/${b}/agents`, payload: { agentIds: [other.id] } })).statusCode).toBe(200);
    expect((await api.inject({ method: 'PUT', url: `/api/v1/campaigns/${b}/agents`, payload: { agentIds: [randomUUID()] } })).json().issues[0].field).toBe('body.agentIds');
    expect((await api.inject({ method: 'GET', url: `/api/v1/campaigns/${b}/agents` })).json().agentIds).toEqual([other.id]);

    expect((await api.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/login` })).statusCode).toBe(200);
    await db.updateTable('campaigns').set({ state: 'running' }).where('id', 'in', [a, b]).execute();

    const callsOf = (campaignId: string) => db.selectFrom('calls').where('campaign_id', '=', campaignId).selectAll().execute();
    await until(async () => !!(await callsOf(a))[0]?.ended_at, 20_000, "campaign A's call to end");
    expect((await callsOf(a))[0]).toMatchObject({ agent_id: agent.id, outcome: 'answered' });
    const aAttempt = (await callsOf(a))[0]!.attempt_id;
    expect((await api.inject({ method: 'POST', url: `/api/v1/attempts/${aAttempt}/disposition`, payload: { result: 'no-sale' } })).statusCode).toBe(200);
    // Ready again, but B lists another agent: B's pacer sees nobody and places nothing.
    await new Promise((r) => setTimeout(r, 2500));
    expect(await callsOf(b)).toEqual([]);

    // B takes our agent too: its call goes to them.
    expect((await api.inject({ method: 'PUT', url: `/api/v1/campaigns/${b}/agents`, payload: { agentIds: [other.id, agent.id] } })).statusCode).toBe(200);
    await until(async () => !!(await callsOf(b))[0]?.ended_at, 20_000, "campaign B's call to end");
    expect((await callsOf(b))[0]).toMatchObject({ agent_id: agent.id, outcome: 'answered' });
    const audit = await api.inject({ method: 'GET', url: `/api/v1/audit?resource=campaign&resourceId=${b}&action=campaign.agents-set` });
    expect(audit.json().entries[0]).toMatchObject({ before: { agentIds: [other.id] }, after: { agentIds: [agent.id, other.id].sort() } });
    await api.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/logout` });
  }, 90_000);
});
