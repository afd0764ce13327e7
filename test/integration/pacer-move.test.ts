// A campaign's pacer moving to another engine keeps the campaign's abandonment rate: the
// abandonment meter lived only in the pacer's memory, so a pacer taking a campaign over started
// at 0% and could dial past the cap. Real calls (Asterisk node 7, sipp customer and agent):
// two customers abandoned (no agent ready) and one bridged while pacer A holds the campaign's
// lease; A stops, B takes the lease and its meter, seeded from PostgreSQL, says what A's said;
// a call after the move is counted once. Node 7 of `scripts/stack.sh node-up 7` (started here
// if down), or DIALWELL_PACER_MOVE_NODE.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { LeaseKeeper } from '../../src/cluster/lease-keeper.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const NODE = Number(process.env.DIALWELL_PACER_MOVE_NODE ?? '7');
const ARI_PORT = 8088 + 100 * (NODE - 1);
const AMI_PORT = 5038 + 100 * (NODE - 1);
// This file's ports: SIP 7310-7311, sipp media 7250-7299.
const CARRIER = 7310;
const AGENT = 7311;
const root = path.resolve(import.meta.dirname, '../..');

describe('a pacer that takes a campaign over sees its earlier abandonment rate (Asterisk, PostgreSQL, Redis, sipp)', () => {
  const cfg = testConfig();
  const log = createLogger('warn', cfg.LOG_FILE);
  let h: Harness;
  let startedNode = false;
  const sipps: Sipp[] = [];
  const keepers: LeaseKeeper[] = [];
  const runners: CampaignRunner[] = [];

  beforeAll(async () => {
    const ari = `http://127.0.0.1:${ARI_PORT}`;
    const auth = `Basic ${Buffer.from(`${cfg.ARI_USER}:${cfg.ARI_PASSWORD}`).toString('base64')}`;
    const up = async () => (await fetch(`${ari}/ari/asterisk/info`, { headers: { authorization: auth } }).catch(() => null))?.ok === true;
    if (NODE !== 1 && !(await up())) {
      execFileSync('bash', [path.join(root, 'scripts/stack.sh'), 'node-up', String(NODE)], { stdio: 'ignore' });
      startedNode = true;
    }
    if (!(await up())) throw new Error(`Asterisk node ${NODE} (ARI ${ari}) does not answer: run scripts/stack.sh node-up ${NODE}`);
    h = await startHarness({ config: { ARI_URL: ari, AMI_PORT: String(AMI_PORT) }, dialer: { agents: { autoReadyAfterMs: 200, loginTimeoutSeconds: 10 } } });
    // Calls are dialed here, not from the queue.
    await h.worker.close();
    // Customers stay on past the 2 s rule, then hang up.
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 7250, pauseMs: 4000 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 7270 }));
  }, 120_000);

  afterAll(async () => {
    for (const r of runners) r.stop();
    for (const k of keepers) await k.stop().catch(() => undefined);
    await h?.close();
    for (const s of sipps) await s.stop();
    if (startedNode) execFileSync('bash', [path.join(root, 'scripts/stack.sh'), 'node-down', String(NODE)], { stdio: 'ignore' });
  }, 60_000);

  it('pacer A counts 2 abandoned of 3 live answers; B, taking the lease after A, is seeded with the same and counts a new call once', async () => {
    const tag = randomUUID().slice(0, 8);
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(h.db, { name: `pm-${tag}`, host: '127.0.0.1', port: CARRIER });
    await syncTrunk(h.db, h.ari, trunk.id);
    const callerId = await createCallerId(h.db, randomCallerNumber());
    const agent = await createAgent(h.db, { name: `Mover ${tag}`, endpoint: `pm-${tag}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    await syncAgent(h.db, h.ari, agent.id);
    const camp = await createCampaign(h.db, { name: `pacer move ${tag}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'predictive', recordCalls: false, state: 'running' });
    await h.db.insertInto('campaign_agents').values({ campaign_id: camp.id, agent_id: agent.id }).execute();
    const attempts: string[] = [];
    for (let i = 0; i < 4; i++) {
      const phone = `+1305559${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(h.db, { campaignId: camp.id, phone });
      attempts.push((await createAttempt(h.db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    await h.dialer.agents.login(agent);
    await until(async () => h.dialer.agents.get(agent.id)?.state === 'ready', 15_000, 'the agent to be ready');
    // Paused: the pacer places nothing itself (no working agent), and answered customers find nobody.
    h.dialer.agents.pause(agent.id, 'break');

    // Two engines' runners over the same dialer, each with its own lease keeper: the campaign's pacer is one of them.
    const scope = `pm-${tag}`;
    const runner = (name: string) => {
      const keeper = new LeaseKeeper(h.db, `${name}-${tag}`, log, { ttlMs: 2000, beatMs: 500 });
      keeper.start();
      keepers.push(keeper);
      const r = new CampaignRunner(h.db, h.queue, h.dialer, log, { tickMs: 200, leases: { keeper, scope } });
      runners.push(r);
      return r;
    };
    const a = runner('a');
    await until(async () => (await a.tick(), a.abandonmentOf(camp.id) !== null), 10_000, 'A to take the campaign');
    expect(a.abandonmentOf(camp.id)).toMatchObject({ placed: 0, liveAnswered: 0, abandoned: 0 });
    const b = runner('b');
    await b.tick();
    expect(b.abandonmentOf(camp.id)).toBeNull();

    const outcomes = async () => (await h.db.selectFrom('calls').where('campaign_id', '=', camp.id).select('outcome').execute()).map((c) => c.outcome);
    // Two customers answer with nobody ready: abandoned. Then one with the agent ready: bridged.
    for (const id of attempts.slice(0, 2)) expect((await h.dialer.dialAttempt(id)).status).toBe('dialing');
    await until(async () => (await outcomes()).filter((o) => o === 'abandoned').length === 2, 30_000, 'two abandoned calls');
    h.dialer.agents.setReady(agent.id);
    expect((await h.dialer.dialAttempt(attempts[2]!)).status).toBe('dialing');
    await until(async () => (await outcomes()).filter(Boolean).length === 3, 30_000, 'the bridged call to end');
    expect((await outcomes()).sort()).toEqual(['abandoned', 'abandoned', 'answered']);
    h.dialer.agents.pause(agent.id, 'break');

    // A heard them live.
    const before = a.abandonmentOf(camp.id)!;
    expect(before).toMatchObject({ placed: 3, liveAnswered: 3, abandoned: 2 });

    // The pacer moves: A stops (its leases released), B takes the campaign and counts from the record.
    a.stop();
    await until(async () => (await b.tick(), b.abandonmentOf(camp.id) !== null), 15_000, 'B to take the campaign');
    expect(a.abandonmentOf(camp.id)).toMatchObject({ placed: 3 });
    const after = b.abandonmentOf(camp.id)!;
    expect({ placed: after.placed, liveAnswered: after.liveAnswered, abandoned: after.abandoned }).toEqual({ placed: 3, liveAnswered: 3, abandoned: 2 });
    expect(after.rate).toBeCloseTo(before.rate, 12);
    expect(after.rate).toBeGreaterThan(0.03);

    // More ticks add nothing; a call after the move is counted once (live), not again from the record.
    for (let i = 0; i < 3; i++) await b.tick();
    expect(b.abandonmentOf(camp.id)).toMatchObject({ placed: 3, liveAnswered: 3, abandoned: 2 });
    expect((await h.dialer.dialAttempt(attempts[3]!)).status).toBe('dialing');
    await until(async () => (await outcomes()).filter((o) => o === 'abandoned').length === 3, 30_000, 'a third abandoned call');
    for (let i = 0; i < 3; i++) await b.tick();
    expect(b.abandonmentOf(camp.id)).toMatchObject({ placed: 4, liveAnswered: 4, abandoned: 3 });
    await h.db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
    await h.dialer.agents.logout(agent.id).catch(() => undefined);
  }, 180_000);
});
