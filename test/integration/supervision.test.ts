// Supervision on the real stack (Asterisk 22, PostgreSQL, Redis, sipp): a supervisor listens to
// and whispers to an agent's live call from their own phone. Each phone (customer, agent,
// supervisor) is a sipp UAS for SIP whose media is this process's (test/helpers/rtp-peer.ts):
// each speaks a tone of its own and what each heard is measured per frequency, so "who heard
// whom" is checked on the audio itself, beside ARI's bridge membership. Also: every use audited,
// the call's CDR and recording untouched (the recording never holds the supervisor's voice),
// stopping, the call's end, the phone's hang-up, a transfer and the agent's logout each end the
// supervision and leave no snoop channel, phone channel or supervision bridge; a busy phone is a
// clear 409 with nothing left behind.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { enqueueAttempt } from '../../src/dialer/queue.js';
import type { SupervisionView } from '../../src/dialer/supervision.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { LocalRecordingStore } from '../../src/recordings/store.js';
import type { Sipp } from '../../src/sim/sipp.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { RtpPeer, toneLevel, wavSamples } from '../helpers/rtp-peer.js';
import { sippInMediaRange } from '../helpers/sipp-ports.js';

// This file's SIP ports (7050-7099) and media ports (9300-9499): sipp's own from 9300, the
// phones' RTP (held by this process) from 9460.
const CUSTOMER_SIP = 7050;
const AGENT_SIP = 7051;
const SUPERVISOR_SIP = 7052;
const AGENT2_SIP = 7053;
const BUSY_PHONE_SIP = 7054;
const CUSTOMER_RTP = 9460;
const AGENT_RTP = 9470;
const SUPERVISOR_RTP = 9480;
const AGENT2_RTP = 9490;
/** Each party's voice: a tone of its own. */
const CUSTOMER_HZ = 440;
const AGENT_HZ = 700;
const SUPERVISOR_HZ = 1100;
/** A tone heard clearly (the tones are sent at amplitude 8000) against one not heard at all. */
const HEARD = 1000;
const NOT_HEARD = 150;

const startSipp = sippInMediaRange(9300, 9440);
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await wait(100);
  }
}

