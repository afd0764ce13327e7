// Two progressive campaigns sharing one agent (Asterisk, PostgreSQL, Redis, sipp): progressive
// dialing never abandons, so a call in progress for the shared agent holds that agent against
// both campaigns. Every customer reaches the agent; the agent never has two calls coming at once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createAttempt, createCallerId, createCampaign, createTrunk } from '../../src/admin/admin.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CARRIER = 6701;
const AGENT = 6702;
const PER_CAMPAIGN = 3;

describe('progressive campaigns sharing an agent', () => {
  let h: Harness;
  const sipps: Sipp[] = [];

  beforeAll(async () => {
    h = await startHarness({ dialer: { agents: { autoReadyAfterMs: 300, loginTimeoutSeconds: 10 } } });
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 19000, pauseMs: 1500 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 19100 }));
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
});
