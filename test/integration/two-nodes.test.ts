// Two Asterisk nodes, two engine processes (`dialwell serve --role engine`, each pinned to one node
// with ENGINE_NODES) and two API processes (`--role api`), sipp customers and sipp agents on both
// nodes. A progressive and a predictive campaign, each with an agent on each node, dial on both
// nodes: every attempt is dialed once, on the node its attempt row records, and every customer
// who reached an agent reached one on the node that placed the call (media never crosses nodes).
// An agent logs in through one API process and is paused through the other. Node B's Asterisk
// stops: its agents are logged out with reason node-down, its calls are closed, the campaigns go
// on on node A; it starts again and rejoins (its agent logs in, calls are placed there) with no
// process restarted. Nodes: DIALWELL_TWO_NODES="A,B" (stack.sh node numbers; default "1,2":
// node 1 is the shared stack's, only node B is stopped and started).
import { spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

const root = path.resolve(import.meta.dirname, '../..');
const stack = (env: Record<string, string>, ...args: string[]) =>
  spawnSync('bash', [path.join(root, 'scripts/stack.sh'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
const [NODE_A, NODE_B] = (process.env.DIALWELL_TWO_NODES ?? '1,2').split(',').map(Number) as [number, number];
const CHROOT = '/var/cache/dialwell/asterisk22-chroot';
// This file's ports (7800-7899): sipp signalling, sipp media, the API processes.
const CARRIER = 7800;
const AGENTS_A = 7801;
const AGENTS_B = 7802;
const API = [7880, 7881] as const;
const CONTACTS = 16;
const TALK_MS = 2500;

describe('two nodes, two engines, two API processes', () => {
  const cfg = testConfig();
  const tag = randomUUID().slice(0, 6);
  const app = `dw2n${tag}`;
  const names = { a: `two-a-${tag}`, b: `two-b-${tag}` };
  const nodeIds = { a: '', b: '' };
  let db: Db;
  let token: string;
  const sipps: Sipp[] = [];
  const procs = new ServeProcesses();
  const startedNodes: number[] = [];

  const ports = (n: number) => ({ ari: 8088 + 100 * (n - 1), ami: 5038 + 100 * (n - 1), sip: 5060 + 100 * (n - 1) });
  const celFile = (n: number) => (n === 1 ? cfg.ASTERISK_CEL_FILE || null : `${CHROOT}/var/log/asterisk-node${n}/cel-custom/dialwell-cel.jsonl`);
  const nodeUp = (n: number, name: string) => {
    const r = stack({ ARI_APP: app, [`NODE${n}_NAME`]: name }, 'node-up', String(n));
    if (r.status !== 0) throw new Error(`node-up ${n} failed: ${r.stderr}`);
    startedNodes.push(n);
  };

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 4);
    if (NODE_A !== 1) nodeUp(NODE_A, names.a);
    nodeUp(NODE_B, names.b);
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 7810, pauseMs: TALK_MS }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENTS_A, mediaPort: 7830 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENTS_B, mediaPort: 7850 }));
    const user = await createUser(db, { name: `two-admin-${tag}`, role: 'admin', agentId: null });
    token = (await issueToken(db, user.id, 'two-nodes')).token;
    for (const [key, n] of [['a', NODE_A], ['b', NODE_B]] as const) {
      const p = ports(n);
      const row = await createNode(db, systemActor('system'), {
        name: names[key], ariUrl: `http://127.0.0.1:${p.ari}`, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: '127.0.0.1', amiPort: p.ami,
        amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: `127.0.0.1:${p.sip}`, celFile: celFile(n), enabled: true,
      });
      nodeIds[key] = row.id;
    }
  }, 120_000);

  afterAll(async () => {
    if (process.env.TWO_NODES_LOG_DIR) for (const [c, lines] of procs.all()) writeFileSync(path.join(process.env.TWO_NODES_LOG_DIR, `two-nodes-${c.pid}.log`), lines.join('\n'));
    procs.killAll();
    for (const s of sipps) await s.stop();
    for (const n of startedNodes) stack({}, 'node-down', String(n));
    // Other test files' engines must not see these nodes as ones to drive.
    await db?.updateTable('nodes').set({ enabled: false }).where('name', 'in', [names.a, names.b]).execute();
    await db?.destroy();
  }, 60_000);

  function serve(role: 'api' | 'engine', env: Record<string, string>): ChildProcess {
    return procs.start(role, {
      DATABASE_URL: cfg.DATABASE_URL, ARI_APP: app, DIAL_QUEUE: `dial-two-${tag}`, RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), 'dialwell-two-')),
      DIAL_JOB_LOCK_MS: '2000', CDR_RECONCILE_EVERY_MS: '2000', CDR_RECONCILE_GRACE_MS: '0', CDR_RECONCILE_SETTLE_MS: '0', NODE_DOWN_AFTER_MS: '2000',
      ...env,
    });
  }

  const http = apiWithToken(() => token);
  const stateVia = async (port: number, agentId: string) => ((await (await http(port, 'GET', `/api/v1/agents/${agentId}/state`)).json()) as { state: string }).state;

  async function campaign(mode: 'progressive' | 'predictive', trunkId: string, agentIds: string[]) {
    const id = randomUUID().slice(0, 8);
    const policyName = `open-two-${id}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const callerId = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `two ${mode} ${id}`, trunkId, callerIdId: callerId.id, policyName, dialMode: mode, recordCalls: false, state: 'draft' });
    for (let i = 0; i < CONTACTS; i++) {
      const phone = `+1305559${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
    }
    for (const agentId of agentIds) await db.insertInto('campaign_agents').values({ campaign_id: camp.id, agent_id: agentId }).execute();
    return camp;
  }

  const wrapUpLoop = (campaignIds: string[]) => dispositionLoop(db, http, campaignIds, API);

  it('dials both campaigns on both nodes, each customer to an agent of the node that placed the call; node B stops and rejoins', async () => {
    // The rendered dialplan of node B hands inbound calls to its own application.
    const plan = stack({}, 'node-cli', String(NODE_B), 'dialplan show dialwell');
    expect(plan.stdout).toContain(`Stasis(${app}-${names.b},inbound`);

    const trunk = await createTrunk(db, { name: `two-${tag}`, host: '127.0.0.1', port: CARRIER });
    const agents = {
      a1: await createAgent(db, { name: 'Two A1', endpoint: `two-a1-${tag}`, contactUri: `sip:127.0.0.1:${AGENTS_A}` }),
      a2: await createAgent(db, { name: 'Two A2', endpoint: `two-a2-${tag}`, contactUri: `sip:127.0.0.1:${AGENTS_A}` }),
      b1: await createAgent(db, { name: 'Two B1', endpoint: `two-b1-${tag}`, contactUri: `sip:127.0.0.1:${AGENTS_B}` }),
      b2: await createAgent(db, { name: 'Two B2', endpoint: `two-b2-${tag}`, contactUri: `sip:127.0.0.1:${AGENTS_B}` }),
    };
    const progressive = await campaign('progressive', trunk.id, [agents.a1.id, agents.b1.id]);
    const predictive = await campaign('predictive', trunk.id, [agents.a2.id, agents.b2.id]);
    const campaignIds = [progressive.id, predictive.id];

    const engines = { a: serve('engine', { ENGINE_NODES: names.a }), b: serve('engine', { ENGINE_NODES: names.b }) };
    serve('api', { PORT: String(API[0]) });
    serve('api', { PORT: String(API[1]) });
    const owner = async (name: string) => (await leaseHolder(db, nodeLease(name)))?.owner.split(':')[1] ?? '';
    await until(async () => (await owner(names.a)) === String(engines.a.pid) && (await owner(names.b)) === String(engines.b.pid), 60_000, 'each engine to drive its node');
    await until(async () => (await http(API[0], 'GET', '/healthz').catch(() => null))?.ok === true && (await http(API[1], 'GET', '/healthz').catch(() => null))?.ok === true, 60_000, 'both API processes to serve');

    // Agents are put on their nodes through the admin API (validated, audited, shown in GET).
    const bad = await http(API[0], 'PATCH', `/api/v1/agents/${agents.a1.id}`, { nodeId: randomUUID() });
    expect(bad.status).toBe(400);
    for (const [key, a] of Object.entries(agents)) {
      const r = await http(API[key === 'a1' || key === 'a2' ? 0 : 1], 'PATCH', `/api/v1/agents/${a.id}`, { nodeId: key.startsWith('a') ? nodeIds.a : nodeIds.b });
      expect(r.status, await r.text()).toBe(200);
    }
    // Each agent's endpoint lives on their own node's Asterisk only (it was on both while they had no node).
    const endpointOn = async (n: number, endpoint: string) => (await fetch(`http://127.0.0.1:${ports(n).ari}/ari/asterisk/config/dynamic/res_pjsip/endpoint/${endpoint}`, {
      headers: { authorization: `Basic ${Buffer.from(`${cfg.ARI_USER}:${cfg.ARI_PASSWORD}`).toString('base64')}` },
    })).status;
    expect([await endpointOn(NODE_A, agents.a1.endpoint), await endpointOn(NODE_B, agents.a1.endpoint)]).toEqual([200, 404]);
    expect([await endpointOn(NODE_A, agents.b2.endpoint), await endpointOn(NODE_B, agents.b2.endpoint)]).toEqual([404, 200]);
    const listed = (await (await http(API[1], 'GET', '/api/v1/agents')).json()) as { agents: { id: string; nodeId: string | null }[] };
    expect(listed.agents.find((x) => x.id === agents.b2.id)?.nodeId).toBe(nodeIds.b);
    const audited = await db.selectFrom('audit_log').where('resource_id', '=', agents.b1.id).where('action', '=', 'agent.updated').select('after').executeTakeFirst();
    expect((audited?.after as { nodeId?: string }).nodeId).toBe(nodeIds.b);

    // Logins through API process 0 reach the engine of each agent's node; a pause through process 1.
    for (const a of Object.values(agents)) {
      const r = await http(API[0], 'POST', `/api/v1/agents/${a.id}/login`);
      expect(r.status, await r.text()).toBe(200);
    }
    const pause = await http(API[1], 'POST', `/api/v1/agents/${agents.b1.id}/pause`, { reason: 'break' });
    expect(pause.status, await pause.text()).toBe(200);
    expect(await stateVia(API[0], agents.b1.id)).toBe('paused');
    expect((await http(API[0], 'POST', `/api/v1/agents/${agents.b1.id}/ready`)).status).toBe(200);
    expect(await stateVia(API[1], agents.b1.id)).toBe('ready');

    const callsOf = () => db.selectFrom('calls as c').innerJoin('attempts as a', 'a.id', 'c.attempt_id').leftJoin('agents as g', 'g.id', 'c.agent_id')
      .where('c.campaign_id', 'in', campaignIds)
      .select(['c.id', 'c.campaign_id', 'c.attempt_id', 'c.node_id', 'a.node_id as attempt_node', 'g.node_id as agent_node', 'c.agent_id', 'c.bridged_at', 'c.created_at', 'c.ended_at', 'c.outcome'])
      .execute();
    const wrapUp = wrapUpLoop(campaignIds);
    try {
      await db.updateTable('campaigns').set({ state: 'running' }).where('id', 'in', campaignIds).execute();
      // Both campaigns reach agents on both nodes.
      const bridgedOn = async (campaignId: string, node: string) => (await callsOf()).some((c) => c.campaign_id === campaignId && c.node_id === node && c.bridged_at);
      await until(async () => {
        for (const id of campaignIds) for (const node of [nodeIds.a, nodeIds.b]) if (!(await bridgedOn(id, node))) return false;
        return true;
      }, 90_000, 'both campaigns to reach agents on both nodes');

      // Node B's Asterisk stops: its agents are logged out (node-down), its calls closed, the campaigns go on on node A.
      const stoppedAt = new Date();
      expect(stack({}, 'node-down', String(NODE_B)).status).toBe(0);
      await until(async () => (await db.selectFrom('agent_state_changes').where('agent_id', 'in', [agents.b1.id, agents.b2.id]).where('state', '=', 'logged-out')
        .where('reason', '=', 'node-down').where('at', '>=', stoppedAt).select('agent_id').execute()).length === 2, 20_000, 'node B\'s agents to be logged out (node-down)');
      expect(await stateVia(API[1], agents.b1.id)).toBe('logged-out');
      await until(async () => (await callsOf()).filter((c) => c.node_id === nodeIds.b).every((c) => c.ended_at), 30_000, 'node B\'s calls to be closed');
      const onA = async () => (await callsOf()).filter((c) => c.node_id === nodeIds.a && c.created_at > stoppedAt).map((c) => c.campaign_id);
      await until(async () => new Set(await onA()).size === 2, 60_000, 'both campaigns to go on on node A');
      expect((await callsOf()).filter((c) => c.node_id === nodeIds.b && c.created_at > new Date(stoppedAt.getTime() + 3000))).toEqual([]);

      // Node B starts again: its engine reconnects by itself, its agent logs in, calls are placed there.
      nodeUp(NODE_B, names.b);
      const restartedAt = new Date();
      await until(async () => (await http(API[0], 'POST', `/api/v1/agents/${agents.b1.id}/login`)).status === 200, 60_000, 'node B\'s agent to log in again');
      await until(async () => (await callsOf()).some((c) => c.node_id === nodeIds.b && c.created_at > restartedAt && c.bridged_at), 60_000, 'a call bridged on node B after it rejoined');
      expect(engines.a.exitCode).toBeNull();
      expect(engines.b.exitCode).toBeNull();
    } finally {
      clearInterval(wrapUp);
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', 'in', campaignIds).execute();
    }
    await until(async () => (await callsOf()).every((c) => c.ended_at), 30_000, 'every call to end');
    const calls = await callsOf();
    // Every attempt dialed once, on the node its attempt row records.
    expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(calls.length);
    expect(calls.every((c) => c.node_id !== null && c.node_id === c.attempt_node)).toBe(true);
    // Every customer who reached an agent reached one on the node that placed the call.
    const bridged = calls.filter((c) => c.agent_id);
    expect(bridged.length).toBeGreaterThanOrEqual(5);
    expect(bridged.filter((c) => c.agent_node !== c.node_id)).toEqual([]);
    // Progressive dialing never abandons, whichever node placed the call.
    expect(calls.filter((c) => c.campaign_id === progressive.id && c.outcome === 'abandoned')).toEqual([]);
    const byNode = (node: string) => calls.filter((c) => c.node_id === node).length;
    process.stdout.write(`two-nodes: ${calls.length} calls (node A ${byNode(nodeIds.a)}, node B ${byNode(nodeIds.b)}), ${bridged.length} reached an agent\n`);
  }, 300_000);
});