describe('supervision: listen and whisper from the supervisor\'s phone (Asterisk 22, PostgreSQL, Redis, sipp)', () => {
  let h: Harness;
  let app: FastifyInstance;
  let admin: Api;
  let agentUser: Api;
  let supervisor: Api;
  let phoneless: Api;
  let busySupervisor: Api;
  let agent2: { id: string };
  const sipps: Sipp[] = [];
  const peers: RtpPeer[] = [];
  let customer: RtpPeer;
  let agentPhone: RtpPeer;
  let supervisorPhone: RtpPeer;
  let agent: { id: string; name: string };
  let campaignId: string;

  async function ari<T>(method: string, p: string): Promise<{ status: number; body: T }> {
    const res = await fetch(new URL(`/ari${p}`, h.cfg.ARI_URL), {
      method, headers: { authorization: `Basic ${Buffer.from(`${h.cfg.ARI_USER}:${h.cfg.ARI_PASSWORD}`).toString('base64')}` },
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }
  const bridgeChannels = async (id: string) => {
    const r = await ari<{ channels: string[] }>('GET', `/bridges/${id}`);
    return r.status === 200 ? [...r.body.channels].sort() : null;
  };
  /** The bridge's channels, as ARI shows them once its snapshot caught up (it lags a change by a moment). */
  const expectBridge = async (id: string, channels: string[]) => {
    const want = [...channels].sort();
    await until(`bridge ${id} to hold ${want.join(', ')}`, async () => JSON.stringify(await bridgeChannels(id)) === JSON.stringify(want), 3_000)
      .catch(() => undefined);
    expect(await bridgeChannels(id)).toEqual(want);
  };
  const channelExists = async (id: string) => (await ari('GET', `/channels/${id}`)).status === 200;

  beforeAll(async () => {
    h = await startHarness({ dialer: { agents: { autoReadyAfterMs: 0, loginTimeoutSeconds: 20 } } });
    app = await buildServer({ db: h.db, policies: h.policies, log: createLogger('silent'), dialer: h.dialer, recordings: new LocalRecordingStore(h.recordingsDir) });
    admin = await apiAs(app, h.db, 'admin');
    customer = await RtpPeer.open(CUSTOMER_RTP, CUSTOMER_HZ);
    agentPhone = await RtpPeer.open(AGENT_RTP, AGENT_HZ);
    supervisorPhone = await RtpPeer.open(SUPERVISOR_RTP, SUPERVISOR_HZ);
    const agent2Phone = await RtpPeer.open(AGENT2_RTP, null);
    peers.push(customer, agentPhone, supervisorPhone, agent2Phone);
    sipps.push(await startSipp({ scenario: 'rtp-peer-phone.xml', port: CUSTOMER_SIP, vars: { rtp_port: String(CUSTOMER_RTP) } }));
    sipps.push(await startSipp({ scenario: 'rtp-peer-phone.xml', port: AGENT_SIP, vars: { rtp_port: String(AGENT_RTP) } }));
    sipps.push(await startSipp({ scenario: 'rtp-peer-phone.xml', port: SUPERVISOR_SIP, vars: { rtp_port: String(SUPERVISOR_RTP) } }));
    sipps.push(await startSipp({ scenario: 'rtp-peer-phone.xml', port: AGENT2_SIP, vars: { rtp_port: String(AGENT2_RTP) } }));
    sipps.push(await startSipp({ scenario: 'customer-reject.xml', port: BUSY_PHONE_SIP, vars: { status: '486', reason: 'Busy Here' } }));

    const tag = h.app.slice(-8);
    const policyName = await saveOpenPolicy(h);
    const callerId = await createCallerId(h.db, randomCallerNumber(), 'supervision line');
    const trunk = await createTrunk(h.db, { name: `snoop-${tag}`, host: '127.0.0.1', port: CUSTOMER_SIP });
    await syncTrunk(h.db, h.ari, trunk.id);
    const c = await admin.inject({
      method: 'POST', url: '/api/v1/campaigns', payload: { name: `supervision ${h.app}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, recordCalls: true },
    });
    expect(c.statusCode, c.body).toBe(201);
    campaignId = c.json().id as string;
    expect((await admin.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/start` })).statusCode).toBe(200);
    const a = await createAgent(h.db, { name: 'Ada Agent', endpoint: `snoop-agent-${tag}`, contactUri: `sip:127.0.0.1:${AGENT_SIP}` });
    await syncAgent(h.db, h.ari, a.id);
    agent = { id: a.id, name: 'Ada Agent' };
    agentUser = await apiAs(app, h.db, 'agent', { agentId: a.id });
    // The supervisor's phone: an agent row of its own (never logged in as an agent), linked to their user.
    const phone = await createAgent(h.db, { name: 'Sam Supervisor\'s phone', endpoint: `snoop-sup-${tag}`, contactUri: `sip:127.0.0.1:${SUPERVISOR_SIP}` });
    await syncAgent(h.db, h.ari, phone.id);
    supervisor = await apiAs(app, h.db, 'supervisor', { agentId: phone.id });
    phoneless = await apiAs(app, h.db, 'supervisor');
    const busy = await createAgent(h.db, { name: 'A busy phone', endpoint: `snoop-busy-${tag}`, contactUri: `sip:127.0.0.1:${BUSY_PHONE_SIP}` });
    await syncAgent(h.db, h.ari, busy.id);
    busySupervisor = await apiAs(app, h.db, 'supervisor', { agentId: busy.id });
    const b = await createAgent(h.db, { name: 'Tom Transfer', endpoint: `snoop-agent2-${tag}`, contactUri: `sip:127.0.0.1:${AGENT2_SIP}` });
    await syncAgent(h.db, h.ari, b.id);
    agent2 = { id: b.id };
    const r = await agentUser.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/login` });
    expect(r.statusCode, r.body).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await h?.close();
    for (const s of sipps) await s.stop();
    for (const p of peers) p.close();
  });

  async function bridgedCall(): Promise<{ attemptId: string; callId: string }> {
    await until('the agent ready', () => h.dialer.agents.get(agent.id)?.state === 'ready');
    const phone = `+1305557${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
    const contact = await addContact(h.db, { campaignId, phone });
    const attempt = await createAttempt(h.db, { campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    await enqueueAttempt(h.queue, attempt.id);
    const callId = await until('the customer joined to the agent', () => {
      const s = h.dialer.agents.get(agent.id);
      return s?.state === 'on-call' ? s.callId : null;
    });
    return { attemptId: attempt.id, callId };
  }

  /** The audit rows of a call, oldest first. */
  const auditOf = (callId: string) =>
    h.db.selectFrom('audit_log').where('resource', '=', 'call').where('resource_id', '=', callId).orderBy('id').selectAll().execute();

  /** The call's supervision-end audit rows, once there are `n` (an end Asterisk caused is audited after its teardown). */
  const endsOf = async (callId: string, n: number) => {
    const rows = () => auditOf(callId).then((all) => all.filter((a) => a.action === 'call.supervision-end'));
    await until(`${n} supervision end(s) audited`, async () => (await rows()).length >= n, 5_000).catch(() => undefined);
    return rows();
  };

  /** What each phone heard of each voice over the last `ms`. */
  function levels(from: number, to = Date.now()) {
    const of = (p: RtpPeer) => ({
      customer: Math.round(p.levelOf(CUSTOMER_HZ, from, to)), agent: Math.round(p.levelOf(AGENT_HZ, from, to)), supervisor: Math.round(p.levelOf(SUPERVISOR_HZ, from, to)),
    });
    return { customerHeard: of(customer), agentHeard: of(agentPhone), supervisorHeard: of(supervisorPhone) };
  }

  /**
   * Over the next `ms` (from 0.5 s on, the new path settling): the supervisor hears customer and
   * agent; the customer hears the agent (their audio flows, so hearing no supervisor means
   * something) and never the supervisor; the agent hears the supervisor only in whisper mode.
   */
  async function expectHeard(mode: 'listen' | 'whisper', ms: number): Promise<void> {
    // The window starts once every path that must carry audio does (RTP can take a moment to flow
    // back to a phone after a bridge change on a loaded machine); up to 10 s, then it is judged as is.
    const flowing = (h: ReturnType<typeof levels>) =>
      h.supervisorHeard.customer > HEARD && h.supervisorHeard.agent > HEARD && h.customerHeard.agent > HEARD
      && (mode === 'listen' || h.agentHeard.supervisor > HEARD);
    const deadline = Date.now() + 10_000;
    let from = Date.now() + 500;
    await wait(500 + ms);
    let heard = levels(from);
    while (!flowing(heard) && Date.now() < deadline) {
      from = Date.now();
      await wait(ms);
      heard = levels(from);
    }
    console.log(`${mode} levels`, heard);
    expect(heard.supervisorHeard.customer).toBeGreaterThan(HEARD);
    expect(heard.supervisorHeard.agent).toBeGreaterThan(HEARD);
    expect(heard.customerHeard.agent).toBeGreaterThan(HEARD);
    expect(heard.customerHeard.supervisor).toBeLessThan(NOT_HEARD);
    if (mode === 'whisper') expect(heard.agentHeard.supervisor).toBeGreaterThan(HEARD);
    else expect(heard.agentHeard.supervisor).toBeLessThan(NOT_HEARD);
  }

  /** The call ended by the admin; its CDR and recording, which no supervision may have touched. */
  async function endAndCheckRecord(attemptId: string, callId: string, v: SupervisionView[]): Promise<void> {
    const r = await admin.inject({ method: 'POST', url: `/api/v1/calls/${callId}/hangup` });
    expect(r.statusCode, r.body).toBe(200);
    const summary = await h.dialer.callDone(attemptId);
    expect(summary.recordingStatus).toBe('stored');
    const calls = await h.db.selectFrom('calls').where('attempt_id', '=', attemptId).selectAll().execute();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.ended_by).toBe('supervisor');
    expect(calls[0]!.agent_id).toBe(agent.id);
    // No CDR for a supervision's channels, and no call event from it (the hang-up's only).
    const ids = v.flatMap((x) => [x.snoopChannelId, x.phoneChannelId]);
    if (ids.length) expect(await h.db.selectFrom('calls').where('channel_id', 'in', ids).select('id').execute()).toEqual([]);
    const events = await h.db.selectFrom('call_events').where('call_id', '=', callId).select('kind').execute();
    expect(events.map((e) => e.kind)).toEqual(['hangup']);
    // The recording is the agent bridge's: customer and agent, never the supervisor.
    const rec = await h.db.selectFrom('recordings').where('call_id', '=', callId).selectAll().executeTakeFirstOrThrow();
    const samples = wavSamples(readFileSync(path.join(h.recordingsDir, rec.storage_key)));
    const recorded = { customer: toneLevel(samples, CUSTOMER_HZ), agent: toneLevel(samples, AGENT_HZ), supervisor: toneLevel(samples, SUPERVISOR_HZ) };
    console.log('recording levels', recorded);
    expect(recorded.customer).toBeGreaterThan(HEARD / 2);
    expect(recorded.agent).toBeGreaterThan(HEARD / 2);
    expect(recorded.supervisor).toBeLessThan(NOT_HEARD);
  }

  it('refuses clearly: an agent user (403), an unknown agent (404), an agent with no call (409), a supervisor with no phone (409)', async () => {
    await until('the agent ready', () => h.dialer.agents.get(agent.id)?.state === 'ready');
    const asAgent = await agentUser.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(asAgent.statusCode, asAgent.body).toBe(403);
    const unknown = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${randomUUID()}/call/listen` });
    expect(unknown.statusCode, unknown.body).toBe(404);
    expect(unknown.json().error).toMatch(/does not exist/);
    const noCall = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/whisper` });
    expect(noCall.statusCode, noCall.body).toBe(409);
    expect(noCall.json().error).toMatch(/Ada Agent has no call in progress \(ready\)/);
    const notListening = await supervisor.inject({ method: 'DELETE', url: `/api/v1/agents/${agent.id}/call/supervision` });
    expect(notListening.statusCode, notListening.body).toBe(409);
    const { attemptId, callId } = await bridgedCall();
    const noPhone = await phoneless.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(noPhone.statusCode, noPhone.body).toBe(409);
    expect(noPhone.json().error).toMatch(/has no phone to listen on/);
    // Nothing was started or audited by the refusals.
    expect((await auditOf(callId)).filter((a) => a.action.startsWith('call.listen') || a.action.startsWith('call.whisper'))).toEqual([]);
    await wait(2000);
    await endAndCheckRecord(attemptId, callId, []);
  }, 60_000);

  it('listen: the supervisor hears customer and agent, neither hears the supervisor; audited; stop leaves nothing behind', async () => {
    const { attemptId, callId } = await bridgedCall();
    const agentSession = h.dialer.agents.get(agent.id)!;
    const started = Date.now();
    const r = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(r.statusCode, r.body).toBe(200);
    console.log(`listen answered in ${Date.now() - started} ms (phone called, answered, snoop joined)`);
    const v = r.json() as SupervisionView;
    expect(v).toMatchObject({ agentId: agent.id, callId, mode: 'listen', supervisorUserId: supervisor.userId });
    // The supervision's own bridge holds the phone and the snoop; the call's bridge only the call.
    await expectBridge(v.bridgeId, [v.phoneChannelId, v.snoopChannelId]);
    const call = await h.db.selectFrom('calls').where('id', '=', callId).select(['channel_id']).executeTakeFirstOrThrow();
    await expectBridge(agentSession.bridgeId, [agentSession.channelId, call.channel_id]);
    const listed = await supervisor.inject({ method: 'GET', url: '/api/v1/supervisions' });
    expect(listed.json().supervisions).toEqual([v]);
    // Asking again for the same is no second phone call.
    const again = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(again.json()).toEqual(v);

    await expectHeard('listen', 3000);

    const audit = await auditOf(callId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: 'call.listen', user_id: supervisor.userId, resource_id: callId });
    expect(audit[0]!.details).toMatchObject({ agentId: agent.id, supervisionId: v.id, mode: 'listen' });

    const stop = await supervisor.inject({ method: 'DELETE', url: `/api/v1/agents/${agent.id}/call/supervision` });
    expect(stop.statusCode, stop.body).toBe(200);
    await until('the snoop and the phone hung up', async () => !(await channelExists(v.snoopChannelId)) && !(await channelExists(v.phoneChannelId)), 5_000);
    // ARI reads bridges from a cache updated a moment after the change: polled, not read once.
    await until('the supervision bridge gone', async () => (await bridgeChannels(v.bridgeId)) === null, 5_000);
    expect((await supervisor.inject({ method: 'GET', url: '/api/v1/supervisions' })).json().supervisions).toEqual([]);
    const ended = (await auditOf(callId)).at(-1)!;
    expect(ended).toMatchObject({ action: 'call.supervision-end', user_id: supervisor.userId });
    expect(ended.details).toMatchObject({ reason: 'stopped', supervisionId: v.id });
    // The call goes on, with the agent, untouched.
    await expectBridge(agentSession.bridgeId, [agentSession.channelId, call.channel_id]);
    await endAndCheckRecord(attemptId, callId, [v]);
  }, 90_000);

  it('whisper: the agent hears the supervisor, the customer never does; switching to listen keeps the phone call; the call\'s end ends it', async () => {
    const { attemptId, callId } = await bridgedCall();
    const r = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/whisper` });
    expect(r.statusCode, r.body).toBe(200);
    const w = r.json() as SupervisionView;
    expect(w.mode).toBe('whisper');
    await expectHeard('whisper', 3000);

    // To listen only: a new snoop, the same phone call and bridge; the agent no longer hears the supervisor.
    const switchedAt = Date.now();
    const l = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(l.statusCode, l.body).toBe(200);
    console.log(`whisper to listen answered in ${Date.now() - switchedAt} ms (a new snoop, the same phone call)`);
    const v = l.json() as SupervisionView;
    expect(v).toMatchObject({ id: w.id, mode: 'listen', phoneChannelId: w.phoneChannelId, bridgeId: w.bridgeId });
    expect(v.snoopChannelId).not.toBe(w.snoopChannelId);
    await until('the whisper snoop hung up', async () => !(await channelExists(w.snoopChannelId)), 5_000);
    await expectBridge(v.bridgeId, [v.phoneChannelId, v.snoopChannelId]);
    await expectHeard('listen', 2000);

    const actions = (await auditOf(callId)).map((a) => [a.action, a.user_id]);
    expect(actions).toEqual([['call.whisper', supervisor.userId], ['call.listen', supervisor.userId]]);

    // The call ends: the supervision with it, nothing left in Asterisk.
    await endAndCheckRecord(attemptId, callId, [w, v]);
    await until('the supervision to end with the call', async () => (await bridgeChannels(v.bridgeId)) === null, 10_000);
    await until('the snoop and the phone hung up', async () => !(await channelExists(v.snoopChannelId)) && !(await channelExists(v.phoneChannelId)), 5_000);
    expect(h.dialer.supervision.list()).toEqual([]);
    const ended = await endsOf(callId, 1);
    expect(ended).toHaveLength(1);
    expect(ended[0]!.details).toMatchObject({ reason: 'call-ended', supervisionId: w.id });
    // No supervision bridge of this application is left.
    const bridges = await ari<{ id: string; name?: string }[]>('GET', '/bridges');
    expect(bridges.body.filter((b) => b.name?.startsWith('supervision-'))).toEqual([]);
  }, 90_000);

  it('the supervisor\'s phone hangs up: the supervision ends (audited), the call goes on untouched', async () => {
    const { attemptId, callId } = await bridgedCall();
    const agentSession = h.dialer.agents.get(agent.id)!;
    const r = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(r.statusCode, r.body).toBe(200);
    const v = r.json() as SupervisionView;
    // As the phone's own BYE would: Asterisk ends the phone's channel.
    expect((await ari('DELETE', `/channels/${v.phoneChannelId}`)).status).toBe(204);
    await until('the supervision to end', () => h.dialer.supervision.list().length === 0, 10_000);
    await until('the snoop hung up and the bridge gone', async () => !(await channelExists(v.snoopChannelId)) && (await bridgeChannels(v.bridgeId)) === null, 5_000);
    const [ended] = await endsOf(callId, 1);
    expect(ended).toMatchObject({ action: 'call.supervision-end', user_id: supervisor.userId });
    expect(ended!.details).toMatchObject({ reason: 'phone-hung-up', supervisionId: v.id });
    const call = await h.db.selectFrom('calls').where('id', '=', callId).select(['channel_id', 'ended_at']).executeTakeFirstOrThrow();
    expect(call.ended_at).toBeNull();
    await expectBridge(agentSession.bridgeId, [agentSession.channelId, call.channel_id]);
    await wait(1500);
    await endAndCheckRecord(attemptId, callId, [v]);
  }, 60_000);

  it('a busy phone is a clear 409 with nothing left behind; a transfer and a logout each end the supervision', async () => {
    const { attemptId, callId } = await bridgedCall();
    const supervisionBridges = async () => (await ari<{ name?: string }[]>('GET', '/bridges')).body.filter((b) => b.name?.startsWith('supervision-')).length;
    const bridgesBefore = await supervisionBridges();
    const busy = await busySupervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(busy.statusCode, busy.body).toBe(409);
    expect(busy.json().error).toMatch(/did not answer: .*\(cause 17\)/);
    await until('the busy phone\'s supervision bridge gone', async () => (await supervisionBridges()) === bridgesBefore, 5_000);
    expect(h.dialer.supervision.list()).toEqual([]);

    // A blind transfer to another agent: the supervision was of the first agent's call, it ends.
    const login2 = await admin.inject({ method: 'POST', url: `/api/v1/agents/${agent2.id}/login` });
    expect(login2.statusCode, login2.body).toBe(200);
    const r = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(r.statusCode, r.body).toBe(200);
    const v = r.json() as SupervisionView;
    const t = await admin.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/transfer`, payload: { toAgentId: agent2.id } });
    expect(t.statusCode, t.body).toBe(200);
    await until('the supervision to end at the transfer', () => h.dialer.supervision.list().length === 0, 10_000);
    await until('the supervision bridge gone', async () => (await bridgeChannels(v.bridgeId)) === null, 5_000);
    const atTransfer = await endsOf(callId, 1);
    expect(atTransfer.map((a) => a.details)).toEqual([expect.objectContaining({ reason: 'call-ended', supervisionId: v.id })]);

    // Listening to the second agent, who then logs out (their call ends with it).
    const l2 = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent2.id}/call/listen` });
    expect(l2.statusCode, l2.body).toBe(200);
    const v2 = l2.json() as SupervisionView;
    expect(v2.callId).toBe(callId);
    const out = await admin.inject({ method: 'POST', url: `/api/v1/agents/${agent2.id}/logout` });
    expect(out.statusCode, out.body).toBe(200);
    await until('the supervision to end at the logout', () => h.dialer.supervision.list().length === 0, 10_000);
    await until('no snoop, phone or bridge left', async () =>
      !(await channelExists(v2.snoopChannelId)) && !(await channelExists(v2.phoneChannelId)) && (await bridgeChannels(v2.bridgeId)) === null, 5_000);
    const ends = (await endsOf(callId, 2)).map((a) => (a.details as { reason: string }).reason);
    expect(ends).toEqual(['call-ended', 'call-ended']);
    const summary = await h.dialer.callDone(attemptId);
    expect(summary.endedBy).toBe('logout');
  }, 90_000);

  it('moving to another agent\'s call keeps the phone call; the call left behind has its end in the audit', async () => {
    const login2 = await admin.inject({ method: 'POST', url: `/api/v1/agents/${agent2.id}/login` });
    expect(login2.statusCode, login2.body).toBe(200);
    await until('both agents ready', () => h.dialer.agents.get(agent.id)?.state === 'ready' && h.dialer.agents.get(agent2.id)?.state === 'ready');
    const attempts: string[] = [];
    for (let i = 0; i < 2; i++) {
      const phone = `+1305558${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
      const contact = await addContact(h.db, { campaignId, phone });
      const attempt = await createAttempt(h.db, { campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
      attempts.push(attempt.id);
      await enqueueAttempt(h.queue, attempt.id);
    }
    const [first, second] = await until('both agents on a call', () => {
      const a = h.dialer.agents.get(agent.id);
      const b = h.dialer.agents.get(agent2.id);
      return a?.state === 'on-call' && b?.state === 'on-call' ? [a.callId!, b.callId!] : null;
    });
    const r1 = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent.id}/call/listen` });
    expect(r1.statusCode, r1.body).toBe(200);
    const v1 = r1.json() as SupervisionView;
    const r2 = await supervisor.inject({ method: 'POST', url: `/api/v1/agents/${agent2.id}/call/whisper` });
    expect(r2.statusCode, r2.body).toBe(200);
    const v2 = r2.json() as SupervisionView;
    expect(v2).toMatchObject({ id: v1.id, agentId: agent2.id, callId: second, mode: 'whisper', phoneChannelId: v1.phoneChannelId, bridgeId: v1.bridgeId });
    await until('the first snoop hung up', async () => !(await channelExists(v1.snoopChannelId)), 5_000);
    await expectBridge(v2.bridgeId, [v2.phoneChannelId, v2.snoopChannelId]);
    const left = await auditOf(first);
    expect(left.map((a) => a.action)).toEqual(['call.listen', 'call.supervision-end']);
    expect(left[1]!.details).toMatchObject({ reason: 'moved', toCallId: second, supervisionId: v1.id });
    expect((await auditOf(second)).map((a) => a.action)).toEqual(['call.whisper']);
    // The first agent's call ending does not touch the supervision, now on the second.
    expect((await admin.inject({ method: 'POST', url: `/api/v1/calls/${first}/hangup` })).statusCode).toBe(200);
    await wait(500);
    expect(h.dialer.supervision.list().map((x) => x.callId)).toEqual([second]);
    expect((await admin.inject({ method: 'POST', url: `/api/v1/calls/${second}/hangup` })).statusCode).toBe(200);
    await until('the supervision to end with the second call', () => h.dialer.supervision.list().length === 0, 10_000);
    await until('nothing left', async () => !(await channelExists(v2.phoneChannelId)) && (await bridgeChannels(v2.bridgeId)) === null, 5_000);
    for (const id of attempts) await h.dialer.callDone(id);
  }, 90_000);
});
