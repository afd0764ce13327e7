// The campaign runner on the real stack: progressive pacing places one call per ready agent;
// when Redis loses the queue, the reconciler rebuilds it from PostgreSQL and nothing is dialed
// twice; an attempt reserved by a worker that died before originating is decided again.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { DialGate } from '../../src/compliance/store/dial-gate.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { createDialWorker, redisConnection } from '../../src/dialer/queue.js';
import { reconcileQueue } from '../../src/dialer/reconciler.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

const CARRIER = 5301;
const AGENTS = [5311, 5312];

describe('campaign runner: pacing, reconciliation (Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: Harness;
  let runner: CampaignRunner;
  let trunkId: string;
  let callerIdId: string;
  let policyName: string;
  const sipps: Sipp[] = [];
  const log = createLogger('warn', testConfig().LOG_FILE);

  beforeAll(async () => {
    h = await startHarness({ dialer: { agents: { autoReadyAfterMs: 200, loginTimeoutSeconds: 10 } } });
    // The runner drives this queue; the harness's own worker is closed so tests control workers.
    await h.worker.close();
    policyName = await saveOpenPolicy(h);
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 17400, pauseMs: 1500 }));
    trunkId = (await createTrunk(h.db, { name: `rc-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER })).id;
    await syncTrunk(h.db, h.ari, trunkId);
    callerIdId = (await createCallerId(h.db, randomCallerNumber())).id;
    for (const [i, port] of AGENTS.entries()) {
      sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port, mediaPort: 17500 + i * 20 }));
      const agent = await createAgent(h.db, { name: `Runner ${i}`, endpoint: `ra${i}-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${port}` });
      await syncAgent(h.db, h.ari, agent.id);
      await h.dialer.agents.login(agent);
    }
    runner = new CampaignRunner(h.db, h.queue, h.dialer, log, { tickMs: 200 });
  });

  afterAll(async () => {
    runner?.stop();
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  async function campaignWith(n: number, mode: 'progressive' | 'predictive' = 'progressive') {
    const camp = await createCampaign(h.db, { name: `runner ${randomUUID()}`, trunkId, callerIdId, policyName, dialMode: mode, recordCalls: false, state: 'draft' });
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const phone = `+1305556${String(1000 + Math.floor(Math.random() * 8999)).padStart(4, '0')}`;
      const c = await addContact(h.db, { campaignId: camp.id, phone });
      ids.push((await createAttempt(h.db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    return { campaignId: camp.id, ids };
  }

  const callsOf = async (campaignId: string) =>
    h.db.selectFrom('calls').where('campaign_id', '=', campaignId).select(['attempt_id', 'outcome', 'bridged_at']).execute();


  /** Starts the campaign with a worker and the runner until n calls have ended; returns the most calls live at once. */
  async function runToEnd(campaignId: string, n: number): Promise<number> {
    const worker = createDialWorker(h.address, redisConnection(h.cfg.REDIS_URL), 8, h.dialer.process);
    let maxLive = 0;
    const probe = setInterval(() => {
      maxLive = Math.max(maxLive, h.dialer.liveCalls().filter((c) => c.campaignId === campaignId).length);
    }, 50);
    try {
      await h.db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', campaignId).execute();
      runner.start();
      await until(async () => (await callsOf(campaignId)).filter((c) => c.outcome).length === n, 60_000, 'the campaign to finish');
    } finally {
      runner.stop();
      clearInterval(probe);
      await worker.close();
    }
    return maxLive;
  }

  it('progressive: one call per ready agent, every contact dialed once and bridged', async () => {
    const { campaignId, ids } = await campaignWith(6);
    const maxLive = await runToEnd(campaignId, ids.length);
    const calls = await callsOf(campaignId);
    expect(calls).toHaveLength(6);
    expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(6);
    expect(calls.every((c) => c.outcome === 'answered' && c.bridged_at)).toBe(true);
    expect(maxLive).toBeGreaterThanOrEqual(1);
    expect(maxLive).toBeLessThanOrEqual(AGENTS.length);
  }, 90_000);

  it('Redis loses the queue: the reconciler re-enqueues from PostgreSQL and nothing is dialed twice', async () => {
    const { campaignId, ids } = await campaignWith(4);
    await h.db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', campaignId).execute();
    // Hand attempts to the queue with no worker running, then lose everything in Redis.
    let handed = 0;
    for (let i = 0; i < 10 && handed < ids.length; i++) {
      handed += await runner.tick();
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(handed).toBeGreaterThan(0);
    expect(await h.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(handed);
    await h.queue.obliterate({ force: true });
    expect(await h.queue.getJobCountByTypes('waiting', 'delayed', 'prioritized')).toBe(0);

    const report = await reconcileQueue(h.db, h.queue, log, { campaignIds: [campaignId] });
    expect(report.reenqueued).toBe(handed);
    // Reconciling twice changes nothing.
    expect((await reconcileQueue(h.db, h.queue, log, { campaignIds: [campaignId] })).reenqueued).toBe(0);

    const worker = createDialWorker(h.address, redisConnection(h.cfg.REDIS_URL), 8, h.dialer.process);
    try {
      runner.start();
      await until(async () => (await callsOf(campaignId)).filter((c) => c.outcome).length === ids.length, 60_000, 'the campaign to finish');
    } finally {
      runner.stop();
      await worker.close();
    }
    const calls = await callsOf(campaignId);
    expect(calls).toHaveLength(ids.length);
    expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(ids.length);
  }, 90_000);

  it('a worker that died after the reservation: its redelivered job does not dial; the reconciler releases it and it is dialed once', async () => {
    const { campaignId, ids } = await campaignWith(1);
    await h.db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', campaignId).execute();
    const id = ids[0]!;
    // The worker's gate reserved it, then the worker died before writing the call or originating.
    const reserved = await new DialGate({ db: h.db, policies: h.policies }).decideAndReserve(id);
    expect(reserved.status).toBe('allowed');
    // BullMQ redelivers the stalled job: the attempt is no longer queued, so nothing is dialed.
    expect((await h.dialer.dialAttempt(id)).status).toBe('already-claimed');
    expect(await callsOf(campaignId)).toHaveLength(0);
    const report = await reconcileQueue(h.db, h.queue, log, { undialedGraceMs: 0, campaignIds: [campaignId] });
    expect(report.releasedUndialed).toBe(1);
    expect(await h.db.selectFrom('attempts').where('id', '=', id).select(['state', 'dialed_at']).executeTakeFirstOrThrow()).toEqual({ state: 'queued', dialed_at: null });
    const again = await h.dialer.dialAttempt(id);
    expect(again.status).toBe('dialing');
    await h.dialer.callDone(id);
    const calls = await callsOf(campaignId);
    expect(calls).toHaveLength(1);
    const decisions = await h.db.selectFrom('decisions').where('attempt_id', '=', id).select('allowed').execute();
    expect(decisions.map((d) => d.allowed)).toEqual([true, true]);
  }, 60_000);

  it('retries a busy number per the campaign rules, through the gate again, at most N attempts', async () => {
    const busyPort = 5302;
    sipps.push(await Sipp.start({ scenario: 'customer-reject.xml', port: busyPort, mediaPort: 17600, vars: { status: '486', reason: 'Busy Here' } }));
    const busyTrunk = await createTrunk(h.db, { name: `rb-${h.app}`.slice(0, 40), host: '127.0.0.1', port: busyPort });
    await syncTrunk(h.db, h.ari, busyTrunk.id);
    const camp = await createCampaign(h.db, { name: `retry ${randomUUID()}`, trunkId: busyTrunk.id, callerIdId, policyName, recordCalls: false, state: 'draft' });
    await h.db.updateTable('campaigns').set({ settings: JSON.stringify({ retry: { busy: { afterMinutes: 0.05, maxAttempts: 2 } } }) }).where('id', '=', camp.id).execute();
    const phone = '+13055557101';
    const c = await addContact(h.db, { campaignId: camp.id, phone });
    await createAttempt(h.db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
    await h.db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
    const worker = createDialWorker(h.address, redisConnection(h.cfg.REDIS_URL), 4, h.dialer.process);
    try {
      runner.start();
      await until(async () => (await callsOf(camp.id)).filter((x) => x.outcome).length === 2, 30_000, 'the campaign to finish');
      // Give a third (wrong) retry time to appear.
      await new Promise((r) => setTimeout(r, 4000));
    } finally {
      runner.stop();
      await worker.close();
    }
    const calls = await h.db.selectFrom('calls').where('campaign_id', '=', camp.id).select(['outcome', 'created_at', 'ended_at']).orderBy('created_at').execute();
    expect(calls.map((x) => x.outcome)).toEqual(['busy', 'busy']);
    expect(calls[1]!.created_at.getTime() - calls[0]!.ended_at!.getTime()).toBeGreaterThanOrEqual(3000);
    const attempts = await h.db.selectFrom('attempts').where('campaign_id', '=', camp.id).select(['idempotency_key', 'decision_id']).execute();
    expect(attempts).toHaveLength(2);
    expect(attempts.every((a) => a.decision_id)).toBe(true);
  }, 60_000);

  it('predictive: the live pacer dials every contact once, within the campaign limits', async () => {
    const { campaignId, ids } = await campaignWith(8, 'predictive');
    await h.db.updateTable('campaigns').set({ max_concurrent: 4 }).where('id', '=', campaignId).execute();
    const maxLive = await runToEnd(campaignId, ids.length);
    const calls = await callsOf(campaignId);
    expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(ids.length);
    expect(calls.filter((c) => c.bridged_at).length).toBeGreaterThanOrEqual(1);
    expect(maxLive).toBeLessThanOrEqual(4);
  }, 90_000);
});
