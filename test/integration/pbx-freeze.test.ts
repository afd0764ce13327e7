// A frozen Asterisk (SIGSTOP for 8 s, then SIGCONT) with recorded calls up, an originate and an
// agent's login in flight. Runs against node 2 (`scripts/stack.sh node-up 2`), never the shared
// Asterisk. Checks what issue 12 found broken: the freeze is noticed by the websocket ping within
// seconds (one log line at its start, one at its end) and dialing is held, not failed; the
// originate that timed out is settled from Asterisk (placed → never "failed, not answered"); every
// call Asterisk saw has exactly one closed CDR; each agent ends with exactly one softphone channel
// and is ready again; dialing resumes by itself.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { PolicyResolver, savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { startEngine, type Engine } from '../../src/app/engine.js';
import { enqueueAttempt } from '../../src/dialer/queue.js';
import { createLogger } from '../../src/log.js';
import { insertCall } from '../../src/cdr/cdr.repository.js';
import { AmiGateway, type AmiCdr } from '../../src/pbx/ami.js';
import { AriGateway } from '../../src/pbx/ari.js';
import { trunkDialString, trunkNameOfChannel } from '../../src/pbx/pjsip-config.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { openAllHours } from '../helpers/harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const stack = (...args: string[]) => spawnSync('bash', [path.join(root, 'scripts/stack.sh'), ...args], { encoding: 'utf8' });
const NODE = 2;
const NODE_ARI = 8188;
const NODE_AMI = 5138;
const CEL_FILE = '/var/cache/dialwell/asterisk22-chroot/var/log/asterisk-node2/cel-custom/dialwell-cel.jsonl';
// This file's sipp ports (SIP 6200-6299, media 11000-11999).
const CARRIER = 6200;
const AGENT_PORTS = [6201, 6202, 6203];
const TALK_MS = 15_000;
const FREEZE_MS = 8_000;

interface LogLine {
  level: number;
  time: number;
  msg: string;
  outage?: string;
  state?: string;
  outageMs?: number | null;
}

