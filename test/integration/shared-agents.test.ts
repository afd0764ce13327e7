// Agents shared by campaigns (Asterisk, PostgreSQL, Redis, sipp). Two progressive campaigns
// sharing one agent: progressive dialing never abandons, so a call in progress for the shared
// agent holds that agent against both campaigns; every customer reaches the agent, never two
// calls at once. And an answered customer takes the agent no other call needs: with X serving A
// and B and Y serving A alone, A's customer goes to Y while B's call is ringing, though X has
// been ready longer.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CARRIER = 6701;
const AGENT = 6702;
const RINGING = 6704;
const AGENT_X = 6706;
const AGENT_Y = 6707;
const PER_CAMPAIGN = 3;

describe('progressive campaigns sharing an agent', () => {
  let h: Harness;
  const sipps: Sipp[] = [];

  beforeAll(async () => {
    h = await startHarness({ dialer: { agents: { autoReadyAfterMs: 300, loginTimeoutSeconds: 10 } } });
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 19000, pauseMs: 1500 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 19100 }));
    sipps.push(await Sipp.start({ scenario: 'customer-no-answer.xml', port: RINGING, mediaPort: 19600 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT_X, mediaPort: 19700 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT_Y, mediaPort: 19800 }));
  });

  afterAll(async () => {
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  it('places one call at a time for the shared agent and abandons nobody', async () => {
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(h.db, { name: `sa-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(h.db, h.ari, trunk.id);
    const callerId = await createCallerId(h.db, randomCallerNumber());
    const agent = await createAgent(h.db, { name: 'Shared', endpoint: `sa-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${AGENT}` });
    await syncAgent(h.db, h.ari, agent.id);
    const campaigns: string[] = [];
    for (const name of ['A', 'B']) {
      const c = await createCampaign(h.db, { name: `shared ${name} ${randomUUID()}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'progressive', recordCalls: false, state: 'draft' });
      for (let i = 0; i < PER_CAMPAIGN; i++) {
        const phone = `+1305557${String(1000 + Math.floor(Math.random() * 8999)).padStart(4, '0')}`;
        const contact = await addContact(h.db, { campaignId: c.id, phone });
        await createAttempt(h.db, { campaignId: c.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
      }
      await h.db.insertInto('campaign_agents').values({ campaign_id: c.id, agent_id: agent.id }).execute();
      campaigns.push(c.id);
    }
    await h.dialer.agents.login(agent);

    const runner = new CampaignRunner(h.db, h.queue, h.dialer, createLogger('warn'), { tickMs: 200 });
    const mine = () => h.dialer.liveCalls().filter((c) => campaigns.includes(c.campaignId));
    let maxLive = 0;
    const probe = setInterval(() => (maxLive = Math.max(maxLive, mine().length)), 20);
    const calls = () => h.db.selectFrom('calls').where('campaign_id', 'in', campaigns).select(['campaign_id', 'attempt_id', 'outcome', 'bridged_at', 'agent_id']).execute();
    try {
      await h.db.updateTable('campaigns').set({ state: 'running' }).where('id', 'in', campaigns).execute();
      runner.start();
      await until(async () => (await calls()).filter((c) => c.outcome).length === 2 * PER_CAMPAIGN, 60_000, 'both campaigns to finish');
    } finally {
      runner.stop();
      clearInterval(probe);
      await h.db.updateTable('campaigns').set({ state: 'completed' }).where('id', 'in', campaigns).execute();
    }
    const done = await calls();
    expect(done).toHaveLength(2 * PER_CAMPAIGN);
    expect(new Set(done.map((c) => c.attempt_id)).size).toBe(2 * PER_CAMPAIGN);
    expect(done.filter((c) => c.outcome === 'abandoned')).toEqual([]);
    expect(done.every((c) => c.outcome === 'answered' && c.bridged_at && c.agent_id === agent.id)).toBe(true);
    // Both campaigns were served, one call at a time.
    expect(new Set(done.map((c) => c.campaign_id)).size).toBe(2);
    expect(maxLive).toBe(1);
  }, 90_000);

  it('an answered customer takes the agent no other call in progress needs', async () => {
    const policyName = await saveOpenPolicy(h);
    const answering = await createTrunk(h.db, { name: `sx-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    const ringing = await createTrunk(h.db, { name: `sr-${h.app}`.slice(0, 40), host: '127.0.0.1', port: RINGING });
    for (const t of [answering, ringing]) await syncTrunk(h.db, h.ari, t.id);
    const callerId = await createCallerId(h.db, randomCallerNumber());
    const x = await createAgent(h.db, { name: 'X', endpoint: `sx-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${AGENT_X}` });
    const y = await createAgent(h.db, { name: 'Y', endpoint: `sy-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${AGENT_Y}` });
    for (const a of [x, y]) await syncAgent(h.db, h.ari, a.id);
    const attemptOf = async (trunkId: string, agents: string[], phone: string) => {
      const c = await createCampaign(h.db, { name: `pick ${randomUUID()}`, trunkId, callerIdId: callerId.id, policyName, recordCalls: false, state: 'draft' });
      const contact = await addContact(h.db, { campaignId: c.id, phone });
      await h.db.insertInto('campaign_agents').values(agents.map((agent_id) => ({ campaign_id: c.id, agent_id }))).execute();
      return { campaignId: c.id, attemptId: (await createAttempt(h.db, { campaignId: c.id, contactId: contact.id, phone, idempotencyKey: randomUUID() })).id };
    };
    // Drafts: no pacer of another test file's engine dials them; the test dials them itself.
    const a = await attemptOf(answering.id, [x.id, y.id], '+13055578001');
    const b = await attemptOf(ringing.id, [x.id], '+13055578002');
    // Who serves what, as the runner tells the pool every tick (campaign_agents).
    h.dialer.agents.setAssignments(new Map([[x.id, new Set([a.campaignId, b.campaignId])], [y.id, new Set([a.campaignId])]]));
    await h.dialer.agents.login(x);
    await new Promise((r) => setTimeout(r, 50));
    await h.dialer.agents.login(y);
    try {
      // B's customer rings (only X can take them); then A's customer answers.
      expect((await h.dialer.dialAttempt(b.attemptId)).status).toBe('dialing');
      expect((await h.dialer.dialAttempt(a.attemptId)).status).toBe('dialing');
      await until(async () => !!(await h.db.selectFrom('calls').where('attempt_id', '=', a.attemptId).select('bridged_at').executeTakeFirst())?.bridged_at, 15_000, "A's customer to be joined");
      const call = await h.db.selectFrom('calls').where('attempt_id', '=', a.attemptId).select('agent_id').executeTakeFirstOrThrow();
      expect(call.agent_id).toBe(y.id);
      expect(h.dialer.agents.get(x.id)?.state).toBe('ready');
      await h.dialer.callDone(a.attemptId);
    } finally {
      await h.db.updateTable('campaigns').set({ state: 'completed' }).where('id', 'in', [a.campaignId, b.campaignId]).execute();
      await h.dialer.agents.logout(x.id);
      await h.dialer.agents.logout(y.id);
    }
  }, 60_000);
});