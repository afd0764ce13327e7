// bench:call-writes: the dialer's call-row writer (CallWriter, src/cdr/cdr.repository.ts) alone,
// at fixed call rates, with and without its gather window for joins and ends. Each call is written
// as the dialer writes it: the row before the originate (awaited), the join to an agent half a
// second later, the end a second after that (both ±50%). What it prints does not depend on how
// busy the machine is: statements (round trips) per call, the PostgreSQL backend's CPU per call
// (one connection: its /proc/<pid>/schedstat before and after), and the new row's latency (the
// originate waits on it; the window must not delay it).
//
//   BENCH_DB=dialwell_bench_perf npx tsx bench/call-writes.ts
//
// BENCH_RATES (calls/s, default 10,30,60,120), BENCH_SECONDS per run (default 6), BENCH_GATHER
// (the windows compared, ms, default 0,15); each rate runs the windows in the order a, b, b, a.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pg from 'pg';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../src/admin/provision.js';
import { CallWriter, type CallEnd } from '../src/cdr/cdr.repository.js';
import { loadConfig } from '../src/config.js';
import { createDb, recreateDatabase, type Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

const numbers = (v: string | undefined, dflt: string, what: string): number[] => {
  const out = (v ?? dflt).split(',').map(Number);
  if (out.some((n) => !(Number.isFinite(n) && n >= 0))) throw new Error(`${what} must be comma-separated numbers`);
  return out;
};
const RATES = numbers(process.env.BENCH_RATES, '10,30,60,120', 'BENCH_RATES');
const GATHER = numbers(process.env.BENCH_GATHER, '0,15', 'BENCH_GATHER');
const SECONDS = Number(process.env.BENCH_SECONDS ?? '6');
if (!(SECONDS > 0)) throw new Error('BENCH_SECONDS must be a positive number');
const DB_NAME = process.env.BENCH_DB ?? 'dialwell_bench_call_writes';
if (!/^[a-z_][a-z0-9_]*$/.test(DB_NAME)) throw new Error('BENCH_DB must be a plain lower-case database name');
const JOIN_AFTER_MS = 500;
const END_AFTER_MS = 1000;

const cfg = loadConfig();
const dbUrl = (() => {
  const u = new URL(cfg.DATABASE_URL);
  u.pathname = `/${DB_NAME}`;
  return u.toString();
})();

// Statements sent while counting is on, by prepared name (else first word).
const counting = { on: false, counts: new Map<string, number>() };
{
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const orig = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    if (counting.on) {
      const q = args[0];
      const key = typeof q === 'object' && q !== null && 'name' in q && typeof q.name === 'string' ? q.name : String((q as { text?: string }).text ?? q).trim().split(/\s+/)[0]!;
      counting.counts.set(key, (counting.counts.get(key) ?? 0) + 1);
    }
    return orig.apply(this, args);
  };
}

const backendNs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (ms: number) => ms * (0.5 + Math.random());
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : NaN;
};

interface Row { rate: number; gatherMs: number; calls: number; statements: number; pgMsPerCall: number; processMsPerCall: number; insertP50: number; insertP99: number; endP50: number }

