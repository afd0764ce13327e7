// Outcomes from Asterisk's own signals, with sipp playing each customer behaviour through its own
// carrier trunk: busy (486), congestion (503), rejected (603), no answer, answer and hang up at
// once, early media then failure, and an answered customer with no agent ready (abandoned).
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { Sipp, type SippOptions } from '../../src/sim/sipp.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { writeGreetingPcap } from '../helpers/pcap.js';
import { randomCallerNumber } from '../helpers/env.js';

describe('call outcomes from Asterisk signals (sipp customers)', () => {
  let h: Harness;
  let policyName: string;
  let callerIdId: string;
  const sipps: Sipp[] = [];
  let port = 5200;
  let media = 17000;

  beforeAll(async () => {
    // 16 s ring timeout: "no answer" only after ringing at least 15 s.
    h = await startHarness({ dialer: { ringTimeoutSeconds: 16, connectTimeoutMs: 2000, abandonMedia: ['sound:beep'] } });
    policyName = await saveOpenPolicy(h);
    callerIdId = (await createCallerId(h.db, randomCallerNumber())).id;
  });
  afterAll(async () => {
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  /** One carrier (sipp + trunk + campaign) per behaviour; dials one contact and waits for its CDR. */
  async function dialThrough(sipp: Omit<SippOptions, 'port' | 'mediaPort'>, settings: Record<string, unknown> = {}) {
    const p = port++;
    sipps.push(await Sipp.start({ ...sipp, port: p, mediaPort: (media += 20) }));
    const trunk = await createTrunk(h.db, { name: `c-${p}-${h.app}`.slice(0, 40), host: '127.0.0.1', port: p });
    await syncTrunk(h.db, h.ari, trunk.id);
    const camp = await createCampaign(h.db, { name: `outcome ${p} ${h.app}`, trunkId: trunk.id, callerIdId, policyName, state: 'running' });
    await h.db.updateTable('campaigns').set({ settings: JSON.stringify(settings) }).where('id', '=', camp.id).execute();
    const phone = `+1305555${String(p).padStart(4, '0')}`;
    const contact = await addContact(h.db, { campaignId: camp.id, phone });
    const attempt = await createAttempt(h.db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    const started = Date.now();
    const r = await h.dialer.dialAttempt(attempt.id);
    expect(r.status).toBe('dialing');
    const summary = await h.dialer.callDone(attempt.id);
    const call = await h.db.selectFrom('calls').where('attempt_id', '=', attempt.id).selectAll().executeTakeFirstOrThrow();
    return { summary, call, ms: Date.now() - started };
  }

  it.each([
    ['busy (486)', { status: '486', reason: 'Busy Here' }, 'busy', 17],
    ['congestion (503)', { status: '503', reason: 'Service Unavailable' }, 'congestion', 34],
    ['rejected (603)', { status: '603', reason: 'Decline' }, 'rejected', 21],
  ])('%s', async (_name, keys, outcome, cause) => {
    const { summary, call } = await dialThrough({
      scenario: 'customer-reject.xml', vars: { status: keys.status, reason: keys.reason },
    });
    expect(summary.outcome).toBe(outcome);
    expect(call.outcome).toBe(outcome);
    expect(call.hangup_cause).toBe(cause);
    expect(call.answered_at).toBeNull();
    expect(call.ended_at).toBeInstanceOf(Date);
  });

  it('no answer after ringing at least 15 s', async () => {
    const { summary, call, ms } = await dialThrough({ scenario: 'customer-no-answer.xml' });
    expect(summary.outcome).toBe('no-answer');
    expect(call.ringing_at).toBeInstanceOf(Date);
    expect(call.ended_at!.getTime() - call.ringing_at!.getTime()).toBeGreaterThanOrEqual(15_000);
    expect(ms).toBeGreaterThanOrEqual(15_000);
    expect(call.answered_at).toBeNull();
  }, 40_000);

  it('early media then failure is a failed call, not an answer', async () => {
    const { summary, call } = await dialThrough({
      scenario: 'customer-early-media-fail.xml', pauseMs: 1500, vars: { status: '480', reason: 'Temporarily Unavailable' },
    });
    expect(call.answered_at).toBeNull();
    // Asterisk maps 480 to cause 19 (no answer), but it never rang 15 s: a failed call.
    expect(summary.outcome).toBe('failed');
    expect(call.hangup_cause).toBe(19);
  });

  it('answered with no agent logged in: the information message, then abandoned', async () => {
    const { summary, call } = await dialThrough({ scenario: 'customer-answer.xml', pauseMs: 20_000 });
    expect(summary.outcome).toBe('abandoned');
    expect(call.answered_at).toBeInstanceOf(Date);
    expect(call.bridged_at).toBeNull();
    // Asterisk ended it, not the customer: after the 2 s connect timeout, the message and the
    // caller id read back digit by digit (11 digits), on the last playback's end.
    expect(call.ended_at!.getTime() - call.answered_at!.getTime()).toBeGreaterThanOrEqual(6000);
    expect(call.ended_at!.getTime() - call.answered_at!.getTime()).toBeLessThan(19_000);
  }, 40_000);

  it('answered and hung up at once, while an agent is ready', async () => {
    const agentPort = port++;
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: agentPort, mediaPort: (media += 20) }));
    const agent = await createAgent(h.db, { name: 'Quick', endpoint: `a-${agentPort}-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${agentPort}` });
    await syncAgent(h.db, h.ari, agent.id);
    await h.dialer.agents.login(agent);
    try {
      const { summary, call } = await dialThrough({ scenario: 'customer-answer.xml', pauseMs: 0 });
      expect(call.answered_at).toBeInstanceOf(Date);
      expect(['answered', 'abandoned']).toContain(summary.outcome);
      // Normal clearing (16) — or 0 ("Unknown"), which Asterisk reports in about one run of three
      // when the BYE lands while the channel is being added to the agent's bridge (seen: 3 ms).
      expect([0, 16]).toContain(call.hangup_cause);
      expect(call.ended_at!.getTime() - call.answered_at!.getTime()).toBeLessThan(3000);
      // The race between joining and the hangup must not strand the agent on a dead call.
      await new Promise((r) => setTimeout(r, 300));
      expect(['ready', 'wrap-up']).toContain(h.dialer.agents.get(agent.id)?.state);
      expect(h.dialer.agents.get(agent.id)?.callId).toBeNull();
    } finally {
      // Logged out whatever happened, so the next test's customer cannot reach this agent.
      await h.dialer.agents.logout(agent.id);
    }
  });

  it('an answering machine (AMD on): detected, hung up, outcome machine, never sent to an agent', async () => {
    // The "machine" greets with 3 s of continuous speech (the g711 pcap): longer than AMD's
    // 1.5 s greeting limit.
    const { summary, call } = await dialThrough({ scenario: 'customer-answer.xml', pauseMs: 20_000 }, { amd: true });
    expect(summary.outcome).toBe('machine');
    expect(call.outcome).toBe('machine');
    expect(call.answered_at).toBeInstanceOf(Date);
    expect(call.bridged_at).toBeNull();
    expect(call.agent_id).toBeNull();
  }, 40_000);

  it('a person (AMD on): a short "Hello?" then silence is judged human and joined to an agent', async () => {
    const pcap = path.join(mkdtempSync(path.join(tmpdir(), 'greeting-')), 'hello.pcap');
    writeGreetingPcap(pcap, 600, 2400);
    const agentPort = port++;
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: agentPort, mediaPort: (media += 20) }));
    const agent = await createAgent(h.db, { name: 'Human', endpoint: `hu-${agentPort}-${h.app}`.slice(0, 40), contactUri: `sip:127.0.0.1:${agentPort}` });
    await syncAgent(h.db, h.ari, agent.id);
    await h.dialer.agents.login(agent);
    try {
      const { summary, call } = await dialThrough({ scenario: 'customer-greeting.xml', pauseMs: 6000, vars: { pcap } }, { amd: true });
      expect(summary.outcome).toBe('answered');
      expect(call.agent_id).toBe(agent.id);
      // AMD listened before the join (greeting, then 800 ms of silence).
      expect(call.bridged_at!.getTime() - call.answered_at!.getTime()).toBeGreaterThan(800);
    } finally {
      await h.dialer.agents.logout(agent.id);
    }
  }, 40_000);
});
