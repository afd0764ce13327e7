// The first real call end to end: a BullMQ job → the dial worker → ARI originate over a PJSIP
// trunk to a sipp customer who answers and talks → joined to a sipp agent softphone in a mixing
// bridge → recorded → the customer hangs up → one CDR row and one recording row in PostgreSQL.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { enqueueAttempt } from '../../src/dialer/queue.js';
import { pcm16Rms, readWavInfo } from '../../src/recordings/wav.js';
import { Sipp } from '../../src/sim/sipp.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CUSTOMER_PORT = 5171;
const AGENT_PORT = 5181;
const TALK_MS = 3000;

describe('first real call end to end (Asterisk 22, PostgreSQL, Redis, sipp)', () => {
  let h: Harness;
  let customer: Sipp;
  let agentPhone: Sipp;

  beforeAll(async () => {
    h = await startHarness();
    customer = await Sipp.start({ scenario: 'customer-answer.xml', port: CUSTOMER_PORT, mediaPort: 16100, pauseMs: TALK_MS, maxCalls: 1 });
    agentPhone = await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT_PORT, mediaPort: 16200 });
  });

  afterAll(async () => {
    await h?.close();
    await customer?.stop();
    await agentPhone?.stop();
  });

  it('dials, answers, bridges to the agent, records, and writes one CDR and one recording', async () => {
    const { db, ari, dialer, queue, app, recordingsDir } = h;
    const policyName = await saveOpenPolicy(h);
    // The trunk and the agent's endpoint share a name on purpose: PJSIP keeps them apart.
    const shared = `same-${app}`.slice(0, 40);
    const trunk = await createTrunk(db, { name: shared, host: '127.0.0.1', port: CUSTOMER_PORT });
    await syncTrunk(db, ari, trunk.id);
    const callerId = await createCallerId(db, '+13055550101', 'test line');
    const agent = await createAgent(db, { name: 'Ada Agent', endpoint: shared, contactUri: `sip:127.0.0.1:${AGENT_PORT}` });
    await syncAgent(db, ari, agent.id);
    const campaign = await createCampaign(db, { name: `first call ${app}`, trunkId: trunk.id, callerIdId: callerId.id, state: 'running', policyName });
    const contact = await addContact(db, { campaignId: campaign.id, phone: '+13055550123', name: 'Carla Customer' });
    const attempt = await createAttempt(db, { campaignId: campaign.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });

    // Only the event types Dialwell handles are sent to it.
    const appState = (await ari.application()) as { events_allowed?: { type: string }[] };
    expect(appState.events_allowed?.map((e) => e.type)).toContain('StasisStart');
    expect(appState.events_allowed?.map((e) => e.type)).not.toContain('ChannelVarset');

    const session = await dialer.agents.login(agent);
    expect(session.state).toBe('ready');

    const started = Date.now();
    await enqueueAttempt(queue, attempt.id);
    const summary = await dialer.callDone(attempt.id);
    expect(summary.outcome).toBe('answered');
    expect(summary.agentId).toBe(agent.id);
    // The dial was decided and the decision stored with its reasons and policy version.
    const decision = await db.selectFrom('decisions').where('attempt_id', '=', attempt.id).selectAll().executeTakeFirstOrThrow();
    expect(decision.allowed).toBe(true);
    expect(decision.time_zones).toEqual(['America/New_York']);
    expect(decision.policy_versions).toEqual([{ name: policyName, version: 1 }]);
    expect(Date.now() - started).toBeGreaterThan(TALK_MS);

    const calls = await db.selectFrom('calls').where('campaign_id', '=', campaign.id).selectAll().execute();
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.attempt_id).toBe(attempt.id);
    expect(call.trunk_id).toBe(trunk.id);
    expect(call.caller_id).toBe('+13055550101');
    expect(call.agent_id).toBe(agent.id);
    expect(call.phone).toBe('+13055550123');
    expect(call.outcome).toBe('answered');
    expect(call.hangup_cause).toBe(16); // normal clearing: the customer hung up
    const { created_at, answered_at, bridged_at, ended_at } = call;
    expect(answered_at).toBeInstanceOf(Date);
    expect(bridged_at).toBeInstanceOf(Date);
    expect(ended_at).toBeInstanceOf(Date);
    expect(created_at.getTime()).toBeLessThanOrEqual(answered_at!.getTime());
    expect(answered_at!.getTime()).toBeLessThanOrEqual(bridged_at!.getTime());
    expect(bridged_at!.getTime() - answered_at!.getTime()).toBeLessThan(2000);
    expect(ended_at!.getTime() - bridged_at!.getTime()).toBeGreaterThan(TALK_MS - 1000);
    // The CDR's durations, from the same instants; nobody put the customer on hold.
    expect(call.talk_ms).toBe(ended_at!.getTime() - bridged_at!.getTime());
    expect(call.ring_ms).toBe(call.ringing_at ? answered_at!.getTime() - call.ringing_at.getTime() : null);
    expect(call.ringing_at).toBeInstanceOf(Date);
    expect(call.hold_ms).toBe(0);
    expect(call.wrapup_ms).toBeNull();
    expect(call.reconciled_from).toBeNull(); // closed by its own session, not from Asterisk's record

    const attemptRow = await db.selectFrom('attempts').where('id', '=', attempt.id).selectAll().executeTakeFirstOrThrow();
    expect(attemptRow.state).toBe('completed');
    expect(attemptRow.outcome).toBe('answered');

    const recs = await db.selectFrom('recordings').where('call_id', '=', call.id).selectAll().execute();
    expect(recs).toHaveLength(1);
    const rec = recs[0]!;
    expect(rec.format).toBe('wav');
    expect(call.recording_id).toBe(rec.id);
    const file = readFileSync(path.join(recordingsDir, rec.storage_key));
    expect(file.length).toBe(rec.size_bytes);
    expect(createHash('sha256').update(file).digest('hex')).toBe(rec.sha256);
    const wav = readWavInfo(file);
    expect(wav.sampleRate).toBe(8000);
    expect(wav.durationMs).toBeGreaterThan(1000);
    expect(Math.abs(wav.durationMs - rec.duration_ms)).toBeLessThanOrEqual(1);
    // Real audio from both pcaps, not silence.
    expect(pcm16Rms(file)).toBeGreaterThan(100);

    // The agent stays on the line, in wrap-up, after the customer left.
    expect(dialer.agents.get(agent.id)?.state).toBe('wrap-up');
    await customer.waitExit(5000);
    expect(customer.errors()).toBe('');
  });
});
