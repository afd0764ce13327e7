// Takeover with calls up, on the real stack: two plain `dialwell serve` processes drive one node
// (node 9 of `scripts/stack.sh node-up 9`, or the node named by DIALWELL_TAKEOVER_NODE), three
// agents on sipp softphones take recorded calls from sipp customers, and the owner is killed
// with SIGKILL while the calls are up. The standby owns the node within 5 s and rebuilds what the
// dead owner left in Asterisk (src/dialer/takeover.ts): the calls stay up (each customer still in
// its agent's bridge), then end normally when the customers hang up, each with one CDR closed by
// the new owner (ended_by customer, not reconciled from Asterisk's record) and its recording
// stored whole; the agents keep their sessions (seen through the survivor's API without a new
// login) and take the next calls; nothing is dialed twice. Customers ringing at the kill (the
// standby stopped with SIGSTOP meanwhile, so that they surely answer while no engine listens):
// the dialplan keeps them up until the standby owns the node ([dialwell-customer] in
// asterisk-config/extensions.conf); one who answered within the 2 s connect rule of the standby's
// takeover is joined to their agent, one past it hears the information message (the test's own
// UDP socket receives its audio) and counts as abandoned; one who answers after the takeover is
// joined. Each call has one CDR, closed by the standby. DIALWELL_TAKEOVER_PORT_BASE moves every
// port this file uses (sipp, media, the two processes' HTTP) by base + 0..99 (default 7700).
import dgram from 'node:dgram';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { createNode } from '../../src/admin/nodes.service.js';
import { nodeLease } from '../../src/app/engine-host.js';
import { systemActor } from '../../src/auth/audit.repository.js';
import { createUser, issueToken } from '../../src/auth/users.repository.js';
import { leaseHolder } from '../../src/cluster/leases.repository.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { campaignReports } from '../../src/reports/reports.service.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';

const NODE = Number(process.env.DIALWELL_TAKEOVER_NODE ?? '9');
const ARI_PORT = 8088 + 100 * (NODE - 1);
const AMI_PORT = 5038 + 100 * (NODE - 1);
const SIP_PORT = 5060 + 100 * (NODE - 1);
const CEL_FILE = `/var/cache/dialwell/asterisk22-chroot/var/log/asterisk${NODE === 1 ? '' : `-node${NODE}`}/cel-custom/dialwell-cel.jsonl`;
const BASE = Number(process.env.DIALWELL_TAKEOVER_PORT_BASE ?? '7700');
const CARRIER = BASE;
const SOFTPHONE = BASE + 1;
/** Customers who answer while no engine listens (customer-heard.xml), past the connect rule of
 * the takeover and within it, and one who answers after the takeover (customer-late-answer.xml). */
const PAST_RULE = BASE + 2;
const WITHIN_RULE = BASE + 4;
const LATE_ANSWER = BASE + 3;
/** The test's UDP sockets that hear what Asterisk plays to those two customers. */
const PAST_RULE_AUDIO = BASE + 60;
const WITHIN_RULE_AUDIO = BASE + 62;
const PORTS = [BASE + 90, BASE + 91];
const AGENTS = 3;
/** How long each customer talks before hanging up (sipp -d). */
const TALK_MS = 25_000;
const root = path.resolve(import.meta.dirname, '../..');

