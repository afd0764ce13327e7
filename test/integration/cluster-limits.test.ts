// Two Asterisk nodes (node 1 and node 3 of the stack), one engine host on each, and an API that
// drives no engine (as `serve --role api`), all on one PostgreSQL and Redis:
// - a trunk and agents created through the API reach both nodes; a node that cannot be reached
//   gets the change marked pending, and its engine pushes it when it starts;
// - /api/v1/live, its SSE stream and /metrics in the engine-less API show both nodes' agents and calls;
// - one trunk (2 calls per second, 3 concurrent calls) dialed from both engines at once: the call
//   rows never show more than 3 calls up at once nor more than 2 placed within a second, across both;
// - a drain of node B (API): its calls end at the drain's limit, its agent is logged out with
//   reason "drain", its lease is released and no engine takes it (a standby waits) until
//   `dialwell undrain` puts it back, when an engine pinned to it takes it again.
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { createNode } from '../../src/admin/nodes.service.js';
import { PbxFleet } from '../../src/admin/pbx-sync.js';
import { EngineHost } from '../../src/app/engine-host.js';
import { systemActor } from '../../src/auth/audit.repository.js';
import { createUser, issueToken } from '../../src/auth/users.repository.js';
import { SharedLiveSource } from '../../src/cluster/live-board.js';
import { leaseHolder, nodeLease } from '../../src/cluster/leases.repository.js';
import { PolicyResolver, savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { createDialQueue, dialQueueAddress, enqueueAttempt } from '../../src/dialer/queue.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { AriGateway, ariOptions } from '../../src/pbx/ari.js';
import { trunkObjectId } from '../../src/pbx/pjsip-config.js';
import { defaultReportSettings } from '../../src/reports/figures.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';
import { openSse } from '../helpers/sse.js';

const CARRIER = 7901;
const RINGING = 7902;
const SOFTPHONE = 7903;
const NODE3 = { ari: 'http://127.0.0.1:8288', ami: 5238, sip: '127.0.0.1:5260' };
const root = path.resolve(import.meta.dirname, '../..');

/** Node 3 of the stack (scripts/stack.sh node-up 3): the test starts it and stops it. */
function stack(...args: string[]): void {
  const r = spawnSync('bash', [path.join(root, 'scripts/stack.sh'), ...args], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`scripts/stack.sh ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

describe('two nodes, two engines, one API (nodes 1 and 3, PostgreSQL, Redis, sipp)', () => {
  const tag = randomUUID().slice(0, 8);
  const A = `la-${tag}`;
  const B = `lb-${tag}`;
  const base = testConfig();
  const log = createLogger(base.LOG_LEVEL, base.LOG_FILE);
  const hostCfg = (nodes: string) => testConfig({ ARI_APP: `dwl${tag}`, DIAL_QUEUE: `dial-l-${tag}`, ENGINE_NODES: nodes });
  let db: Db;
  let app: FastifyInstance;
  let live: SharedLiveSource;
  let fleet: PbxFleet;
  let token: string;
  let url: string;
  const ids: Record<string, string> = {};
  const hosts: EngineHost[] = [];
  const sipps: Sipp[] = [];
  const aris: AriGateway[] = [];

  const http = async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${url}${p}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
    });
    const text = await r.text();
    return { status: r.status, text, json: () => JSON.parse(text) as Record<string, unknown> };
  };
  const startHost = async (nodes: string) => {
    const h = new EngineHost(hostCfg(nodes), db, new PolicyResolver(db, 0), log, { tickMs: 200, refreshEveryMs: 500 });
    hosts.push(h);
    await h.start();
    return h;
  };
  const ari = (u: string) => {
    const g = AriGateway.requestsOnly(ariOptions({ ...base, ARI_URL: u }, log));
    aris.push(g);
    return g;
  };

  beforeAll(async () => {
    stack('node-up', '3');
    db = createDb(base.DATABASE_URL, 10);
    await db.updateTable('campaigns').set({ state: 'completed' }).where('state', '=', 'running').execute();
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 7910, pauseMs: 20_000 }));
    sipps.push(await Sipp.start({ scenario: 'customer-no-answer.xml', port: RINGING, mediaPort: 7930 }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: SOFTPHONE, mediaPort: 7950 }));
    const user = await createUser(db, { name: `limits-admin-${tag}`, role: 'admin', agentId: null });
    token = (await issueToken(db, user.id, 'cluster-limits')).token;
    const common = { ariUser: base.ARI_USER, ariPassword: base.ARI_PASSWORD, amiHost: '127.0.0.1', amiUser: base.AMI_USER, amiPassword: base.AMI_PASSWORD, celFile: null, enabled: true };
    ids[A] = (await createNode(db, systemActor('system'), { ...common, name: A, ariUrl: base.ARI_URL, amiPort: base.AMI_PORT, sipAddress: '127.0.0.1:5060' })).id;
    // Node B's ARI is first given as a port nobody listens on: it cannot be reached (fixed below).
    ids[B] = (await createNode(db, systemActor('system'), { ...common, name: B, ariUrl: 'http://127.0.0.1:7999', amiPort: NODE3.ami, sipAddress: NODE3.sip })).id;
    const settings = defaultReportSettings;
    const prefix = (await dialQueueAddress(db, base.DIAL_QUEUE)).prefix;
    // The API process: no engine, no dialer; every node through the fleet and the shared live board.
    live = new SharedLiveSource(base.REDIS_URL, prefix, db, settings, log);
    await live.start();
    fleet = new PbxFleet(db, base, log);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent'), live, pbx: fleet });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }, 60_000);

  afterAll(async () => {
    for (const h of hosts) await h.close().catch(() => undefined);
    await app?.close();
    live?.close();
    fleet?.close();
    for (const g of aris) g.close();
    // The nodes leave service: other test files' engines (not pinned) must not drive them.
    await db?.updateTable('nodes').set({ enabled: false }).where('name', 'in', [A, B]).execute();
    await db?.updateTable('campaigns').set({ state: 'completed' }).where('state', '=', 'running').execute();
    for (const s of sipps) await s.stop();
    await db?.destroy();
    stack('node-down', '3');
  }, 120_000);

  let trunkId = '';
  let agentIds: string[] = [];

  it('pushes a trunk to every node; an unreachable node is marked pending and its engine pushes the change at its start', async () => {
    const created = await http('POST', '/api/v1/trunks', { name: `lim-${tag}`, host: '127.0.0.1', port: CARRIER, maxChannels: 3, maxCps: 2 });
    expect(created.status, created.text).toBe(201);
    trunkId = created.json().id as string;
    const pbx = (created.json().pbx as { node: string; status: string }[]).filter((p) => p.node === A || p.node === B);
    expect(pbx).toEqual([{ node: A, status: 'applied' }, expect.objectContaining({ node: B, status: 'pending' })]);
    expect((await ari(base.ARI_URL).getConfigObject('res_pjsip', 'aor', trunkObjectId(`lim-${tag}`)))?.contact).toBe(`sip:127.0.0.1:${CARRIER}`);
    const nodeB = await http('GET', `/api/v1/nodes/${ids[B]}`);
    expect(nodeB.json().configPending).toMatchObject({ reason: expect.stringContaining('ECONNREFUSED') });

    // Node B's real address: its engine, starting, pushes what it missed and clears the mark.
    expect((await http('PATCH', `/api/v1/nodes/${ids[B]}`, { ariUrl: NODE3.ari })).status).toBe(200);
    await startHost(A);
    await startHost(B);
    await until(async () => (await leaseHolder(db, nodeLease(A))) !== null && (await leaseHolder(db, nodeLease(B))) !== null, 20_000, 'an engine on each node');
    await until(async () => (await http('GET', `/api/v1/nodes/${ids[B]}`)).json().configPending === null, 20_000, 'node B\'s pending change to be pushed');
    expect((await ari(NODE3.ari).getConfigObject('res_pjsip', 'aor', trunkObjectId(`lim-${tag}`)))?.contact).toBe(`sip:127.0.0.1:${CARRIER}`);

    // Agents go to every node too (agents have no node yet): created over the API, on both at once.
    agentIds = [];
    for (const n of [1, 2]) {
      const a = await http('POST', '/api/v1/agents', { name: `Lim ${n}`, endpoint: `lim${n}-${tag}`, contactUri: `sip:127.0.0.1:${SOFTPHONE}` });
      expect(a.status, a.text).toBe(201);
      expect((a.json().pbx as { node: string; status: string }[]).filter((p) => p.node === A || p.node === B).map((p) => p.status)).toEqual(['applied', 'applied']);
      agentIds.push(a.json().id as string);
    }
    for (const u of [base.ARI_URL, NODE3.ari]) expect(await ari(u).getConfigObject('res_pjsip', 'endpoint', `lim2-${tag}`)).not.toBeNull();
  }, 90_000);

  it('an API process with no engine shows both nodes\' agents in /live, its stream and /metrics', async () => {
    const [hostA, hostB] = hosts;
    const agents = await db.selectFrom('agents').where('id', 'in', agentIds).select(['id', 'name', 'endpoint']).orderBy('name').execute();
    await hostA!.engine!.dialer.agents.login(agents[0]!);
    await hostB!.engine!.dialer.agents.login(agents[1]!);
    await until(async () => ((await http('GET', '/api/v1/live')).json().agents as { list: unknown[] }).list.length >= 2, 10_000, 'both agents in /live');
    const view = (await http('GET', '/api/v1/live')).json() as { dialer: boolean; agents: { list: { agentId: string; node: string; state: string }[] }; nodes: { node: string; engine: string | null; agents: Record<string, number> }[] };
    expect(view.dialer).toBe(true);
    expect(view.agents.list.filter((a) => agentIds.includes(a.agentId)).map((a) => [a.agentId, a.node, a.state]).sort()).toEqual(
      [[agentIds[0], A, 'ready'], [agentIds[1], B, 'ready']].sort(),
    );
    expect(view.nodes.filter((n) => n.node === A || n.node === B).every((n) => n.engine !== null && n.agents.ready === 1)).toBe(true);

    // A change on node B's engine reaches the engine-less API's stream within a second.
    const sse = await openSse(`${url}/api/v1/live/stream`, { authorization: `Bearer ${token}` });
    try {
      await sse.next((e) => e.event === 'snapshot', 5000, 'the snapshot');
      const t0 = Date.now();
      hostB!.engine!.dialer.agents.pause(agentIds[1]!, 'coffee');
      const e = await sse.next((x) => x.event === 'agent' && (x.data as { agentId: string; state: string }).agentId === agentIds[1] && (x.data as { state: string }).state === 'paused', 5000, 'the pause on node B');
      expect((e.data as { node: string }).node).toBe(B);
      expect(e.at - t0).toBeLessThan(1000);
    } finally {
      sse.close();
    }
    // The node's snapshot (what /metrics reads) follows its changes within 100 ms.
    let metrics = '';
    await until(async () => (metrics = await (await fetch(`${url}/metrics`)).text()).includes(`dialwell_agents{node="${B}",state="paused"} 1`), 2000, 'the pause in /metrics');
    for (const n of [A, B]) {
      expect(metrics).toMatch(new RegExp(`dialwell_node_owner\\{node="${n}",engine="[^"]+"\\} 1`));
      expect(metrics).toMatch(new RegExp(`dialwell_node_lease_epoch\\{node="${n}"\\} \\d+`));
      expect(metrics).toContain(`dialwell_node_drain{node="${n}",state="in-service"} 1`);
    }
    expect(metrics).toContain(`dialwell_agents{node="${A}",state="ready"} 1`);
    expect(metrics).toContain(`dialwell_agents{node="${B}",state="paused"} 1`);
    await hostA!.engine!.dialer.agents.logout(agentIds[0]!);
    await hostB!.engine!.dialer.agents.logout(agentIds[1]!);
  }, 60_000);

  /**
   * A running progressive campaign with no agents (the pacer places nothing) whose attempts are
   * handed here to the nodes' own dial queues, alternately (as a pacer splitting them would).
   */
  async function campaignOn(trunk: { id: string; maxCps: number; maxChannels: number }, n: number) {
    const policyName = `open-lim-${randomUUID().slice(0, 8)}`;
    await savePolicy(db, openAllHours(policyName), 'test');
    const callerId = await createCallerId(db, randomCallerNumber());
    // The campaign's own limits at the trunk's (a campaign may not ask for more than its trunk gives).
    const camp = await createCampaign(db, {
      name: `lim ${policyName}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, dialMode: 'progressive', recordCalls: false, state: 'running',
      maxCps: trunk.maxCps, maxConcurrent: trunk.maxChannels,
    });
    const redis = new Redis(base.REDIS_URL, { maxRetriesPerRequest: null });
    const queues = [A, B].map(async (node) => createDialQueue(await dialQueueAddress(db, `dial-l-${tag}`, node), redis));
    const [qA, qB] = await Promise.all(queues);
    for (let i = 0; i < n; i++) {
      const phone = `+1305558${String(1000 + Math.floor(Math.random() * 8999))}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      const a = (await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id;
      const node = i % 2 === 0 ? A : B;
      await db.updateTable('attempts').set({ enqueued_at: new Date(), node_id: ids[node]! }).where('id', '=', a).execute();
      await enqueueAttempt(node === A ? qA! : qB!, a);
    }
    const queue = { close: async () => { await Promise.all([qA!.close(), qB!.close()]); redis.disconnect(); } };
    return { camp, queue };
  }

  it('holds one trunk\'s limits (2 calls per second, 3 concurrent calls) across both engines', async () => {
    const N = 12;
    const { camp, queue } = await campaignOn({ id: trunkId, maxCps: 2, maxChannels: 3 }, N);
    const seen = new Set<string>();
    const poll = setInterval(() => {
      void http('GET', '/api/v1/live').then((r) => {
        for (const n of (r.json().nodes as { node: string; callsInProgress: number }[]) ?? []) if (n.callsInProgress > 0) seen.add(n.node);
      }).catch(() => undefined);
    }, 300);
    try {
      const calls = () => db.selectFrom('calls').where('campaign_id', '=', camp.id).select(['created_at', 'ended_at', 'node_id']).orderBy('created_at').execute();
      await until(async () => {
        const c = await calls();
        return c.length === N && c.every((x) => x.ended_at);
      }, 120_000, 'every attempt to be dialed and its call to end');
      const rows = await calls();
      // Both engines dialed.
      expect(new Set(rows.map((r) => r.node_id))).toEqual(new Set([ids[A], ids[B]]));
      // Concurrent: at each call's start, the calls up (started before, not yet ended).
      const up = rows.map((r) => rows.filter((o) => o.created_at <= r.created_at && o.ended_at! > r.created_at).length);
      const perSecond = rows.map((r) => rows.filter((o) => o.created_at >= r.created_at && o.created_at.getTime() - r.created_at.getTime() < 900).length);
      process.stdout.write(`cluster-limits: ${N} calls over both nodes in ${rows.at(-1)!.created_at.getTime() - rows[0]!.created_at.getTime()} ms; most up at once ${Math.max(...up)}, most placed within 900 ms ${Math.max(...perSecond)}\n`);
      expect(Math.max(...up)).toBeLessThanOrEqual(3);
      expect(Math.max(...up)).toBe(3);
      // Within 900 ms: the time between the limiter's grant and the row's insert varies by a few ms per call.
      expect(Math.max(...perSecond)).toBeLessThanOrEqual(2);
      expect([...seen].filter((n) => n === A || n === B).sort()).toEqual([A, B].sort());
    } finally {
      clearInterval(poll);
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
      await queue.close();
    }
  }, 180_000);

  it('drains node B: its calls end at the limit, its agent is logged out ("drain"), no engine takes it until undrained', async () => {
    const [hostA, hostB] = hosts;
    const agent = (await db.selectFrom('agents').where('id', '=', agentIds[1]!).select(['id', 'name', 'endpoint']).executeTakeFirstOrThrow());
    await hostB!.engine!.dialer.agents.login(agent);
    // Customers who let it ring: calls stay up on both nodes until ended.
    const ring = await http('POST', '/api/v1/trunks', { name: `ring-${tag}`, host: '127.0.0.1', port: RINGING, maxChannels: 20, maxCps: 20 });
    expect(ring.status, ring.text).toBe(201);
    const { camp, queue } = await campaignOn({ id: ring.json().id as string, maxCps: 20, maxChannels: 20 }, 6);
    try {
      const open = (node: string) => db.selectFrom('calls').where('campaign_id', '=', camp.id).where('node_id', '=', ids[node]!).where('ended_at', 'is', null).select('id').execute();
      await until(async () => (await open(A)).length > 0 && (await open(B)).length > 0, 30_000, 'calls ringing on both nodes');

      const asked = await http('POST', `/api/v1/nodes/${ids[B]}/drain`, { callLimitSeconds: 2 });
      expect(asked.status, asked.text).toBe(202);
      expect(asked.json().drainState).toBe('draining');
      const t0 = Date.now();
      await until(async () => (await http('GET', `/api/v1/nodes/${ids[B]}`)).json().drainState === 'drained', 40_000, 'node B to be drained');
      const drainMs = Date.now() - t0;
      const nodeB = (await http('GET', '/api/v1/nodes')).json().nodes as { name: string; drainState: string; owner: unknown }[];
      expect(nodeB.find((n) => n.name === B)).toMatchObject({ drainState: 'drained', owner: null });
      expect(await open(B)).toEqual([]);
      // Node A dials on: its calls still ring.
      expect((await open(A)).length).toBeGreaterThan(0);
      const logout = await db.selectFrom('agent_state_changes').where('agent_id', '=', agent.id).orderBy('at', 'desc').select(['state', 'reason']).executeTakeFirst();
      expect(logout).toMatchObject({ state: 'logged-out', reason: 'drain' });
      const audit = await db.selectFrom('audit_log').where('resource_id', '=', ids[B]!).where('action', '=', 'node.drain-requested').select('actor').executeTakeFirst();
      expect(audit).toBeDefined();
      expect(hostB!.engine).toBeUndefined();
      process.stdout.write(`cluster-limits: node B drained in ${drainMs} ms (call limit 2 s)\n`);

      // A standby for node B does not take it while drained; `dialwell undrain` puts it back in service.
      const standby = await startHost(B);
      await new Promise((r) => setTimeout(r, 3000));
      expect(await leaseHolder(db, nodeLease(B))).toBeNull();
      const { stdout } = await promisify(execFile)(process.execPath, [path.join(root, 'bin/dialwell.js'), 'undrain', B], { cwd: root, env: { ...process.env, DATABASE_URL: base.DATABASE_URL } });
      expect(stdout).toContain('in service');
      // Back in service: an engine pinned to it takes it (the standby, or the engine that drained it: both ask again).
      await until(async () => [standby.keeper.owner, hostB!.keeper.owner].includes((await leaseHolder(db, nodeLease(B)))?.owner ?? ''), 20_000, 'an engine to take node B after the undrain');
      expect(hostA!.engine).toBeDefined();
    } finally {
      await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', camp.id).execute();
      await queue.close();
    }
  }, 180_000);
});
