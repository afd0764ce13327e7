// Transfers on the real stack (Asterisk 22, PostgreSQL, Redis, sipp customers, sipp agent
// softphones, the customer's carrier sipp also answering as the outside party): an attended
// transfer to another agent completed, cancelled, refused and not accepted in time; a blind and an
// attended transfer to an outside number, with the number checks (E.164, DNC, protected); each
// step's call_events and audit rows; the disposition goes to the agent who ended with the
// customer; the recording is one file that goes on across every bridge change.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { maskPhone } from '../../src/compliance/phone.js';
import { enqueueAttempt } from '../../src/dialer/queue.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { LocalRecordingStore } from '../../src/recordings/store.js';
import type { Sipp } from '../../src/sim/sipp.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { sippInMediaRange } from '../helpers/sipp-ports.js';

// This file's ports: SIP 7500-7502, sipp media 7520-7559 (transfer-api-role.test.ts has the rest of 7500-7599).
const CUSTOMER_PORT = 7500;
const AGENT_PORT = 7501;
const AGENT2_PORT = 7502;
const startSipp = sippInMediaRange(7520, 7560);
/** How long a consulted agent has to accept (short: the no-answer case waits it out). */
const ANSWER_S = 3;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(50);
  }
}

describe('attended transfers and transfers to outside numbers (Asterisk 22, PostgreSQL, Redis, sipp)', () => {
  let h: Harness;
  let app: FastifyInstance;
  let admin: Api;
  let supervisor: Api;
  let aUser: Api;
  let bUser: Api;
  const sipps: Sipp[] = [];
  let a: { id: string };
  let b: { id: string };
  let campaignId: string;
  let seq = 0;

  async function ari<T>(method: string, p: string): Promise<{ status: number; body: T }> {
    const res = await fetch(new URL(`/ari${p}`, h.cfg.ARI_URL), { method, headers: { authorization: `Basic ${Buffer.from(`${h.cfg.ARI_USER}:${h.cfg.ARI_PASSWORD}`).toString('base64')}` } });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
  const bridgeChannels = async (bridgeId: string) => (await ari<{ channels: string[] }>('GET', `/bridges/${bridgeId}`)).body?.channels ?? [];

  beforeAll(async () => {
    h = await startHarness({
      dialer: {
        agents: { autoReadyAfterMs: null, loginTimeoutSeconds: 20 },
        recordingSettle: { graceMs: 1500, deadlineMs: 8000, firstPollMs: 250, maxPollMs: 2000 },
        transfer: { agentAnswerSeconds: ANSWER_S, numberRingSeconds: 10 },
      },
    });
    app = await buildServer({ db: h.db, policies: h.policies, log: createLogger('silent'), dialer: h.dialer, recordings: new LocalRecordingStore(h.recordingsDir) });
    admin = await apiAs(app, h.db, 'admin');
    supervisor = await apiAs(app, h.db, 'supervisor');
    sipps.push(await startSipp({ scenario: 'customer-answer.xml', port: CUSTOMER_PORT, pauseMs: 120_000 }));
    sipps.push(await startSipp({ scenario: 'agent-softphone.xml', port: AGENT_PORT }));
    sipps.push(await startSipp({ scenario: 'agent-softphone.xml', port: AGENT2_PORT }));
    const policyName = await saveOpenPolicy(h);
    const callerId = await createCallerId(h.db, randomCallerNumber(), 'transfer line');
    const trunk = await createTrunk(h.db, { name: `xfer-${h.app.slice(-8)}`, host: '127.0.0.1', port: CUSTOMER_PORT });
    await syncTrunk(h.db, h.ari, trunk.id);
    const r = await admin.inject({ method: 'POST', url: '/api/v1/campaigns', payload: { name: `transfers ${h.app}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, recordCalls: true } });
    expect(r.statusCode, r.body).toBe(201);
    campaignId = r.json().id as string;
    expect((await admin.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/start` })).statusCode).toBe(200);
    const tag = h.app.slice(-8);
    const ra = await createAgent(h.db, { name: `Ann First ${tag}`, endpoint: `xfer-a-${tag}`, contactUri: `sip:127.0.0.1:${AGENT_PORT}` });
    const rb = await createAgent(h.db, { name: `Bob Second ${tag}`, endpoint: `xfer-b-${tag}`, contactUri: `sip:127.0.0.1:${AGENT2_PORT}` });
    await syncAgent(h.db, h.ari, ra.id);
    await syncAgent(h.db, h.ari, rb.id);
    a = { id: ra.id };
    b = { id: rb.id };
    aUser = await apiAs(app, h.db, 'agent', { agentId: a.id });
    bUser = await apiAs(app, h.db, 'agent', { agentId: b.id });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  /** Agent A takes a customer (B paused meanwhile, ready again once A has the call). */
  async function callWithA(): Promise<{ attemptId: string; callId: string; channelId: string }> {
    for (const [id, user] of [[a.id, aUser], [b.id, bUser]] as const) {
      const s = h.dialer.agents.get(id);
      if (!s || s.state === 'logged-out') expect((await user.inject({ method: 'POST', url: `/api/v1/agents/${id}/login` })).statusCode).toBe(200);
    }
    // B paused while the customer comes, so it goes to A; then ready for the transfer.
    if (h.dialer.agents.get(b.id)?.state !== 'paused') expect((await bUser.inject({ method: 'POST', url: `/api/v1/agents/${b.id}/pause`, payload: { reason: 'break' } })).statusCode).toBe(200);
    if (h.dialer.agents.get(a.id)?.state !== 'ready') expect((await aUser.inject({ method: 'POST', url: `/api/v1/agents/${a.id}/ready` })).statusCode).toBe(200);
    const contact = await addContact(h.db, { campaignId, phone: `+1305557${String(1000 + seq++).padStart(4, '0')}` });
    const attempt = await createAttempt(h.db, { campaignId, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });
    await enqueueAttempt(h.queue, attempt.id);
    const callId = await until('the customer with agent A', () => {
      const s = h.dialer.agents.get(a.id);
      return s?.state === 'on-call' ? s.callId : null;
    });
    expect((await bUser.inject({ method: 'POST', url: `/api/v1/agents/${b.id}/ready` })).statusCode).toBe(200);
    const channelId = (await h.db.selectFrom('calls').where('id', '=', callId).select('channel_id').executeTakeFirstOrThrow()).channel_id;
    return { attemptId: attempt.id, callId, channelId };
  }

  const post = (user: Api, url: string, payload?: unknown) => user.inject({ method: 'POST', url, ...(payload ? { payload: payload as object } : {}) });
  const events = (callId: string) => h.db.selectFrom('call_events').where('call_id', '=', callId).orderBy('id').select(['kind', 'agent_id', 'actor', 'details']).execute();
  const audits = (callId: string) => h.db.selectFrom('audit_log').where('resource_id', '=', callId).orderBy('id').select(['action']).execute();
  const screen = async (user: Api, id: string) => {
    const r = await user.inject({ method: 'GET', url: `/api/v1/agents/${id}/state` });
    expect(r.statusCode, r.body).toBe(200);
    return r.json();
  };

  /** After the call: its CDR closed once, its recording one stored file at least `minMs` long. */
  async function expectRecorded(attemptId: string, endedBy: string, minMs: number): Promise<void> {
    await h.dialer.callDone(attemptId);
    const call = await h.db.selectFrom('calls').where('attempt_id', '=', attemptId).selectAll().executeTakeFirstOrThrow();
    expect(call.ended_by).toBe(endedBy);
    expect(call.recording_status).toBe('stored');
    const recs = await h.db.selectFrom('recordings').where('call_id', '=', call.id).selectAll().execute();
    expect(recs).toHaveLength(1);
    expect(recs[0]!.duration_ms).toBeGreaterThan(minMs);
    expect(recs[0]!.duration_ms).toBeLessThan(call.talk_ms! + 1500);
  }

  it('attended transfer to an agent: consult, the agent accepts, they talk, complete; the second agent disposes', async () => {
    const { attemptId, callId, channelId } = await callWithA();
    const sa = h.dialer.agents.get(a.id)!;
    const sb = h.dialer.agents.get(b.id)!;
    await wait(1000);
    // Bad input: oneself, both or neither target, an unknown agent.
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: a.id })).statusCode).toBe(409);
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, {})).statusCode).toBe(400);
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: b.id, number: '+13055571234' })).statusCode).toBe(400);
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: randomUUID() })).statusCode).toBe(404);
    // No consultation to complete or cancel yet; B has nothing to accept.
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult/complete`)).statusCode).toBe(409);
    expect((await post(bUser, `/api/v1/agents/${b.id}/call/consult/accept`)).statusCode).toBe(409);

    const c = await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: b.id });
    expect(c.statusCode, c.body).toBe(200);
    expect(c.json()).toMatchObject({ callId, action: 'consult', onHold: true, consult: { to: b.id, target: 'agent', phase: 'offered' } });
    expect(sb.state).toBe('reserved');
    expect(await bridgeChannels(sa.bridgeId)).not.toContain(channelId);
    // Not complete before B accepts; B's screen shows the offer.
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult/complete`)).statusCode).toBe(409);
    expect((await screen(bUser, b.id)).consult).toMatchObject({ role: 'target', fromName: sa.name, phase: 'offered' });
    const acc = await post(bUser, `/api/v1/agents/${b.id}/call/consult/accept`);
    expect(acc.statusCode, acc.body).toBe(200);
    // The two agents in one bridge (A's), the customer held outside it.
    const consultBridge = await bridgeChannels(sa.bridgeId);
    expect(consultBridge).toEqual(expect.arrayContaining([sa.channelId, sb.channelId]));
    expect(consultBridge).not.toContain(channelId);
    expect((await screen(aUser, a.id)).consult).toMatchObject({ role: 'from', phase: 'talking', toName: sb.name });
    await wait(1000);

    const done = await post(aUser, `/api/v1/agents/${a.id}/call/consult/complete`);
    expect(done.statusCode, done.body).toBe(200);
    expect(done.json()).toMatchObject({ callId, action: 'consult-complete', transferredTo: b.id });
    expect(h.dialer.agents.get(b.id)).toMatchObject({ state: 'on-call', callId });
    expect(h.dialer.agents.get(a.id)?.state).toBe('wrap-up');
    expect(await bridgeChannels(sb.bridgeId)).toEqual(expect.arrayContaining([sb.channelId, channelId]));
    expect(await bridgeChannels(sa.bridgeId)).toEqual([sa.channelId]);

    // The disposition is B's: A's screen says so and A's disposition is refused.
    const aScreen = await screen(aUser, a.id);
    expect(aScreen.current).toMatchObject({ callId, disposesHere: false, transferredTo: sb.name });
    expect((await screen(bUser, b.id)).current).toMatchObject({ callId, disposesHere: true });
    expect((await post(aUser, `/api/v1/attempts/${attemptId}/disposition`, { result: 'transferred' })).statusCode).toBe(403);
    await wait(1000);
    expect((await post(bUser, `/api/v1/agents/${b.id}/call/hangup`)).statusCode).toBe(200);
    await expectRecorded(attemptId, 'agent', 2500);
    const disp = await post(bUser, `/api/v1/attempts/${attemptId}/disposition`, { result: 'sale' });
    expect(disp.statusCode, disp.body).toBe(200);
    expect(h.dialer.agents.get(b.id)?.state).toBe('ready');
    expect(h.dialer.agents.get(a.id)?.state).toBe('wrap-up');

    const ev = await events(callId);
    expect(ev.map((e) => [e.kind, (e.details as { step?: string; kind?: string }).step ?? (e.details as { kind?: string }).kind ?? null])).toEqual([
      ['consult', 'started'], ['consult', 'accepted'], ['transfer', 'attended'], ['hangup', null],
    ]);
    expect(ev[2]).toMatchObject({ agent_id: a.id, details: { from: a.id, to: b.id, kind: 'attended', target: 'agent' } });
    expect((await audits(callId)).map((x) => x.action)).toEqual(['call.consult', 'call.consult-accept', 'call.transfer', 'call.hangup']);
  }, 90_000);

  it('a consultation cancelled by the first agent, then one refused by the second: the customer resumes with the first each time', async () => {
    const { attemptId, callId, channelId } = await callWithA();
    const sa = h.dialer.agents.get(a.id)!;
    const sb = h.dialer.agents.get(b.id)!;
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: b.id })).statusCode).toBe(200);
    expect((await post(bUser, `/api/v1/agents/${b.id}/call/consult/accept`)).statusCode).toBe(200);
    // While consulting, no resume and no second consultation.
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/resume`)).statusCode).toBe(409);
    const cancel = await post(aUser, `/api/v1/agents/${a.id}/call/consult/cancel`);
    expect(cancel.statusCode, cancel.body).toBe(200);
    expect(cancel.json()).toMatchObject({ action: 'consult-cancel', consultEnded: 'cancelled', onHold: false });
    expect(await bridgeChannels(sa.bridgeId)).toEqual(expect.arrayContaining([sa.channelId, channelId]));
    expect(await bridgeChannels(sa.bridgeId)).not.toContain(sb.channelId);
    expect(await bridgeChannels(sb.bridgeId)).toEqual([sb.channelId]);
    expect(h.dialer.agents.get(b.id)?.state).toBe('ready');
    expect(h.dialer.agents.get(a.id)).toMatchObject({ state: 'on-call', callId });

    // B refuses the next one before accepting.
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: b.id })).statusCode).toBe(200);
    const refuse = await post(bUser, `/api/v1/agents/${b.id}/call/consult/cancel`);
    expect(refuse.statusCode, refuse.body).toBe(200);
    expect(refuse.json()).toMatchObject({ consultEnded: 'refused' });
    expect(await bridgeChannels(sa.bridgeId)).toContain(channelId);
    expect(h.dialer.agents.get(b.id)?.state).toBe('ready');
    // A still disposes their own call.
    expect((await screen(aUser, a.id)).current).toMatchObject({ callId, disposesHere: true, transferredTo: null });
    await wait(1000);
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/hangup`)).statusCode).toBe(200);
    await expectRecorded(attemptId, 'agent', 500);
    expect((await post(aUser, `/api/v1/attempts/${attemptId}/disposition`, { result: 'not-interested' })).statusCode).toBe(200);
    const steps = (await events(callId)).map((e) => `${e.kind}:${(e.details as { step?: string }).step ?? ''}`);
    expect(steps).toEqual(['consult:started', 'consult:accepted', 'consult:cancelled', 'consult:started', 'consult:refused', 'hangup:']);
    expect((await audits(callId)).map((x) => x.action)).toEqual(['call.consult', 'call.consult-accept', 'call.consult-cancel', 'call.consult', 'call.consult-refuse', 'call.hangup']);
  }, 90_000);

  it('the consulted agent does not accept in time: the customer resumes with the first agent, the second is ready again', async () => {
    const { attemptId, callId, channelId } = await callWithA();
    const sa = h.dialer.agents.get(a.id)!;
    const t0 = Date.now();
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { toAgentId: b.id })).statusCode).toBe(200);
    await until('the consultation given up', () => h.dialer.consultOfTarget(b.id) === undefined && h.dialer.agents.get(b.id)?.state === 'ready', (ANSWER_S + 10) * 1000);
    expect(Date.now() - t0).toBeGreaterThan(ANSWER_S * 1000 - 200);
    await until('the customer back in A\'s bridge', async () => (await bridgeChannels(sa.bridgeId)).includes(channelId), 5000);
    expect(h.dialer.callOfAgent(a.id)?.onHold).toBe(false);
    // Accepting too late is a clear 409.
    expect((await post(bUser, `/api/v1/agents/${b.id}/call/consult/accept`)).statusCode).toBe(409);
    const ev = await events(callId);
    expect(ev.at(-1)).toMatchObject({ kind: 'consult', actor: 'system', details: { step: 'no-answer', to: b.id } });
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/hangup`)).statusCode).toBe(200);
    // Stored, one file; its length is not asserted here: the customer's pcap (3 s) has ended by
    // the time the deadline passes, and Asterisk writes little for a bridge with no media (seen: 40 ms).
    await expectRecorded(attemptId, 'agent', 0);
    expect((await post(aUser, `/api/v1/attempts/${attemptId}/disposition`, { result: 'not-interested' })).statusCode).toBe(200);
  }, 90_000);

  it('a blind transfer to an outside number: checked (E.164, DNC, protected), the customer joined to it, the recording goes on, the first agent disposes', async () => {
    const blocked = `+1305558${String(1000 + (Date.now() % 8000)).padStart(4, '0')}`;
    const guarded = `+1305559${String(1000 + (Date.now() % 8000)).padStart(4, '0')}`;
    expect((await admin.inject({ method: 'POST', url: '/api/v1/dnc', payload: { phone: blocked, source: 'manual' } })).statusCode).toBeLessThan(300);
    expect((await admin.inject({ method: 'POST', url: '/api/v1/protected-numbers', payload: { phone: guarded, list: 'protected-person' } })).statusCode).toBeLessThan(300);
    const { attemptId, callId, channelId } = await callWithA();
    const bad = async (number: string, says: RegExp) => {
      const r = await post(aUser, `/api/v1/agents/${a.id}/call/transfer`, { number });
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().error).toMatch(says);
      expect(r.json().issues?.[0]?.field).toBe('body.number');
    };
    await bad('0305 555', /E\.164/);
    await bad('+19999999999', /not a valid number|invalid|length/i);
    await bad(blocked, /do-not-call/);
    await bad(guarded, /protected/);
    // Nothing happened to the call meanwhile.
    expect(h.dialer.agents.get(a.id)).toMatchObject({ state: 'on-call', callId });
    await wait(1000);
    const outside = '+13055571234';
    const r = await post(aUser, `/api/v1/agents/${a.id}/call/transfer`, { number: outside });
    expect(r.statusCode, r.body).toBe(200);
    // Agents see numbers masked (as every response to a user without numbers.view).
    expect(r.json()).toMatchObject({ callId, action: 'transfer', transferredTo: maskPhone(outside), agentId: null });
    expect(h.dialer.agents.get(a.id)?.state).toBe('wrap-up');
    // The customer and the outside leg share a bridge of their own; the agent's bridge holds the agent alone.
    const bridges = (await ari<{ id: string; name: string; channels: string[] }[]>('GET', '/bridges')).body;
    const xfer = bridges.find((x) => x.name === `transfer-${callId}`);
    expect(xfer?.channels).toHaveLength(2);
    expect(xfer?.channels).toContain(channelId);
    const outsideChannel = xfer!.channels.find((ch) => ch !== channelId)!;
    expect(await bridgeChannels(h.dialer.agents.get(a.id)!.bridgeId)).toEqual([h.dialer.agents.get(a.id)!.channelId]);
    // No agent-side control of a call no agent has.
    expect((await post(aUser, `/api/v1/agents/${a.id}/call/hold`)).statusCode).toBe(409);
    await wait(2000);
    // The outside party hangs up: the customer's call ends with it (ended_by transfer-party).
    expect((await ari('DELETE', `/channels/${outsideChannel}`)).status).toBe(204);
    await expectRecorded(attemptId, 'transfer-party', 2500);
    expect(await bridgeChannels(xfer!.id)).toEqual([]);
    // The first agent was the last agent with the customer: they dispose.
    const s = await screen(aUser, a.id);
    expect(s.current).toMatchObject({ callId, disposesHere: true, transferredTo: maskPhone(outside) });
    expect((await post(aUser, `/api/v1/attempts/${attemptId}/disposition`, { result: 'transferred' })).statusCode).toBe(200);
    // The number's channel noted as the call's leg (the CDR reconciler leaves it out of the orphans).
    expect((await events(callId)).map((e) => e.details)).toEqual([{ from: a.id, to: outside, kind: 'blind', target: 'number', leg: outsideChannel }]);
    const seen = await supervisor.inject({ method: 'GET', url: `/api/v1/calls/${callId}` });
    expect(seen.json()).toMatchObject({ endedBy: 'transfer-party', events: [{ kind: 'transfer', details: { to: maskPhone(outside) } }] });
  }, 90_000);

  it('an attended transfer to an outside number: it rings, answers and talks with the agent, then takes the customer', async () => {
    const { attemptId, callId, channelId } = await callWithA();
    const sa = h.dialer.agents.get(a.id)!;
    const outside = '+13055571235';
    const c = await post(aUser, `/api/v1/agents/${a.id}/call/consult`, { number: outside });
    expect(c.statusCode, c.body).toBe(200);
    expect(c.json()).toMatchObject({ consult: { target: 'number', to: maskPhone(outside) } });
    const talking = await until('the number answering', async () => {
      const s = await screen(aUser, a.id);
      return s.consult?.phase === 'talking' ? s : null;
    });
    expect(talking.consult).toMatchObject({ role: 'from', toName: maskPhone(outside) });
    // The agent and the number in the agent's bridge, the customer held outside it.
    const during = await bridgeChannels(sa.bridgeId);
    expect(during).toHaveLength(2);
    expect(during).not.toContain(channelId);
    await wait(1000);
    const done = await post(aUser, `/api/v1/agents/${a.id}/call/consult/complete`);
    expect(done.statusCode, done.body).toBe(200);
    expect(h.dialer.agents.get(a.id)?.state).toBe('wrap-up');
    await wait(1000);
    // A supervisor ends the call: one CDR, one recording across both bridges.
    const end = await supervisor.inject({ method: 'POST', url: `/api/v1/calls/${callId}/hangup` });
    expect(end.statusCode, end.body).toBe(200);
    await expectRecorded(attemptId, 'supervisor', 2000);
    expect((await events(callId)).map((e) => [e.kind, (e.details as { kind?: string }).kind])).toEqual([['consult', 'attended'], ['transfer', 'attended'], ['hangup', undefined]]);
    expect((await post(aUser, `/api/v1/attempts/${attemptId}/disposition`, { result: 'transferred' })).statusCode).toBe(200);
  }, 90_000);
});