async function main(): Promise<void> {
  await recreateDatabase(dbUrl);
  // One connection: the writer sends one statement at a time, and its backend's CPU is all of it.
  const db: Db = createDb(dbUrl, 1);
  try {
    await migrateToLatest(db);
    const tag = randomUUID().slice(0, 8);
    const trunk = await createTrunk(db, { name: `cw-${tag}`, host: '127.0.0.1', port: 5999 });
    const cid = await createCallerId(db, '+13055550101', 'bench line');
    const campaign = await createCampaign(db, { name: `call writes ${tag}`, trunkId: trunk.id, callerIdId: cid.id });
    await addContact(db, { campaignId: campaign.id, phone: '+13055550000', name: 'Bench 0' });
    const agent = await createAgent(db, { name: 'Bench agent', endpoint: `cw-agent-${tag}`, contactUri: 'sip:127.0.0.1:5999' });
    const perRun = (rate: number) => Math.ceil(rate * SECONDS);
    const total = RATES.reduce((a, r) => a + perRun(r) * GATHER.length * 2, 0);
    // Contacts and attempts in bulk (the same columns the dialer's attempts have).
    const attempts: { id: string; contactId: string; phone: string }[] = [];
    for (let from = 0; from < total; from += 1000) {
      const phones = Array.from({ length: Math.min(1000, total - from) }, (_, k) => `+1212${String(2000000 + from + k).padStart(7, '0')}`);
      const contacts = await db.insertInto('contacts').values(phones.map((phone) => ({ campaign_id: campaign.id, phone, name: `Bench ${phone}` }))).returning(['id', 'phone']).execute();
      const rows = await db.insertInto('attempts')
        .values(contacts.map((c) => ({ campaign_id: campaign.id, contact_id: c.id, phone: c.phone, idempotency_key: randomUUID(), state: 'dialing' as const })))
        .returning(['id', 'contact_id', 'phone']).execute();
      attempts.push(...rows.map((r) => ({ id: r.id, contactId: r.contact_id, phone: r.phone })));
    }
    const rows: Row[] = [];
    let next = 0;
    for (const rate of RATES) {
      for (const gatherMs of [...GATHER, ...[...GATHER].reverse()]) {
        const writer = new CallWriter(db, null, { gatherMs });
        const backend = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db)).rows[0]!.pid;
        const n = perRun(rate);
        const mine = attempts.slice(next, next + n);
        next += n;
        const insertMs: number[] = [];
        const endMs: number[] = [];
        counting.counts.clear();
        counting.on = true;
        const ns0 = backendNs(backend);
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const calls = mine.map(async (a, k) => {
          await sleep(Math.max(0, t0 + (k * 1000) / rate - performance.now()));
          const s = performance.now();
          const callId = await writer.insert({ attemptId: a.id, campaignId: campaign.id, contactId: a.contactId, phone: a.phone, callerId: cid.number, trunkId: trunk.id, channelId: randomUUID() });
          insertMs.push(performance.now() - s);
          await sleep(jitter(JOIN_AFTER_MS));
          const answeredAt = new Date();
          void writer.bridged({ callId, answeredAt, agentId: agent.id, bridgeId: `b-${k}`, bridgedAt: answeredAt });
          await sleep(jitter(END_AFTER_MS));
          const e = performance.now();
          const end: CallEnd = {
            callId, attemptId: a.id, endedAt: new Date(), ringingAt: null, hangupCause: 16, hangupCauseText: 'Normal Clearing', outcome: 'answered',
            attemptState: 'completed', ringMs: 100, talkMs: 1000, holdMs: 0, endedBy: 'customer', recordingStatus: null,
          };
          if (!(await writer.close(end))) throw new Error(`call ${callId} was not closed`);
          endMs.push(performance.now() - e);
        });
        await Promise.all(calls);
        const cpu = process.cpuUsage(cpu0);
        const ns = backendNs(backend) - ns0;
        counting.on = false;
        const statements = counting.counts.get('dialwell_call_writes') ?? 0;
        rows.push({
          rate, gatherMs, calls: n, statements, pgMsPerCall: ns / 1e6 / n, processMsPerCall: (cpu.user + cpu.system) / 1000 / n,
          insertP50: pct(insertMs, 0.5), insertP99: pct(insertMs, 0.99), endP50: pct(endMs, 0.5),
        });
        console.error(`bench:call-writes: ${rate}/s, window ${gatherMs} ms: ${statements} statements for ${n} calls`);
      }
    }
    console.log(`## bench:call-writes — ${new Date().toISOString()}\n`);
    console.log(`Command: \`${[process.env.BENCH_DB ? `BENCH_DB=${DB_NAME}` : '', process.env.BENCH_RATES ? `BENCH_RATES=${process.env.BENCH_RATES}` : '', process.env.BENCH_SECONDS ? `BENCH_SECONDS=${SECONDS}` : '', process.env.BENCH_GATHER ? `BENCH_GATHER=${process.env.BENCH_GATHER}` : ''].filter(Boolean).join(' ')} npx tsx bench/call-writes.ts\`\n`);
    console.log(`Each call: its row (awaited, as the originate awaits it), its join ~${JOIN_AFTER_MS} ms later, its end ~${END_AFTER_MS} ms after that (±50%); one PostgreSQL connection. Each rate runs the windows in the order ${[...GATHER, ...[...GATHER].reverse()].join(', ')} ms.\n`);
    console.log('| calls/s | gather window ms | calls | statements per call | PostgreSQL CPU ms per call | this process CPU ms per call (driver included) | new row p50 / p99 ms | end p50 ms |');
    console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of rows) {
      console.log(`| ${r.rate} | ${r.gatherMs} | ${r.calls} | ${(r.statements / r.calls).toFixed(2)} | ${r.pgMsPerCall.toFixed(2)} | ${r.processMsPerCall.toFixed(2)} | ${r.insertP50.toFixed(1)} / ${r.insertP99.toFixed(1)} | ${r.endP50.toFixed(1)} |`);
    }
  } finally {
    await db.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