describe('takeover with calls up (two serve processes, kill -9 of the owner)', () => {
  const cfg = testConfig();
  const tag = randomUUID().slice(0, 8);
  const nodeName = `tk-${tag}`;
  const recordingsDir = mkdtempSync(path.join(tmpdir(), 'dialwell-takeover-'));
  let db: Db;
  let token: string;
  const sipps: Sipp[] = [];
  const children: ChildProcess[] = [];
  const output = new Map<ChildProcess, string[]>();
  /** The node was started here (stopped again at the end). */
  let startedNode = false;

  beforeAll(async () => {
    // Node N of the stack (started here unless it answers already).
    const ari = `http://127.0.0.1:${ARI_PORT}`;
    const up = async () => (await fetch(`${ari}/ari/asterisk/info`, { headers: { authorization: ariAuth() } }).catch(() => null))?.ok === true;
    if (NODE !== 1 && !(await up())) {
      execFileSync('bash', [path.join(root, 'scripts/stack.sh'), 'node-up', String(NODE)], { stdio: 'ignore' });
      startedNode = true;
    }
    db = createDb(cfg.DATABASE_URL, 4);
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: BASE + 10, pauseMs: TALK_MS }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: SOFTPHONE, mediaPort: BASE + 20 }));
    sipps.push(await Sipp.start({ scenario: 'customer-heard.xml', port: PAST_RULE, mediaPort: BASE + 30, pauseMs: 30_000, vars: { ringMs: '5000', listenPort: String(PAST_RULE_AUDIO) } }));
    sipps.push(await Sipp.start({ scenario: 'customer-heard.xml', port: WITHIN_RULE, mediaPort: BASE + 50, pauseMs: 8000, vars: { ringMs: '9000', listenPort: String(WITHIN_RULE_AUDIO) } }));
    sipps.push(await Sipp.start({ scenario: 'customer-late-answer.xml', port: LATE_ANSWER, mediaPort: BASE + 40, pauseMs: 6000, vars: { ringMs: '20000' } }));
    const user = await createUser(db, { name: `tk-admin-${tag}`, role: 'admin', agentId: null });
    token = (await issueToken(db, user.id, 'takeover-calls')).token;
    // The CEL file is named whenever its directory is there: cel_custom creates the file only at
    // its first event, so on a node just started by node-up it does not exist yet (the reconciler
    // reads a missing file in an existing directory as "no event yet", src/pbx/cel-records.ts).
    await createNode(db, systemActor('system'), {
      name: nodeName, ariUrl: ari, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: '127.0.0.1', amiPort: AMI_PORT,
      amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: `127.0.0.1:${SIP_PORT}`, celFile: existsSync(path.dirname(CEL_FILE)) ? CEL_FILE : null, enabled: true,
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // Each process's log, to read after a failure.
    for (const [c, lines] of output) writeFileSync(path.join(tmpdir(), `dialwell-takeover-${tag}-${c.pid}.log`), lines.join('\n'));
    for (const s of sipps) await s.stop();
    // Out of service: other test files' engines (not pinned to a node) must not drive it.
    await db?.updateTable('nodes').set({ enabled: false }).where('name', '=', nodeName).execute();
    await db?.destroy();
    if (startedNode) execFileSync('bash', [path.join(root, 'scripts/stack.sh'), 'node-down', String(NODE)], { stdio: 'ignore' });
  });

  const ariAuth = () => `Basic ${Buffer.from(`${cfg.ARI_USER}:${cfg.ARI_PASSWORD}`).toString('base64')}`;
  const ariGet = async <T>(p: string): Promise<T> => (await (await fetch(`http://127.0.0.1:${ARI_PORT}/ari${p}`, { headers: { authorization: ariAuth() } })).json()) as T;

  function serve(port: number, env: Record<string, string> = {}): ChildProcess {
    const child = spawn(process.execPath, [path.join(root, 'bin/dialwell.js'), 'serve'], {
      cwd: root,
      env: {
        ...process.env, LOG_FILE: undefined, DATABASE_URL: cfg.DATABASE_URL, PORT: String(port), LOG_LEVEL: 'warn',
        ARI_APP: `dwtk${tag}`, DIAL_QUEUE: `dial-tk-${tag}`, ENGINE_NODES: nodeName, NODE_NAME: nodeName,
        ARI_URL: `http://127.0.0.1:${ARI_PORT}`, AMI_PORT: String(AMI_PORT),
        // One store for both processes: the survivor stores the recordings the dead owner started.
        RECORDINGS_DIR: recordingsDir, SHUTDOWN_CALL_LIMIT_MS: '1000',
        DIAL_JOB_LOCK_MS: '2000', CDR_RECONCILE_EVERY_MS: '2000', CDR_RECONCILE_GRACE_MS: '0', CDR_RECONCILE_SETTLE_MS: '0',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    const lines: string[] = [];
    output.set(child, lines);
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    return child;
  }

  const http = (port: number, method: string, url: string, body?: unknown) =>
    fetch(`http://127.0.0.1:${port}${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
    });
  const healthy = async (port: number) => (await http(port, 'GET', '/healthz').catch(() => null))?.ok === true;
  const holder = async () => (await leaseHolder(db, nodeLease(nodeName)))?.owner ?? '';
  const agentState = async (port: number, agentId: string) =>
    (await (await http(port, 'GET', `/api/v1/agents/${agentId}/state`)).json()) as { state: string; callId: string | null };

  it('the calls up stay up, end normally with one CDR and their recordings whole; agents keep their sessions; dialing resumes', async () => {
    const id = randomUUID().slice(0, 8);
    const policyName = `open-tk-${id}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `tk-${id}`, host: '127.0.0.1', port: CARRIER });
    const callerId = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `takeover ${id}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'progressive', recordCalls: true, state: 'draft' });
    const agents: { id: string }[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const a = await createAgent(db, { name: `TK agent ${i}`, endpoint: `tk-${id}-${i}`, contactUri: `sip:127.0.0.1:${SOFTPHONE}` });
      await db.insertInto('campaign_agents').values({ campaign_id: camp.id, agent_id: a.id }).execute();
      agents.push(a);
    }
    for (let i = 0; i < 2 * AGENTS; i++) {
      const phone = `+1305558${String(1000 + i * 1000 + Math.floor(Math.random() * 999)).padStart(4, '0')}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
    }
    const callsOf = () => db.selectFrom('calls').where('campaign_id', '=', camp.id)
      .select(['id', 'attempt_id', 'agent_id', 'channel_id', 'bridge_id', 'created_at', 'bridged_at', 'ended_at', 'ended_by', 'outcome', 'reconciled_from', 'talk_ms', 'recording_status', 'recording_id', 'node_id'])
      .orderBy('created_at').execute();

    const [a, b] = [serve(PORTS[0]!), serve(PORTS[1]!)];
    let standby: ChildProcess | null = null;
    let wrapUp: NodeJS.Timeout | null = null;
    try {
      await until(async () => (await healthy(PORTS[0]!)) && (await healthy(PORTS[1]!)), 90_000, 'both processes to serve');
      await until(async () => [a.pid, b.pid].map(String).includes((await holder()).split(':')[1] ?? ''), 30_000, 'an owner for the node');
      const ownerPid = Number((await holder()).split(':')[1]);
      const owner = ownerPid === a.pid ? a : b;
      standby = owner === a ? b : a;
      const standbyPort = owner === a ? PORTS[1]! : PORTS[0]!;
      for (const ag of agents) {
        const r = await http(standbyPort, 'POST', `/api/v1/agents/${ag.id}/login`);
        expect(r.status, await r.text()).toBe(200);
      }
      await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();

      // Three calls up, each customer with an agent and recorded.
      await until(async () => (await callsOf()).filter((c) => c.bridged_at && !c.ended_at).length === AGENTS, 60_000, 'three calls with agents');
      const up = (await callsOf()).filter((c) => c.bridged_at && !c.ended_at);
      await until(async () => {
        const live = await Promise.all(up.map((c) => fetch(`http://127.0.0.1:${ARI_PORT}/ari/recordings/live/call-${c.id}`, { headers: { authorization: ariAuth() } })));
        return live.every((r) => r.ok);
      }, 10_000, 'the three recordings to run');
      await new Promise((r) => setTimeout(r, 1000));

      owner.kill('SIGKILL');
      const killedAt = Date.now();
      await new Promise((r) => (owner.exitCode !== null || owner.signalCode !== null ? r(null) : owner.once('exit', r)));
      await until(async () => (await holder()).split(':')[1] === String(standby!.pid), 10_000, 'the standby to take the node');
      const takeoverMs = Date.now() - killedAt;
      expect(takeoverMs).toBeLessThanOrEqual(5000);

      // The survivor rebuilt the calls and the agents' sessions before dialing.
      const lines = output.get(standby)!;
      await until(() => lines.some((l) => l.includes('node taken over')), 20_000, 'the survivor to rebuild the node');
      const rebuilt = JSON.parse(lines.find((l) => l.includes('node taken over'))!) as { agentsKept: number; callsKept: number; callsEnded: number };
      expect(rebuilt).toMatchObject({ agentsKept: AGENTS, callsKept: AGENTS, callsEnded: 0 });
      // Still up: each customer is in their agent's bridge with the agent's phone.
      const bridges = await ariGet<{ id: string; channels: string[] }[]>('/bridges');
      for (const c of up) {
        const br = bridges.find((x) => x.id === c.bridge_id);
        expect(br?.channels, `bridge of call ${c.id}`).toContain(c.channel_id);
        expect(br?.channels.length).toBe(2);
      }
      // Sessions kept: on the call, through the survivor's API, no new login.
      for (const c of up) expect(await agentState(standbyPort, c.agent_id!)).toMatchObject({ state: 'on-call', callId: c.id });

      // The agent gives a disposition for every call they took (through the survivor).
      const disposed = new Set<string>();
      wrapUp = setInterval(() => {
        void (async () => {
          for (const c of await callsOf()) {
            if (!c.ended_at || !c.agent_id || disposed.has(c.attempt_id)) continue;
            const r = await http(standbyPort, 'POST', `/api/v1/attempts/${c.attempt_id}/disposition`, { result: 'no-sale' }).catch(() => null);
            if (r?.ok) disposed.add(c.attempt_id);
          }
        })().catch(() => undefined);
      }, 300);

      // The customers hang up: one CDR each, closed by the survivor's sessions, recordings whole.
      await until(async () => (await callsOf()).filter((c) => up.some((u) => u.id === c.id)).every((c) => c.ended_at && c.recording_status !== 'pending'), TALK_MS + 30_000, 'the calls to end and their recordings to settle');
      const ended = (await callsOf()).filter((c) => up.some((u) => u.id === c.id));
      for (const c of ended) {
        expect(c, `call ${c.id}`).toMatchObject({ ended_by: 'customer', reconciled_from: null, outcome: 'answered', recording_status: 'stored' });
        const rec = await db.selectFrom('recordings').where('id', '=', c.recording_id!).selectAll().executeTakeFirstOrThrow();
        expect(rec.sha256).toMatch(/^[0-9a-f]{64}$/);
        // The whole call: from the join to the customer's hang-up, not from the takeover on.
        expect(Math.abs(rec.duration_ms - c.talk_ms!), `recording ${rec.duration_ms} ms of a ${c.talk_ms} ms call`).toBeLessThan(2000);
        expect(rec.duration_ms).toBeGreaterThan(TALK_MS - 3000);
        expect(statSync(path.join(recordingsDir, rec.storage_key)).size).toBe(rec.size_bytes);
      }

      // The agents take the next calls (dialing resumed on the survivor), without a new login.
      await until(async () => {
        const next = (await callsOf()).filter((c) => c.created_at.getTime() > killedAt && c.bridged_at);
        return agents.every((ag) => next.some((c) => c.agent_id === ag.id));
      }, 60_000, 'each agent to take a call after the takeover');
      const calls = await callsOf();
      expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(calls.length);
      const node = await db.selectFrom('nodes').where('name', '=', nodeName).select('id').executeTakeFirstOrThrow();
      expect(calls.every((c) => c.node_id === node.id)).toBe(true);
      process.stdout.write(`takeover-calls: lease moved ${takeoverMs} ms after kill -9; ${up.length} calls kept, ${calls.length} calls in all\n`);
    } finally {
      if (wrapUp) clearInterval(wrapUp);
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
      for (const c of [a, b]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await Promise.all([a, b].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    }
  }, 240_000);
  it('customers who answer while no engine listens: joined within the connect rule, else the information message and abandoned; one CDR each', async () => {
    const id = randomUUID().slice(0, 8);
    const policyName = `open-tk-${id}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const callerId = await createCallerId(db, randomCallerNumber());
    // One campaign per customer, each with an agent of its own (ready through the takeover).
    const setups: { which: string; camp: { id: string }; agent: { id: string } }[] = [];
    for (const [which, port] of [['past', PAST_RULE], ['within', WITHIN_RULE], ['late', LATE_ANSWER]] as const) {
      const trunk = await createTrunk(db, { name: `tk-${which}-${id}`, host: '127.0.0.1', port });
      const camp = await createCampaign(db, { name: `takeover ${which} ${id}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'progressive', recordCalls: false, state: 'draft' });
      const agent = await createAgent(db, { name: `TK ${which} agent`, endpoint: `tk-${which}-${id}`, contactUri: `sip:127.0.0.1:${SOFTPHONE}` });
      await db.insertInto('campaign_agents').values({ campaign_id: camp.id, agent_id: agent.id }).execute();
      const phone = `+1305557${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
      setups.push({ which, camp, agent });
    }
    const [past, within, late] = setups as [typeof setups[0], typeof setups[0], typeof setups[0]];
    const callsOf = (campaignId: string) => db.selectFrom('calls').where('campaign_id', '=', campaignId)
      .select(['id', 'channel_id', 'agent_id', 'bridge_id', 'answered_at', 'bridged_at', 'ended_at', 'ended_by', 'outcome', 'reconciled_from']).execute();
    const callOf = async (campaignId: string) => (await callsOf(campaignId))[0];
    const ariFetch = (p: string) => fetch(`http://127.0.0.1:${ARI_PORT}/ari${p}`, { headers: { authorization: ariAuth() } });
    const channelState = async (channelId: string) => ((await (await ariFetch(`/channels/${channelId}`)).json().catch(() => ({}))) as { state?: string }).state ?? null;
    /** The answer time the dialplan noted when Stasis() failed (set only when no engine listened). */
    const answeredUnheard = async (channelId: string) => {
      const r = await ariFetch(`/channels/${channelId}/variable?variable=DW_ANSWERED`);
      const v = r.ok ? ((await r.json()) as { value?: string }).value : '';
      return v ? Number(v) : null;
    };
    // What Asterisk plays to the two customers who answer unheard: RTP packets, and those carrying
    // sound (A-law bytes away from silence, 0xD5/0x55 and their neighbours).
    const heard = new Map<number, { packets: number; voiced: number; firstVoicedAt: number | null }>();
    const sockets: dgram.Socket[] = [];
    for (const port of [PAST_RULE_AUDIO, WITHIN_RULE_AUDIO]) {
      const h = { packets: 0, voiced: 0, firstVoicedAt: null as number | null };
      heard.set(port, h);
      const sock = dgram.createSocket('udp4');
      sock.on('message', (m) => {
        h.packets++;
        const payload = m.subarray(12);
        let loud = 0;
        for (const b of payload) if (Math.abs(alawToLinear(b)) > 500) loud++;
        if (loud > payload.length / 10) {
          h.voiced++;
          h.firstVoicedAt ??= Date.now();
        }
      });
      await new Promise<void>((r) => sock.bind(port, '127.0.0.1', () => r()));
      sockets.push(sock);
    }
    const [a, b] = [serve(PORTS[0]!), serve(PORTS[1]!)];
    let stopped: ChildProcess | null = null;
    try {
      await until(async () => (await healthy(PORTS[0]!)) && (await healthy(PORTS[1]!)), 90_000, 'both processes to serve');
      await until(async () => [a.pid, b.pid].map(String).includes((await holder()).split(':')[1] ?? ''), 30_000, 'an owner for the node');
      const ownerPid = Number((await holder()).split(':')[1]);
      const owner = ownerPid === a.pid ? a : b;
      const standby = owner === a ? b : a;
      const standbyPort = owner === a ? PORTS[1]! : PORTS[0]!;
      for (const s of setups) expect((await http(standbyPort, 'POST', `/api/v1/agents/${s.agent.id}/login`)).status).toBe(200);
      for (const s of setups) await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', s.camp.id).execute();
      // All three ring (their channels are in Asterisk, none answered yet).
      await until(async () => {
        const calls = await Promise.all(setups.map((s) => callOf(s.camp.id)));
        if (calls.some((c) => !c)) return false;
        return (await Promise.all(calls.map((c) => channelState(c!.channel_id)))).every((st) => st === 'Ringing' || st === 'Ring');
      }, 60_000, 'the three customers to ring');
      // No engine listens from now on: the standby is stopped, then the owner killed.
      standby.kill('SIGSTOP');
      stopped = standby;
      owner.kill('SIGKILL');
      const pastCall = (await callOf(past.camp.id))!;
      const withinCall = (await callOf(within.camp.id))!;
      const lateCall = (await callOf(late.camp.id))!;
      // Both answer unheard: the dialplan notes their answer time (its first Stasis() failed).
      await until(async () => (await answeredUnheard(pastCall.channel_id)) !== null, 20_000, 'the first customer to answer while no engine listens');
      await until(async () => (await answeredUnheard(withinCall.channel_id)) !== null, 20_000, 'the second customer to answer while no engine listens');
      const pastAnswer = (await answeredUnheard(pastCall.channel_id))!;
      const withinAnswer = (await answeredUnheard(withinCall.channel_id))!;
      // The standby wakes up just after the second answer (the first is seconds past the rule).
      standby.kill('SIGCONT');
      const resumedAt = Date.now();
      stopped = null;
      expect(resumedAt - pastAnswer).toBeGreaterThan(2000);
      expect(resumedAt - withinAnswer).toBeLessThan(1000);
      // Both customers are still up (Asterisk kept them), waiting in the dialplan.
      expect(await channelState(pastCall.channel_id)).toBe('Up');
      await until(async () => (await holder()).split(':')[1] === String(standby.pid), 15_000, 'the standby to take the node');

      // Within the rule: joined to their agent, in the agent's bridge, within 2 s of the answer.
      await until(async () => !!(await callOf(within.camp.id))?.bridged_at, 10_000, 'the customer within the rule to be joined');
      const joined = (await callOf(within.camp.id))!;
      expect(joined).toMatchObject({ agent_id: within.agent.id });
      expect(joined.answered_at!.getTime()).toBe(withinAnswer);
      const connectMs = joined.bridged_at!.getTime() - withinAnswer;
      expect(connectMs).toBeLessThan(2000);
      const bridge = await (await ariFetch(`/bridges/${joined.bridge_id}`)).json() as { channels: string[] };
      expect(bridge.channels).toContain(joined.channel_id);
      expect(bridge.channels.length).toBe(2);

      // Past the rule: the information message (heard on the customer's line), then abandoned.
      await until(async () => !!(await callOf(past.camp.id))?.ended_at, 30_000, 'the call past the rule to end');
      const told = heard.get(PAST_RULE_AUDIO)!;
      // im-sorry + telephone-number: ~2.4 s of speech, 50 packets a second.
      expect(told.voiced, `${told.packets} RTP packets heard, ${told.voiced} with sound`).toBeGreaterThan(40);
      expect(told.firstVoicedAt!).toBeGreaterThanOrEqual(resumedAt);
      const abandoned = (await callsOf(past.camp.id));
      expect(abandoned).toHaveLength(1);
      expect(abandoned[0]).toMatchObject({ outcome: 'abandoned', agent_id: null, bridged_at: null, reconciled_from: null });
      expect(abandoned[0]!.answered_at!.getTime()).toBe(pastAnswer);
      const period = { from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 60_000) };
      const [pastReport] = await campaignReports(db, { ...period, campaignId: past.camp.id }, { effectiveTalkSeconds: 30, successResults: [] });
      expect(pastReport).toMatchObject({ abandoned: 1 });

      // The joined call ends when the customer hangs up: one CDR, closed by the standby.
      await until(async () => !!(await callOf(within.camp.id))?.ended_at, 30_000, 'the joined call to end');
      const ended = await callsOf(within.camp.id);
      expect(ended).toHaveLength(1);
      expect(ended[0]).toMatchObject({ outcome: 'answered', ended_by: 'customer', reconciled_from: null });
      const [withinReport] = await campaignReports(db, { ...period, campaignId: within.camp.id }, { effectiveTalkSeconds: 30, successResults: [] });
      expect(withinReport).toMatchObject({ abandoned: 0 });

      // Answered after the takeover: its StasisStart reached the new owner, joined to the agent.
      await until(async () => !!(await callOf(late.camp.id))?.bridged_at, 30_000, 'the late customer to be joined to an agent');
      expect(await callOf(late.camp.id)).toMatchObject({ agent_id: late.agent.id, channel_id: lateCall.channel_id });
      await until(async () => !!(await callOf(late.camp.id))?.ended_at, 30_000, 'the late customer\'s call to end');
      expect(await callsOf(late.camp.id)).toMatchObject([{ outcome: 'answered', ended_by: 'customer', reconciled_from: null }]);
      // The agent of the abandoned call was kept, and is still ready for the next call.
      expect((await agentState(standbyPort, past.agent.id)).state).toBe('ready');
      process.stdout.write(`takeover-calls: answered unheard, joined ${connectMs} ms after the answer; past the rule: ${told.voiced} voiced RTP packets of the information message (first ${told.firstVoicedAt! - pastAnswer} ms after the answer)\n`);
    } finally {
      if (stopped) stopped.kill('SIGCONT');
      for (const sock of sockets) sock.close();
      for (const s of setups) await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', s.camp.id).execute();
      for (const c of [a, b]) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
      await Promise.all([a, b].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    }
  }, 240_000);
});

/** G.711 A-law to linear (ITU-T G.711). */
function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const seg = (v & 0x70) >> 4;
  let t = (v & 0x0f) << 4;
  t += seg === 0 ? 8 : 0x108;
  if (seg > 1) t <<= seg - 1;
  return v & 0x80 ? t : -t;
}
