// Takeover benchmark: two `dialwell serve` processes (owner and standby) drive one node; the
// owner is killed with SIGKILL, and the time until the standby holds the node's lease and until
// its engine drives the node (ARI connected, start-up reconciliation done) is measured; a new
// standby is started and the next kill follows. Prints median and worst over the kills.
// Then "takeover with calls up": agents on a sipp softphone take recorded calls from sipp
// customers (talking CALL_TALK_MS), the owner is killed while they are up, and each call up at a
// kill is counted kept (closed by the new owner's session: ended_by customer, not reconciled from
// Asterisk's record, recording stored) or lost.
// Run: npx tsx bench/takeover.ts [--kills=10] [--kills-with-calls=5] [--node=N] [--db=name]
// (needs the stack: PostgreSQL, Redis, Asterisk; --node=N: node N of `scripts/stack.sh node-up N`
// instead of the environment's ARI_URL/AMI_PORT; sipp on ports 7750-7763)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { createNode } from '../src/admin/nodes.service.js';
import { systemActor } from '../src/auth/audit.repository.js';
import { leaseHolder, nodeLease } from '../src/cluster/leases.repository.js';
import { loadConfig } from '../src/config.js';
import { createDb, recreateDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../src/admin/provision.js';
import { createAttempt } from '../src/dialer/attempts.repository.js';
import { createUser, issueToken } from '../src/auth/users.repository.js';
import { savePolicy } from '../src/compliance/store/policies.repository.js';
import { Sipp } from '../src/sim/sipp.js';

const arg = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const kills = Number(arg('kills') ?? 10);
const killsWithCalls = Number(arg('kills-with-calls') ?? 5);
const nodeNumber = arg('node') ? Number(arg('node')) : null;
const PORTS = [6760, 6761];
const CARRIER = 7750;
const SOFTPHONE = 7760;
const AGENTS = 3;
const CALL_TALK_MS = 12_000;
const root = path.resolve(import.meta.dirname, '..');
const base = loadConfig();
const cfg = nodeNumber === null || nodeNumber === 1 ? base : {
  ...base, ARI_URL: `http://127.0.0.1:${8088 + 100 * (nodeNumber - 1)}`, AMI_PORT: 5038 + 100 * (nodeNumber - 1),
  ASTERISK_CEL_FILE: `/var/cache/dialwell/asterisk22-chroot/var/log/asterisk-node${nodeNumber}/cel-custom/dialwell-cel.jsonl`,
};
const sipAddress = `127.0.0.1:${5060 + 100 * ((nodeNumber ?? 1) - 1)}`;
const url = new URL(cfg.DATABASE_URL);
// --db=<name>: a database of one's own (it is dropped and made again).
url.pathname = `/${arg('db') ?? 'dialwell_bench_takeover'}`;
await recreateDatabase(url.toString());
const db = createDb(url.toString(), 2);
await migrateToLatest(db);
const tag = randomUUID().slice(0, 8);
const nodeName = `bench-${tag}`;
await createNode(db, systemActor('cli'), {
  name: nodeName, ariUrl: cfg.ARI_URL, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: cfg.AMI_HOST, amiPort: cfg.AMI_PORT,
  amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress, celFile: cfg.ASTERISK_CEL_FILE || null, enabled: true,
});
const recordingsDir = mkdtempSync(path.join(tmpdir(), 'dialwell-bench-'));

interface Proc { child: ChildProcess; port: number; driving: number | null }
function serve(port: number): Proc {
  const child = spawn(process.execPath, [path.join(root, 'bin/dialwell.js'), 'serve'], {
    cwd: root,
    env: {
      ...process.env, DATABASE_URL: url.toString(), PORT: String(port), LOG_LEVEL: 'info', ARI_APP: `dwbench${tag}`, DIAL_QUEUE: `dial-bench-${tag}`,
      ENGINE_NODES: nodeName, NODE_NAME: nodeName, RECORDINGS_DIR: recordingsDir, ARI_URL: cfg.ARI_URL, AMI_PORT: String(cfg.AMI_PORT),
      DIAL_JOB_LOCK_MS: '2000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const p: Proc = { child, port, driving: null };
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line.includes('"driving the node"')) p.driving = Date.now();
  });
  return p;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(f: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (await f()) return;
  throw new Error(`timed out waiting for ${what}`);
}
const healthy = async (port: number) => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true;
const holderPid = async () => Number((await leaseHolder(db, nodeLease(nodeName)))?.owner.split(':')[1] ?? 0);

/** The campaign, trunk and agents of the "with calls up" kills: made before the engines start, which push trunks and agents to Asterisk. */
async function callSetup(): Promise<{ campaignId: string; agents: string[] }> {
  await savePolicy(db, {
    name: `bench-open-${tag}`, version: 1, description: 'bench: every hour of every day',
    windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }],
  }, 'bench');
  const trunk = await createTrunk(db, { name: `bench-${tag}`, host: '127.0.0.1', port: CARRIER });
  const callerId = await createCallerId(db, `+1786${String(2000000 + Math.floor(Math.random() * 7_000_000))}`);
  const camp = await createCampaign(db, { name: `bench takeover ${tag}`, trunkId: trunk.id, callerIdId: callerId.id, policyName: `bench-open-${tag}`, dialMode: 'progressive', recordCalls: true, state: 'draft' });
  const agents: string[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const a = await createAgent(db, { name: `bench agent ${i}`, endpoint: `bench-${tag}-${i}`, contactUri: `sip:127.0.0.1:${SOFTPHONE}` });
    await db.insertInto('campaign_agents').values({ campaign_id: camp.id, agent_id: a.id }).execute();
    agents.push(a.id);
  }
  for (let i = 0; i < AGENTS * (killsWithCalls + 2) * 2; i++) {
    const phone = `+1305556${String(i).padStart(4, '0')}`;
    const c = await addContact(db, { campaignId: camp.id, phone });
    await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() });
  }
  return { campaignId: camp.id, agents };
}

