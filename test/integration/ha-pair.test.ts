// Two plain `dialwell serve` processes with the same settings on one box (Asterisk, PostgreSQL,
// Redis, sipp): one owns the node, the other stands by; both serve the API, and an agent command
// sent to either reaches the owner (login through one, pause through the other). kill -9 of the
// owner: the standby holds the node's lease within 5 s, keeps the agent's session, dialing
// resumes through it, and no attempt is dialed twice (calls up at the kill: takeover-calls.test.ts).
// A stale owner (SIGSTOP past its lease, then SIGCONT) stands down: it drives nothing more, dials nothing twice, and its API shows the new owner's sessions. An
// owner whose lease lapsed with nobody to take it holds dialing, takes the lease back and goes on.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';
import { apiWithToken, dispositionLoop, ServeProcesses } from '../helpers/serve-process.js';

const CARRIER = 6710;
const AGENT = 6711;
const PORTS = [6750, 6751];
const CONTACTS = 10;

describe('an owner and a standby (two serve processes)', () => {
  const cfg = testConfig();
  const tag = randomUUID().slice(0, 8);
  const nodeName = `ha-${tag}`;
  let db: Db;
  let token: string;
  const sipps: Sipp[] = [];
  const procs = new ServeProcesses();

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 4);
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 19300, pauseMs: 2500 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT, mediaPort: 19400 }));
    const user = await createUser(db, { name: `ha-admin-${tag}`, role: 'admin', agentId: null });
    token = (await issueToken(db, user.id, 'ha-pair')).token;
    await createNode(db, systemActor('system'), {
      name: nodeName, ariUrl: cfg.ARI_URL, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: cfg.AMI_HOST, amiPort: cfg.AMI_PORT,
      amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: '127.0.0.1:5060', celFile: cfg.ASTERISK_CEL_FILE || null, enabled: true,
    });
  });

  afterAll(async () => {
    procs.killAll();
    for (const s of sipps) await s.stop();
    // Out of service: other test files' engines (not pinned to a node) must not drive it.
    await db?.updateTable('nodes').set({ enabled: false }).where('name', '=', nodeName).execute();
    await db?.destroy();
  });

  function serve(port: number): ChildProcess {
    return procs.start('all', {
      DATABASE_URL: cfg.DATABASE_URL, PORT: String(port),
      // This test's own node, queue and ARI application (other test files share the database).
      ARI_APP: `dwha${tag}`, DIAL_QUEUE: `dial-ha-${tag}`, ENGINE_NODES: nodeName, NODE_NAME: nodeName,
      RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), 'dialwell-ha-')),
      DIAL_JOB_LOCK_MS: '2000', CDR_RECONCILE_EVERY_MS: '2000', CDR_RECONCILE_GRACE_MS: '0', CDR_RECONCILE_SETTLE_MS: '0',
    });
  }

  /** A progressive campaign of n contacts served by a new agent on the sipp softphone. */
  async function campaignWithAgent(n: number) {
    const id = randomUUID().slice(0, 8);
    const policyName = `open-ha-${id}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const trunk = await createTrunk(db, { name: `ha-${id}`, host: '127.0.0.1', port: CARRIER });
    const callerId = await createCallerId(db, randomCallerNumber());
    const agent = await createAgent(db, { name: 'HA agent', endpoint: `ha-${id}`, contactUri: `sip:127.0.0.1:${AGENT}` });
    const camp = await createCampaign(db, { name: `ha ${id}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'progressive', recordCalls: false, state: 'draft' });
    for (let i = 0; i < n; i++) {
      const phone = `+1305559${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
    }
    await db.insertInto('campaign_agents').values({ campaign_id: camp.id, agent_id: agent.id }).execute();
    return { agent, camp };
  }

  const wrapUpLoop = (campaignId: string, ports: number[]) => dispositionLoop(db, http, [campaignId], ports);

  const http = apiWithToken(() => token);
  const healthy = async (port: number) => (await http(port, 'GET', '/healthz').catch(() => null))?.ok === true;
  const holder = async () => (await leaseHolder(db, nodeLease(nodeName)))?.owner ?? '';

  it('the standby takes the node over within 5 s of kill -9 and dialing resumes; nothing is dialed twice', async () => {
    const { agent, camp } = await campaignWithAgent(CONTACTS);

    const [a, b] = [serve(PORTS[0]!), serve(PORTS[1]!)];
    await until(async () => (await healthy(PORTS[0]!)) && (await healthy(PORTS[1]!)), 60_000, 'both processes to serve');
    await until(async () => (await holder()) !== '', 15_000, 'an owner for the node');
    const ownerPid = Number((await holder()).split(':')[1]);
    expect([a.pid, b.pid]).toContain(ownerPid);
    const [owner, standby] = ownerPid === a.pid ? [a, b] : [b, a];
    const [ownerPort, standbyPort] = ownerPid === a.pid ? [PORTS[0]!, PORTS[1]!] : [PORTS[1]!, PORTS[0]!];
    // The standby's API answers too.
    expect((await http(standbyPort, 'GET', '/api/v1/nodes')).status).toBe(200);
    const stateVia = async (port: number) => ((await (await http(port, 'GET', `/api/v1/agents/${agent.id}/state`)).json()) as { state: string }).state;

    // Wrap-up waits for a disposition: the agent gives one for every call they took.
    const wrapUp = wrapUpLoop(camp.id, [ownerPort, standbyPort]);
    try {
      // Logged in through the standby (the owner holds the session), paused through the owner,
      // seen paused from the standby, made ready through the standby.
      const login = await http(standbyPort, 'POST', `/api/v1/agents/${agent.id}/login`);
      expect(login.status, await login.text()).toBe(200);
      expect(await stateVia(ownerPort)).toBe('ready');
      const pause = await http(ownerPort, 'POST', `/api/v1/agents/${agent.id}/pause`, { reason: 'break' });
      expect(pause.status, await pause.text()).toBe(200);
      expect(await stateVia(standbyPort)).toBe('paused');
      const ready = await http(standbyPort, 'POST', `/api/v1/agents/${agent.id}/ready`);
      expect(ready.status, await ready.text()).toBe(200);
      expect(await stateVia(ownerPort)).toBe('ready');
      await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
      const callsOf = () => db.selectFrom('calls').where('campaign_id', '=', camp.id).select(['attempt_id', 'created_at', 'ended_at', 'node_id', 'outcome']).execute();
      // Kill the owner while a call is up.
      await until(async () => (await callsOf()).length >= 2 && (await callsOf()).some((c) => !c.ended_at), 60_000, 'the owner to dial');
      owner.kill('SIGKILL');
      const killedAt = Date.now();
      await new Promise((r) => owner.once('exit', r));
      const atKill = (await callsOf()).length;

      await until(async () => (await holder()).split(':')[1] === String(standby.pid), 10_000, 'the standby to take the node');
      const takeoverMs = Date.now() - killedAt;
      expect(takeoverMs).toBeLessThanOrEqual(5000);

      // The agent's softphone is still in its bridge: the new owner kept their session (no new
      // login; src/dialer/takeover.ts), and it publishes it as its own.
      await until(async () => (await stateVia(standbyPort)) !== 'logged-out', 20_000, 'the new owner to keep the agent\'s session');
      await until(async () => (await callsOf()).length >= atKill + 2, 60_000, 'dialing to resume on the new owner');
      const calls = await callsOf();
      // Nothing dialed twice, and every call row names the node.
      expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(calls.length);
      expect(calls.every((c) => c.node_id !== null)).toBe(true);
      // The calls up at the kill are closed (by the new owner: the session it rebuilt, or from Asterisk's record).
      await until(async () => (await callsOf()).slice(0, atKill).every((c) => c.ended_at), 30_000, 'the calls of the dead owner to be closed');
      process.stdout.write(`ha-pair: takeover ${takeoverMs} ms after kill -9; ${calls.length} calls, ${atKill} before the kill\n`);
    } finally {
      clearInterval(wrapUp);
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
      standby.kill('SIGTERM');
      await new Promise((r) => (standby.exitCode !== null ? r(null) : standby.once('exit', r)));
    }
  }, 180_000);

  it('a stale owner (SIGSTOP past its lease, then SIGCONT) stands down and dials nothing twice', async () => {
    const { agent, camp } = await campaignWithAgent(CONTACTS);
    const [a, b] = [serve(PORTS[0]!), serve(PORTS[1]!)];
    await until(async () => (await healthy(PORTS[0]!)) && (await healthy(PORTS[1]!)), 60_000, 'both processes to serve');
    await until(async () => (await holder()).split(':')[1] === String(a.pid) || (await holder()).split(':')[1] === String(b.pid), 15_000, 'an owner for the node');
    const ownerPid = Number((await holder()).split(':')[1]);
    const [owner, standby] = ownerPid === a.pid ? [a, b] : [b, a];
    const [ownerPort, standbyPort] = ownerPid === a.pid ? [PORTS[0]!, PORTS[1]!] : [PORTS[1]!, PORTS[0]!];
    const wrapUp = wrapUpLoop(camp.id, [standbyPort, ownerPort]);
    const callsOf = () => db.selectFrom('calls').where('campaign_id', '=', camp.id).select(['attempt_id']).execute();
    try {
      expect((await http(ownerPort, 'POST', `/api/v1/agents/${agent.id}/login`)).status).toBe(200);
      await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
      await until(async () => (await callsOf()).length >= 1, 30_000, 'the owner to dial');

      owner.kill('SIGSTOP');
      await until(async () => (await holder()).split(':')[1] === String(standby.pid), 10_000, 'the standby to take the node');
      const takenAt = Date.now();
      await until(async () => (await http(standbyPort, 'POST', `/api/v1/agents/${agent.id}/login`)).status === 200, 20_000, 'the agent to log in on the new owner');
      const before = (await callsOf()).length;
      await until(async () => (await callsOf()).length > before, 30_000, 'the new owner to dial');

      // The stale owner wakes up: its lease is gone, it lets the node go on its own.
      owner.kill('SIGCONT');
      await until(() => procs.linesOf(owner).some((l) => l.includes('no longer driving the node')), 10_000, 'the stale owner to stand down');
      await new Promise((r) => setTimeout(r, 3000));
      expect((await holder()).split(':')[1]).toBe(String(standby.pid));
      const calls = await callsOf();
      expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(calls.length);
      // Its API still answers, and shows the session the new owner holds (not its own stale one).
      expect(await healthy(ownerPort)).toBe(true);
      const seen = (await (await http(ownerPort, 'GET', `/api/v1/agents/${agent.id}/state`)).json()) as { state: string };
      expect(seen.state).not.toBe('logged-out');
      // It did not reopen the node's ARI application: a second websocket would have taken the
      // new owner's events, leaving its calls with no end (its stop then waited out the call limit).
      const reopened = procs.linesOf(owner).filter((l) => l.includes('ARI connection back') && (JSON.parse(l) as { time: number }).time >= takenAt);
      expect(reopened).toEqual([]);
      const stopping = Date.now();
      standby.kill('SIGTERM');
      await new Promise((r) => (standby.exitCode !== null || standby.signalCode !== null ? r(null) : standby.once('exit', r)));
      expect(Date.now() - stopping).toBeLessThan(20_000);
    } finally {
      clearInterval(wrapUp);
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
      for (const c of [owner, standby]) c.kill('SIGTERM');
      await Promise.all([owner, standby].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    }
  }, 180_000);

  it('an owner whose lease lapsed with nobody to take it (a database blip) holds dialing, takes it back and dials on with its sessions', async () => {
    const { agent, camp } = await campaignWithAgent(CONTACTS);
    const only = serve(PORTS[0]!);
    const wrapUp = wrapUpLoop(camp.id, [PORTS[0]!]);
    const callsOf = () => db.selectFrom('calls').where('campaign_id', '=', camp.id).select(['attempt_id']).execute();
    try {
      await until(() => healthy(PORTS[0]!), 60_000, 'the process to serve');
      await until(async () => (await holder()).split(':')[1] === String(only.pid), 15_000, 'the process to own the node');
      const epoch = (await leaseHolder(db, nodeLease(nodeName)))!.epoch;
      expect((await http(PORTS[0]!, 'POST', `/api/v1/agents/${agent.id}/login`)).status).toBe(200);
      await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', camp.id).execute();
      await until(async () => (await callsOf()).length >= 1, 30_000, 'the owner to dial');
      // The lease lapses (as when renewals could not reach PostgreSQL in time).
      await db.updateTable('leases').set({ expires_at: new Date(Date.now() - 1000) }).where('name', '=', nodeLease(nodeName)).execute();
      const lines = procs.linesOf(only);
      await until(() => lines.some((l) => l.includes('node lease taken back')), 10_000, 'the owner to take its lease back');
      expect(lines.some((l) => l.includes('dialing held'))).toBe(true);
      expect(lines.some((l) => l.includes('no longer driving the node'))).toBe(false);
      expect((await leaseHolder(db, nodeLease(nodeName)))!.epoch).toBeGreaterThan(epoch);
      // The agent's session survived; dialing goes on at the new epoch.
      expect(((await (await http(PORTS[0]!, 'GET', `/api/v1/agents/${agent.id}/state`)).json()) as { state: string }).state).not.toBe('logged-out');
      const before = (await callsOf()).length;
      await until(async () => (await callsOf()).length > before, 30_000, 'dialing to go on');
      const calls = await callsOf();
      expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(calls.length);
    } finally {
      clearInterval(wrapUp);
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
      only.kill('SIGTERM');
      await new Promise((r) => (only.exitCode !== null || only.signalCode !== null ? r(null) : only.once('exit', r)));
    }
  }, 120_000);
});