describe('Asterisk frozen (SIGSTOP) with calls up, on node 2', () => {
  let db: Db;
  let engine: Engine;
  let ami: AmiGateway;
  let pid = 0;
  let startedNode = false;
  const sipps: Sipp[] = [];
  const lines: LogLine[] = [];
  const asteriskCdrs = new Map<string, AmiCdr>();
  let trunk: { id: string; name: string };
  let camp: { id: string };
  let side: { id: string };
  const agents: { id: string; name: string; endpoint: string }[] = [];
  let inFlight: string;
  let queued: string;
  let callerId: string;
  let ariOptions: { url: string; user: string; password: string };
  let attempt: (campaignId: string, phone: string) => Promise<string>;

  beforeAll(async () => {
    if (!stack('node-pid', String(NODE)).stdout.trim()) {
      const up = stack('node-up', String(NODE));
      if (up.status !== 0) throw new Error(`node ${NODE} did not start: ${up.stderr}`);
      startedNode = true;
    }
    pid = Number(stack('node-pid', String(NODE)).stdout.trim());
    if (!pid) throw new Error(`Asterisk node ${NODE} is not running (scripts/stack.sh node-up ${NODE})`);
    const tag = randomUUID().slice(0, 8);
    const cfg = testConfig({
      ARI_URL: `http://127.0.0.1:${NODE_ARI}`, AMI_PORT: String(NODE_AMI), ASTERISK_CEL_FILE: CEL_FILE,
      ARI_APP: `dialwell-fz-${tag}`, DIAL_QUEUE: `dial-fz-${tag}`, LOG_LEVEL: 'info',
    });
    db = createDb(cfg.DATABASE_URL, 10);
    await db.updateTable('campaigns').set({ state: 'completed' }).where('state', '=', 'running').execute();
    // The engine's JSON log, kept to check what it said about the outage.
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
        cb();
      },
    });
    const log = pino({ level: 'info' }, sink);
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 11000, pauseMs: TALK_MS }));
    for (const [i, port] of AGENT_PORTS.entries()) sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port, mediaPort: 11100 + i * 100 }));
    const started = AmiGateway.start({ host: cfg.AMI_HOST, port: NODE_AMI, user: cfg.AMI_USER, password: cfg.AMI_PASSWORD, log: createLogger('silent'), eventClasses: 'cdr' });
    ami = started.ami;
    ami.on('cdr', (c) => asteriskCdrs.set(c.uniqueId, c));
    await started.ready;

    // The campaign, its trunk and agents (the engine pushes them to Asterisk as it starts).
    const policyName = `open-fz-${tag}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    trunk = await createTrunk(db, { name: `fz-${tag}`, host: '127.0.0.1', port: CARRIER });
    const cid = await createCallerId(db, randomCallerNumber());
    callerId = cid.number;
    ariOptions = { url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD };
    for (const [i, port] of AGENT_PORTS.entries()) {
      agents.push(await createAgent(db, { name: `Freeze ${i}`, endpoint: `fz${i}-${tag}`, contactUri: `sip:127.0.0.1:${port}` }));
    }
    camp = await createCampaign(db, { name: `freeze ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: true, state: 'draft' });
    // Dialed by hand and from the queue during the freeze (no agent is listed: any agent serves it).
    side = await createCampaign(db, { name: `freeze side ${tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: true, state: 'draft' });
    attempt = async (campaignId: string, phone: string) => {
      const c = await addContact(db, { campaignId, phone });
      return (await createAttempt(db, { campaignId, contactId: c.id, phone, idempotencyKey: randomUUID() })).id;
    };
    for (let i = 0; i < 6; i++) await attempt(camp.id, `+1305557${String(3000 + i)}`);
    inFlight = await attempt(side.id, '+13055573100');
    queued = await attempt(side.id, '+13055573101');

    const policies = new PolicyResolver(db, 0);
    engine = await startEngine(cfg, db, policies, log, {
      tickMs: 200,
      dialer: { agents: { autoReadyAfterMs: 300, loginTimeoutSeconds: 10 } },
      cdr: { campaignIds: [camp.id, side.id] },
    });
  }, 90_000);

  afterAll(async () => {
    if (pid) process.kill(pid, 'SIGCONT');
    // The engine's log, for reading after a failure.
    const file = path.join(tmpdir(), `pbx-freeze-${process.pid}.jsonl`);
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n'));
    process.stdout.write(`pbx-freeze: engine log in ${file}\n`);
    await engine?.close();
    ami?.close();
    await db?.destroy();
    for (const s of sipps) await s.stop();
    if (startedNode) stack('node-down', String(NODE));
  }, 60_000);

  it('notices the freeze in seconds, holds dialing, settles the timed-out originate, and every call has one CDR', async () => {
    const { dialer, ari } = engine;

    // Two agents take calls; the third logs in during the freeze.
    await dialer.agents.login(agents[0]!);
    await dialer.agents.login(agents[1]!);
    await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
    const callsOf = () => db.selectFrom('calls').where('campaign_id', 'in', [camp.id, side.id]).selectAll().execute();
    await until(async () => (await callsOf()).filter((c) => c.bridged_at && !c.ended_at).length >= 2, 20_000, 'two customers with agents');

    // Freeze Asterisk. The dialer still believes it is up for a moment: an originate and a login go out.
    const frozenAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    let resumedAt = 0;
    try {
      const dialing = dialer.dialAttempt(inFlight);
      const login = dialer.agents.login(agents[2]!).then(() => 'logged in', (err: Error) => err.message);
      await until(() => !dialer.available, FREEZE_MS, 'the freeze to be noticed');
      const detectMs = Date.now() - frozenAt;
      // Held: a job enqueued now waits for Asterisk instead of failing.
      await enqueueAttempt(engine.queue, queued);
      await new Promise((r) => setTimeout(r, Math.max(0, FREEZE_MS - (Date.now() - frozenAt))));
      process.kill(pid, 'SIGCONT');
      resumedAt = Date.now();
      await until(() => dialer.available, 20_000, 'ARI to come back');
      const backMs = Date.now() - resumedAt;
      const dialResult = await dialing;
      expect(dialResult.status).toBe('dialing'); // not "not-dialed": the outcome is unknown
      // The login either gave up (its requests timed out) or completed once Asterisk woke up.
      expect(await login).toMatch(/logged in|timed out|failed|not reachable|did not answer/);
      process.stdout.write(`pbx-freeze: freeze noticed after ${detectMs} ms, ARI back ${backMs} ms after SIGCONT\n`);
      expect(detectMs).toBeLessThan(7_500);
    } finally {
      if (!resumedAt) process.kill(pid, 'SIGCONT');
    }

    // The outage was logged once when it started and once when it ended, with its length.
    const outage = lines.filter((l) => l.outage === 'ari');
    expect(outage.map((l) => l.state)).toEqual(['started', 'ended']);
    expect(outage[0]!.time - frozenAt).toBeLessThan(7_500);
    expect(outage[1]!.outageMs).toBeGreaterThan(1_000);

    // The third agent logs in again if need be: one softphone channel, any the timed-out login left hung up.
    if (dialer.agents.get(agents[2]!.id)?.state !== 'ready') await dialer.agents.login(agents[2]!);

    // Dialing resumes by itself: the held job is dialed, and the campaign goes on to its end.
    await until(async () => (await db.selectFrom('calls').where('attempt_id', '=', queued).select('id').executeTakeFirst()) !== undefined, 20_000, 'the held job to be dialed');
    const job = (await engine.queue.getJobs(['failed'])).filter((j) => j.data.attemptId === queued);
    expect(job).toHaveLength(0);
    const heldCall = await db.selectFrom('calls').where('attempt_id', '=', queued).select('created_at').executeTakeFirstOrThrow();
    expect(heldCall.created_at.getTime()).toBeGreaterThanOrEqual(resumedAt - 50); // dialed once Asterisk was back, not before
    await until(async () => {
      const rows = await callsOf();
      return rows.length === 8 && rows.every((r) => r.ended_at);
    }, 120_000, 'every call to end');
    const resumedCalls = (await callsOf()).filter((c) => c.created_at.getTime() > resumedAt && c.bridged_at);
    expect(resumedCalls.length).toBeGreaterThan(0);

    // The timed-out originate: if Asterisk placed it, its CDR says what happened, never "failed".
    const rows = await callsOf();
    const settled = rows.find((r) => r.attempt_id === inFlight)!;
    await new Promise((r) => setTimeout(r, 1500)); // the last Cdr events
    process.stdout.write(`pbx-freeze: timed-out originate ${asteriskCdrs.has(settled.channel_id) ? 'placed by Asterisk after SIGCONT' : 'never reached Asterisk'}: outcome ${settled.outcome}\n`);
    if (asteriskCdrs.has(settled.channel_id)) {
      expect(settled.outcome).not.toBe('failed');
      expect(settled.answered_at).not.toBeNull();
    } else {
      expect(settled.hangup_cause_text).toMatch(/never reached Asterisk/);
    }

    // Every call Asterisk saw on the trunk has exactly one CDR, closed; no attempt dialed twice.
    const seen = [...asteriskCdrs.values()].filter((c) => trunkNameOfChannel(c.channel) === trunk.name);
    expect(seen.length).toBeGreaterThanOrEqual(7);
    for (const c of seen) {
      const matching = rows.filter((r) => r.channel_id === c.uniqueId);
      expect(matching, `CDR rows for ${c.uniqueId}`).toHaveLength(1);
      expect(matching[0]!.ended_at).not.toBeNull();
    }
    expect(new Set(rows.map((r) => r.attempt_id)).size).toBe(rows.length);
    const open = await db.selectFrom('attempts').where('campaign_id', 'in', [camp.id, side.id]).where('state', 'in', ['dialing', 'queued']).select('id').execute();
    expect(open).toHaveLength(0);

    // Each agent: exactly one softphone channel on Asterisk, the one its session holds, and ready.
    await until(() => agents.every((a) => dialer.agents.get(a.id)?.state === 'ready'), 20_000, 'agents ready again');

    // Reconciling agents with what Asterisk holds: a softphone out of its bridge is put back, a
    // missing bridge made again; a softphone channel no login holds (a login that gave up while
    // Asterisk was frozen leaves one when Asterisk places it later) is hung up.
    const [a0, a1] = [dialer.agents.get(agents[0]!.id)!, dialer.agents.get(agents[1]!.id)!];
    await ari.removeFromBridge(a0.bridgeId, a0.channelId);
    await ari.destroyBridge(a1.bridgeId);
    await dialer.reconcileWithAsterisk();
    const bridges = await ari.listBridges();
    expect(bridges.find((b) => b.id === a0.bridgeId)?.channels).toEqual([a0.channelId]);
    expect(bridges.find((b) => b.id === a1.bridgeId)?.channels).toEqual([a1.channelId]);
    const stray = randomUUID();
    await ari.originate({ endpoint: `PJSIP/${agents[2]!.endpoint}`, channelId: stray, app: ari.app, appArgs: `agent,${agents[2]!.id}`, timeout: 30 });
    await until(async () => (await ari.getChannel(stray)) === null, 6_000, 'the stray softphone channel to be hung up');
    expect(dialer.agents.get(agents[2]!.id)?.state).toBe('ready');

    const channels = await ari.listChannels();
    for (const a of agents) {
      const mine = channels.filter((c) => c.name.startsWith(`PJSIP/${a.endpoint}-`));
      expect(mine.map((c) => c.id), `softphone channels of ${a.endpoint}`).toEqual([dialer.agents.get(a.id)!.channelId]);
    }
    await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
  }, 240_000);

  it('takes over answered customers whose channels no session holds: joined within the connect rule, told and abandoned past it', async () => {
    const { dialer, ari } = engine;
    // A short information message (then the caller id's digits), so that it ends before the customer hangs up.
    await db.updateTable('campaigns').set({ settings: JSON.stringify({ informationMessage: ['sound:beep'] }) }).where('id', '=', side.id).execute();
    // Another engine (its own application) placed two calls, which were answered; then it died.
    const dead = await AriGateway.connect({ ...ariOptions, app: `${ari.app}-dead`, maxSockets: 4, timeoutMs: 5000, log: createLogger('silent') });
    const answeredAt = new Map<string, Date>();
    dead.on('event', (e) => {
      if (e.type === 'StasisStart') answeredAt.set(e.channel.id, new Date(e.timestamp));
    });
    const placed: { attemptId: string; channelId: string; callId: string }[] = [];
    for (const phone of ['+13055573200', '+13055573201']) {
      const attemptId = await attempt(side.id, phone);
      const a = await db.updateTable('attempts').set({ state: 'dialing', dialed_at: new Date() }).where('id', '=', attemptId).returning('contact_id').executeTakeFirstOrThrow();
      const channelId = randomUUID();
      const callId = await insertCall(db, { attemptId, campaignId: side.id, contactId: a.contact_id, phone, callerId, trunkId: trunk.id, channelId });
      await dead.originate({ endpoint: trunkDialString(phone, trunk.name), channelId, app: dead.app, appArgs: `customer,${callId}` });
      placed.push({ attemptId, channelId, callId });
    }
    await until(() => placed.every((p) => answeredAt.has(p.channelId)), 10_000, 'the customers to answer');
    dead.close();
    const [fresh, late] = placed as [typeof placed[0], typeof placed[0]];

    // Within 2 s of its answer: joined to a ready agent.
    const freshChannel = await ari.getChannel(fresh.channelId);
    expect(freshChannel).not.toBeNull();
    expect(await dialer.adoptChannel(freshChannel!, answeredAt.get(fresh.channelId)!, 'test: a standby engine takes the node over')).toBe('joining');
    // Past it: the information message, then the end, counted as abandoned.
    await new Promise((r) => setTimeout(r, 2_500));
    const lateChannel = await ari.getChannel(late.channelId);
    expect(lateChannel).not.toBeNull();
    expect(await dialer.adoptChannel(lateChannel!, answeredAt.get(late.channelId)!, 'test: a standby engine takes the node over')).toBe('abandoning');

    const row = (callId: string) => db.selectFrom('calls').where('id', '=', callId).selectAll().executeTakeFirstOrThrow();
    await until(async () => (await row(late.callId)).ended_at !== null, 40_000, 'the late customer\'s call to end');
    const lateRow = await row(late.callId);
    expect(lateRow.outcome).toBe('abandoned');
    expect(lateRow.answered_at).not.toBeNull();
    expect(lateRow.bridged_at).toBeNull();
    // Ended by Dialwell after the message, before the customer's own hang-up TALK_MS after the answer.
    expect(lateRow.ended_at!.getTime() - answeredAt.get(late.channelId)!.getTime()).toBeLessThan(TALK_MS - 500);
    await until(async () => (await row(fresh.callId)).ended_at !== null, 40_000, 'the joined customer\'s call to end');
    const freshRow = await row(fresh.callId);
    expect(freshRow.outcome).toBe('answered');
    expect(freshRow.bridged_at).not.toBeNull();
    expect(freshRow.bridged_at!.getTime() - answeredAt.get(fresh.channelId)!.getTime()).toBeLessThan(2_000);
    // One CDR each, closed once by the session that took the call over.
    const rows = await db.selectFrom('calls').where('channel_id', 'in', placed.map((p) => p.channelId)).select(['id', 'reconciled_from']).execute();
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.reconciled_from === null)).toBe(true);
    const attempts = await db.selectFrom('attempts').where('id', 'in', placed.map((p) => p.attemptId)).select('state').execute();
    expect(attempts.map((a) => a.state)).toEqual(['completed', 'completed']);
  }, 90_000);

  it('puts a dial job off, not failed, while Asterisk stays frozen past the worker\'s wait, and dials it once back', async () => {
    const { dialer } = engine;
    const id = await attempt(side.id, '+13055573300');
    process.kill(pid, 'SIGSTOP');
    let resumedAt = 0;
    try {
      await until(() => !dialer.available, FREEZE_MS, 'the freeze to be noticed');
      await enqueueAttempt(engine.queue, id);
      // The worker holds it 10 s, then puts it off by 2 s (again and again while Asterisk is away).
      await until(async () => (await engine.queue.getJobs(['delayed'])).some((j) => j.data.attemptId === id), 20_000, 'the job to be put off');
      const job = (await engine.queue.getJobs(['delayed'])).find((j) => j.data.attemptId === id)!;
      expect(job.attemptsMade).toBe(0);
      expect((await engine.queue.getJobs(['failed'])).filter((j) => j.data.attemptId === id)).toHaveLength(0);
      const held = await db.selectFrom('attempts').where('id', '=', id).select(['state', 'decision_id']).executeTakeFirstOrThrow();
      expect(held).toEqual({ state: 'queued', decision_id: null }); // nothing reserved while Asterisk is away
    } finally {
      process.kill(pid, 'SIGCONT');
      resumedAt = Date.now();
    }
    await until(() => dialer.available, 20_000, 'ARI to come back');
    const row = () => db.selectFrom('calls').where('attempt_id', '=', id).selectAll().executeTakeFirst();
    await until(async () => (await row()) !== undefined, 10_000, 'the put-off job to be dialed');
    process.stdout.write(`pbx-freeze: put-off job dialed ${(await row())!.created_at.getTime() - resumedAt} ms after SIGCONT\n`);
    await until(async () => !!(await row())?.ended_at, 40_000, 'its call to end');
    expect((await row())!.outcome).toBe('answered');
  }, 90_000);
});