const setup = killsWithCalls > 0 ? await callSetup() : null;
const procs = PORTS.map(serve);
const leaseMs: number[] = [];
const drivingMs: number[] = [];
const withCalls = { leaseMs: [] as number[], drivingMs: [] as number[], kept: 0, lost: 0, lostCalls: [] as string[] };
const sipps: Sipp[] = [];

/** Kills the owner, waits for the standby to hold the lease and drive the node, starts a new standby. */
async function killOwner(into: { leaseMs: number[]; drivingMs: number[] }, label: string, last: boolean): Promise<void> {
  const pid = await holderPid();
  const owner = procs.find((p) => p.child.pid === pid)!;
  const standby = procs.find((p) => p !== owner)!;
  standby.driving = null;
  const t0 = Date.now();
  owner.child.kill('SIGKILL');
  await until(async () => (await holderPid()) === standby.child.pid, 15_000, 'the lease to move');
  into.leaseMs.push(Date.now() - t0);
  await until(() => standby.driving !== null, 15_000, 'the standby to drive the node');
  into.drivingMs.push(standby.driving! - t0);
  console.error(`${label}: lease after ${into.leaseMs.at(-1)} ms, driving after ${into.drivingMs.at(-1)} ms`);
  if (last) return;
  // A new standby where the owner was, for the next kill.
  const next = serve(owner.port);
  procs[procs.indexOf(owner)] = next;
  await until(() => healthy(owner.port), 60_000, 'the new standby').catch((err: unknown) => {
    throw new Error(`${(err as Error).message} (pid ${next.child.pid}, exit code ${next.child.exitCode}, signal ${next.child.signalCode})`);
  });
}

try {
  await until(async () => (await healthy(PORTS[0]!)) && (await healthy(PORTS[1]!)), 60_000, 'both processes');
  await until(async () => procs.some((p) => p.driving !== null), 30_000, 'an owner');
  for (let i = 0; i < kills; i++) await killOwner({ leaseMs, drivingMs }, `kill ${i + 1}`, i === kills - 1 && !setup);
  if (setup) await takeoversWithCalls(setup.campaignId, setup.agents);
} finally {
  for (const p of procs) p.child.kill('SIGTERM');
  for (const s of sipps) await s.stop();
  await db.destroy();
}

