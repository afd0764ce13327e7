// Takeover benchmark: two `dialwell serve` processes (owner and standby) drive one node; the
// owner is killed with SIGKILL, and the time until the standby holds the node's lease and until
// its engine drives the node (ARI connected, start-up reconciliation done) is measured; a new
// standby is started and the next kill follows. Prints median and worst over the kills.
// Run: npx tsx bench/takeover.ts [--kills=10]   (needs the stack: PostgreSQL, Redis, Asterisk)
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

const kills = Number(process.argv.find((a) => a.startsWith('--kills='))?.slice(8) ?? 10);
const PORTS = [6760, 6761];
const root = path.resolve(import.meta.dirname, '..');
const cfg = loadConfig();
const url = new URL(cfg.DATABASE_URL);
url.pathname = '/dialwell_bench_takeover';
await recreateDatabase(url.toString());
const db = createDb(url.toString(), 2);
await migrateToLatest(db);
const tag = randomUUID().slice(0, 8);
const nodeName = `bench-${tag}`;
await createNode(db, systemActor('cli'), {
  name: nodeName, ariUrl: cfg.ARI_URL, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: cfg.AMI_HOST, amiPort: cfg.AMI_PORT,
  amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: '127.0.0.1:5060', celFile: cfg.ASTERISK_CEL_FILE || null, enabled: true,
});

interface Proc { child: ChildProcess; port: number; driving: number | null }
function serve(port: number): Proc {
  const child = spawn(process.execPath, [path.join(root, 'bin/dialwell.js'), 'serve'], {
    cwd: root,
    env: {
      ...process.env, DATABASE_URL: url.toString(), PORT: String(port), LOG_LEVEL: 'info', ARI_APP: `dwbench${tag}`, DIAL_QUEUE: `dial-bench-${tag}`,
      ENGINE_NODES: nodeName, NODE_NAME: nodeName, RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), 'dialwell-bench-')),
    },
    stdio: ['ignore', 'pipe', 'ignore'],
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

const procs = PORTS.map(serve);
const leaseMs: number[] = [];
const drivingMs: number[] = [];
try {
  await until(async () => (await healthy(PORTS[0]!)) && (await healthy(PORTS[1]!)), 60_000, 'both processes');
  await until(async () => procs.some((p) => p.driving !== null), 30_000, 'an owner');
  for (let i = 0; i < kills; i++) {
    const pid = await holderPid();
    const owner = procs.find((p) => p.child.pid === pid)!;
    const standby = procs.find((p) => p !== owner)!;
    standby.driving = null;
    const t0 = Date.now();
    owner.child.kill('SIGKILL');
    await until(async () => (await holderPid()) === standby.child.pid, 15_000, 'the lease to move');
    leaseMs.push(Date.now() - t0);
    await until(() => standby.driving !== null, 15_000, 'the standby to drive the node');
    drivingMs.push(standby.driving! - t0);
    console.error(`kill ${i + 1}: lease after ${leaseMs.at(-1)} ms, driving after ${drivingMs.at(-1)} ms`);
    // A new standby where the owner was.
    procs[procs.indexOf(owner)] = serve(owner.port);
    await until(() => healthy(owner.port), 60_000, 'the new standby');
  }
} finally {
  for (const p of procs) p.child.kill('SIGTERM');
  await db.destroy();
}
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${s[Math.floor((s.length - 1) / 2)]} ms, worst ${s.at(-1)} ms`;
};
console.log(`Takeover after kill -9 over ${kills} kills (LEASE_TTL_MS ${cfg.LEASE_TTL_MS}, LEASE_BEAT_MS ${cfg.LEASE_BEAT_MS}):`);
console.log(`  standby holds the node's lease: ${stats(leaseMs)}`);
console.log(`  standby drives the node (ARI up, start-up reconciliation done): ${stats(drivingMs)}`);