/** The "with calls up" kills: agents on calls at each kill; each call up then is kept or lost. */
async function takeoversWithCalls(campaignId: string, agents: string[]): Promise<void> {
  sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: CARRIER + 2, pauseMs: CALL_TALK_MS }));
  sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: SOFTPHONE, mediaPort: SOFTPHONE + 2 }));
  const user = await createUser(db, { name: `bench-${tag}`, role: 'admin', agentId: null });
  const token = (await issueToken(db, user.id, 'bench-takeover')).token;
  const api = (method: string, url: string, body?: unknown) => {
    const port = procs.find((p) => p.driving !== null)?.port ?? procs[0]!.port;
    return fetch(`http://127.0.0.1:${port}${url}`, {
      method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
    });
  };
  // Agents log in once (on the owner of the moment); after that, only takeovers keep them.
  for (const id of agents) {
    const r = await api('POST', `/api/v1/agents/${id}/login`);
    if (!r.ok) throw new Error(`agent login failed: ${r.status} ${await r.text()}`);
  }
  const calls = () => db.selectFrom('calls').where('campaign_id', '=', campaignId)
    .select(['id', 'attempt_id', 'agent_id', 'bridged_at', 'ended_at', 'ended_by', 'reconciled_from', 'recording_status']).execute();
  // The agents give a disposition for each call they took (wrap-up ends: ready for the next).
  const disposed = new Set<string>();
  const wrapUp = setInterval(() => {
    void (async () => {
      for (const c of await calls()) {
        if (!c.ended_at || !c.agent_id || disposed.has(c.attempt_id)) continue;
        if ((await api('POST', `/api/v1/attempts/${c.attempt_id}/disposition`, { result: 'no-sale' }).catch(() => null))?.ok) disposed.add(c.attempt_id);
      }
    })().catch(() => undefined);
  }, 500);
  await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', campaignId).execute();
  try {
    for (let i = 0; i < killsWithCalls; i++) {
      await until(async () => (await calls()).filter((c) => c.bridged_at && !c.ended_at).length === AGENTS, 90_000, 'every agent on a call');
      // A moment into the calls (recordings running), then the kill.
      await sleep(1000);
      const up = (await calls()).filter((c) => c.bridged_at && !c.ended_at).map((c) => c.id);
      await killOwner(withCalls, `kill ${i + 1} with ${up.length} calls up`, i === killsWithCalls - 1);
      await until(async () => (await calls()).filter((c) => up.includes(c.id)).every((c) => c.ended_at && c.recording_status !== 'pending'), CALL_TALK_MS + 60_000, 'the calls up at the kill to end');
      for (const c of (await calls()).filter((x) => up.includes(x.id))) {
        const kept = c.reconciled_from === null && c.ended_by === 'customer' && c.recording_status === 'stored';
        if (kept) withCalls.kept++;
        else {
          withCalls.lost++;
          withCalls.lostCalls.push(`${c.id} (ended_by ${c.ended_by}, reconciled_from ${c.reconciled_from}, recording ${c.recording_status})`);
        }
      }
    }
    const all = await calls();
    if (new Set(all.map((c) => c.attempt_id)).size !== all.length) throw new Error('an attempt was dialed twice');
  } finally {
    clearInterval(wrapUp);
    await db.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', campaignId).execute();
  }
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor((s.length - 1) / 2)]} ms, worst ${s.at(-1)} ms`;
};
console.log(`Takeover after kill -9 over ${kills} kills (LEASE_TTL_MS ${cfg.LEASE_TTL_MS}, LEASE_BEAT_MS ${cfg.LEASE_BEAT_MS}):`);
console.log(`  standby holds the node's lease: ${stats(leaseMs)}`);
console.log(`  standby drives the node (ARI up, start-up reconciliation done): ${stats(drivingMs)}`);
if (withCalls.leaseMs.length) {
  console.log(`Takeover with calls up over ${withCalls.leaseMs.length} kills (${AGENTS} agents on recorded calls at each kill, customers talking ${CALL_TALK_MS / 1000} s):`);
  console.log(`  standby holds the node's lease: ${stats(withCalls.leaseMs)}`);
  console.log(`  standby drives the node (sessions rebuilt): ${stats(withCalls.drivingMs)}`);
  console.log(`  calls kept ${withCalls.kept} / lost ${withCalls.lost}${withCalls.lostCalls.length ? `: ${withCalls.lostCalls.join('; ')}` : ''}`);
}
