// `npm run faults`: the fault suite. A real `dialwell serve` runs a progressive campaign with
// recording on against sipp customers and sipp softphone agents, on a PostgreSQL, a Redis, an AMI
// relay, a recordings filesystem and an Asterisk node of the suite's own; while calls are up it
// injects one fault per row, then checks the invariants from PostgreSQL, Asterisk's CEL record and
// the recordings store, and prints one markdown table row per fault. Exits 1 when any fails.
//   npm run faults                      the full suite (AMI away 60 s, a 30-minute soak)
//   npm run faults -- --short           the CI version (FAULTS_SHORT=1 too): about 6 minutes
//   npm run faults -- --soak-minutes 10 --only pg,redis,soak
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'kysely';
import { createDb, poolOf, type Db } from '../src/db/database.js';
import { Sipp } from '../src/sim/sipp.js';
import { callsBetween, checkRow, dialingResumed, extraSoftphones, openCalls, type CheckContext, type RowChecks } from './faults/invariants.js';
import { DialwellServer, type ProbeSample } from './faults/server.js';
import { AmiRelay, assertPortFree, PrivatePostgres, PrivateRedis, RecordingsFs, startAsteriskNode, type AsteriskNode } from './faults/services.js';
import { addContacts, AgentDesk, Api, setUpSite, type Site } from './faults/site.js';

const { values: opts } = parseArgs({
  options: {
    short: { type: 'boolean', default: process.env.FAULTS_SHORT === '1' },
    'soak-minutes': { type: 'string' },
    only: { type: 'string' },
    agents: { type: 'string', default: '4' },
    'talk-ms': { type: 'string', default: '4000' },
    keep: { type: 'boolean', default: false },
    node: { type: 'string', default: '4' },
    /** A second suite at once (e.g. against another branch): its own ports; give it its own --node too. */
    instance: { type: 'string', default: '1' },
  },
});
const short = opts.short;
const soakMinutes = Number(opts['soak-minutes'] ?? (short ? 2 : 30));
const agentCount = Number(opts.agents);
const talkMs = Number(opts['talk-ms']);
const only = opts.only ? new Set(opts.only.split(',')) : null;
if (!Number.isFinite(soakMinutes) || soakMinutes < 1) throw new Error('--soak-minutes must be at least 1');

// Ports: sipp 6500-6599 and media 14000-14999 are the suite's; its services sit beside them.
const k = Number(opts.instance) - 1;
if (!Number.isInteger(k) || k < 0 || k > 3) throw new Error('--instance must be 1 to 4');
const PORTS = { carrier: 6550 + 10 * k, agentBase: 6500 + 10 * k, pg: 5440 + k, redis: 6390 + k, amiRelay: 6590 + 2 * k, http: 6591 + 2 * k, media: 14000 + 500 * k };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => new Date();
const secs = (a: Date, b: Date) => ((b.getTime() - a.getTime()) / 1000).toFixed(1);

interface Row {
  n: string;
  fault: string;
  server: { ok: boolean; detail: string };
  checks: RowChecks | null;
  resumed: number | null;
  resumedOk: boolean;
  notes: string[];
}

/** What the suite started, stopped in reverse order at the end or on Ctrl-C (a frozen Asterisk is thawed by node-down). */
const cleanups: (() => Promise<unknown>)[] = [];
let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => console.error(`cleanup: ${(err as Error).message}`));
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping what the suite started`);
    void cleanUp().then(() => process.exit(130));
  });
}

interface Fault {
  key: string;
  title: string;
  /** Injects the fault (and undoes it); returns notes for the table. */
  inject(): Promise<string[]>;
  /** Longest acceptable wait for the first dial after the fault ends. */
  resumeWithinS: number;
}

async function main(): Promise<number> {
  const tag = randomUUID().slice(0, 6);
  const runDir = `/tmp/dialwell-faults-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  mkdirSync(runDir, { recursive: true, mode: 0o755 });
  console.log(`fault suite (${short ? 'short' : 'full'}), run directory ${runDir}`);
  for (const [what, port] of Object.entries(PORTS)) if (what !== 'media') await assertPortFree(port, what);

  const rows: Row[] = [];
  try {
    // --- private services
    const pg = new PrivatePostgres(path.join(runDir, 'pg'), PORTS.pg);
    await pg.init();
    await pg.start();
    cleanups.push(() => pg.stop());
    const redis = new PrivateRedis(path.join(runDir, 'redis'), PORTS.redis);
    await redis.start();
    cleanups.push(() => redis.stop());
    const store = new RecordingsFs(path.join(runDir, 'recordings'), short ? 32 : 256);
    await store.mount();
    cleanups.push(() => store.unmount());
    const node: AsteriskNode = await startAsteriskNode(Number(opts.node));
    cleanups.push(() => node.down());
    console.log(`  private Asterisk node ${node.n}: ARI ${node.ariUrl}, AMI ${node.amiPort} (relayed on ${PORTS.amiRelay}), SIP ${node.sipPort}`);
    const ami = new AmiRelay(PORTS.amiRelay, node.amiPort);
    await ami.open();
    cleanups.push(() => ami.refuse());
    const celFile = node.celFile;

    // --- the server under test
    const server = new DialwellServer({
      DATABASE_URL: pg.url, REDIS_URL: redis.url, ARI_URL: node.ariUrl, ARI_APP: `dialwell-faults-${tag}`,
      AMI_PORT: String(PORTS.amiRelay), ASTERISK_CEL_FILE: celFile, RECORDINGS_DIR: store.dir, PORT: String(PORTS.http),
      DIAL_QUEUE: `dialwell-faults-${tag}`, CDR_RECONCILE_EVERY_MS: '5000', CDR_RECONCILE_GRACE_MS: '10000', CDR_RECONCILE_SETTLE_MS: '3000',
      LOG_LEVEL: 'info', FAULTS_PROBE_EVERY_MS: short ? '2000' : '10000',
    }, runDir, PORTS.http);
    await server.cli('migrate');
    const token = (await server.cli('token', 'create', '--role', 'admin', '--name', `faults-${tag}`)).trim().split('\n').at(-1)!;
    await server.start(token);
    cleanups.push(() => server.kill());
    const api = new Api(`http://127.0.0.1:${PORTS.http}`, token);

    // --- sipp: one carrier answering every customer, one softphone per agent
    const sipps: Sipp[] = [];
    cleanups.push(async () => {
      for (const s of sipps) await s.stop();
    });
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: PORTS.carrier, mediaPort: PORTS.media, pauseMs: talkMs }));
    const agentPorts = Array.from({ length: agentCount }, (_, i) => PORTS.agentBase + 1 + i);
    for (const [i, port] of agentPorts.entries()) sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port, mediaPort: PORTS.media + 100 + i * 20 }));

    // The suite's own reads (never writes) of the record; it outlives a database restart.
    let db: Db = createDb(pg.url, 4);
    poolOf(db).on('error', () => undefined);
    cleanups.push(() => db.destroy());

    const site: Site = await setUpSite(api, { tag, carrierPort: PORTS.carrier, agentPorts, contacts: 200 });
    const toClose = async (agentId: string) =>
      (await db.selectFrom('calls as c').innerJoin('attempts as a', 'a.id', 'c.attempt_id').where('c.agent_id', '=', agentId)
        .where('c.ended_at', 'is not', null).where('a.disposed_at', 'is', null).orderBy('c.created_at', 'desc').select('c.attempt_id').executeTakeFirst())?.attempt_id ?? null;
    const desk = new AgentDesk(api, site.agentIds, toClose);
    desk.start();
    cleanups.push(async () => desk.stop());

    const ctx: CheckContext = {
      db, site, celFile, trunkChannelPrefix: `PJSIP/trunk-faults-${tag}`, store,
      spoolDir: node.spoolDir,
      ari: { url: node.ariUrl, user: 'dialwell', password: 'dialwell-local-ari' },
      agentEndpoints: agentPorts.map((_, i) => `faults-${tag}-a${i + 1}`),
    };

    const campaign = async (action: 'start' | 'pause') => {
      for (let i = 0; i < 60; i++) {
        try {
          await api.call('POST', `/campaigns/${site.campaignId}/${action}`);
          return;
        } catch (err) {
          if (/HTTP 409/.test((err as Error).message)) return; // already in that state
          await sleep(1000);
        }
      }
      throw new Error(`could not ${action} the campaign for a minute`);
    };
    const liveCalls = async () => Number((await db.selectFrom('calls').where('campaign_id', '=', site.campaignId).where('answered_at', 'is not', null)
      .where('ended_at', 'is', null).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const remaining = async () => Number((await db.selectFrom('attempts').where('campaign_id', '=', site.campaignId).where('state', '=', 'queued')
      .select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow()).n);
    const ensureServer = async (notes: string[]) => {
      if (server.alive()) return;
      notes.push('server restarted by the suite');
      await server.start(token);
    };

    async function runRow(n: string, f: Fault): Promise<void> {
      const notes: string[] = [];
      console.log(`\n[${n}] ${f.title}`);
      await ensureServer(notes);
      if ((await remaining()) < 60) await addContacts(api, site, 150);
      const crashesBefore = server.crashes.length;
      const stderrBefore = server.unstructuredStderrLines();
      await campaign('start');
      const from = now();
      const extraBefore = await extraSoftphones(ctx).catch(() => 0);
      // Calls in flight: wait until at least one customer is talking to an agent (or 20 s).
      for (let i = 0; i < 100 && (await liveCalls()) < 1; i++) await sleep(200);
      await sleep(1000);
      const inFlight = await liveCalls();
      // A fault with no call up proves nothing about calls in flight: the row fails.
      if (inFlight === 0) notes.push('NO CALL IN FLIGHT when the fault began');
      else notes.push(`${inFlight} calls up at the fault`);
      const faultStart = now();
      notes.push(...(await f.inject()));
      const faultEnd = now();
      console.log(`  fault ${secs(faultStart, faultEnd)} s; waiting for dialing to resume`);
      // A supervisor (systemd, docker) would restart a server that died: give it the chance to show
      // it resumes by itself first, then restart it so the later rows can run.
      let resumed: number | null = null;
      const end = Date.now() + Math.max(30_000, f.resumeWithinS * 2000);
      while (Date.now() < end) {
        resumed = await dialingResumed(db, site.campaignId, faultEnd).catch(() => null);
        if (resumed !== null || !server.alive()) break;
        await sleep(500);
      }
      const dialsDuring = await callsBetween(db, site.campaignId, faultStart, faultEnd);
      notes.push(`${dialsDuring} dials during the fault`);
      if (resumed !== null) await sleep(3000);
      else await ensureServer(notes);
      await campaign('pause').catch((err: unknown) => notes.push(`pause failed: ${(err as Error).message}`));
      const to = now();
      // Let calls end and the reconciler close what the engine missed, then check.
      const settleEnd = Date.now() + 60_000;
      while (Date.now() < settleEnd && (await openCalls(db, site.campaignId, from)) > 0) await sleep(1000);
      await sleep(4000);
      const checks = await checkRow(ctx, from, to, desk.states, extraBefore);
      // Any exit of its own during the row, also one after dialing had resumed.
      const crashed = server.crashes.slice(crashesBefore);
      await ensureServer(notes);
      const stderrLines = server.unstructuredStderrLines() - stderrBefore;
      if (stderrLines > 0) notes.push(`${stderrLines} non-JSON lines (stack dumps) in the server's output`);
      for (const c of crashed) notes.push(`server died: ${c.stderr.split('\n').find((l) => /error/i.test(l))?.trim().slice(0, 120) ?? 'no error line'}`);
      rows.push({
        n, fault: f.title,
        // Up, and every outage logged as JSON (once at each end), never as stack dumps.
        server: crashed.length
          ? { ok: false, detail: `exited (${crashed.map((c) => c.code ?? c.signal).join(', ')})` }
          : stderrLines > 0 ? { ok: false, detail: `up, ${stderrLines} non-JSON lines` } : { ok: true, detail: 'up' },
        checks, resumed, resumedOk: resumed !== null && resumed <= f.resumeWithinS, notes,
      });
      printRow(rows.at(-1)!);
    }

    const faults: Fault[] = [
      {
        key: 'pg', title: 'PostgreSQL restarted (down 10 s)', resumeWithinS: 15,
        async inject() {
          await pg.stop();
          await sleep(10_000);
          await pg.start();
          // The suite's own pool reconnects by itself (it handles the pool's error events).
          return [];
        },
      },
      {
        key: 'pgcut', title: "PostgreSQL cut every connection (pg_terminate_backend), server stays up", resumeWithinS: 10,
        async inject() {
          // What a failover proxy or an idle-connection killer does: the server stays, the sessions go.
          const cut = await sql<{ n: string }>`select count(pg_terminate_backend(pid))::text as n from pg_stat_activity
            where datname = 'dialwell_faults' and pid <> pg_backend_pid() and backend_type = 'client backend'`.execute(db);
          const n = cut.rows[0]?.n ?? '0';
          await sleep(2000);
          return [`${n} connections cut`];
        },
      },
      {
        key: 'redis', title: 'Redis stopped 10 s, started again with its data', resumeWithinS: 15,
        async inject() {
          const before = await redis.dbsize();
          await redis.stop();
          await sleep(10_000);
          await redis.start();
          const after = await redis.dbsize();
          return [`Redis keys ${before} → ${after}`];
        },
      },
      {
        key: 'ami', title: `AMI refused for ${short ? 15 : 60} s`, resumeWithinS: 10,
        async inject() {
          const was = ami.connections();
          await ami.refuse();
          await sleep(short ? 15_000 : 60_000);
          await ami.open();
          const back = Date.now();
          while (Date.now() - back < 20_000 && ami.connections() === 0) await sleep(250);
          return [`AMI connections ${was} → 0 → ${ami.connections()} (reconnected ${ami.connections() ? `after ${((Date.now() - back) / 1000).toFixed(1)} s` : 'not within 20 s'})`];
        },
      },
      {
        key: 'ari', title: 'Asterisk frozen 10 s (SIGSTOP): ARI websocket stalled, not closed', resumeWithinS: 15,
        async inject() {
          const pid = await node.pid();
          if (!pid) throw new Error('the private Asterisk node has no PID file');
          // One agent takes a break first and comes back while Asterisk is frozen, so the engine
          // originates into the frozen PBX (its ARI request times out while the call may be placed).
          const spare = site.agentIds[0]!;
          let paused = false;
          for (let i = 0; i < 50 && !paused; i++) {
            paused = await api.call('POST', `/agents/${spare}/pause`, { reason: 'break' }).then(() => true, () => false);
            if (!paused) await sleep(200);
          }
          const at = now();
          process.kill(pid, 'SIGSTOP');
          let readied = false;
          try {
            await sleep(500);
            readied = paused && (await api.call('POST', `/agents/${spare}/ready`).then(() => true, () => false));
            await sleep(9500);
          } finally {
            process.kill(pid, 'SIGCONT');
          }
          if (paused && !readied) await api.call('POST', `/agents/${spare}/ready`).catch(() => undefined);
          const notes = [readied ? 'an agent became ready during the freeze' : 'no agent became ready during the freeze'];
          // The engine must notice a stalled websocket by itself (ping), within a few seconds.
          const said = server.logLines(at, now()).filter((l) => l.level >= 40 && /websocket|ari|asterisk|pbx/i.test(l.msg));
          const first = said[0];
          const afterS = first ? (first.time - at.getTime()) / 1000 : null;
          if (afterS !== null && afterS <= 5) return [...notes, `engine noticed after ${afterS.toFixed(1)} s ("${first!.msg.slice(0, 60)}")`];
          return [...notes, `NOT DETECTED within 5 s: ${first ? `first warning after ${afterS!.toFixed(1)} s ("${first.msg.slice(0, 60)}")` : 'the engine logged nothing while Asterisk was frozen'}`];
        },
      },
      {
        key: 'disk', title: 'recordings filesystem full', resumeWithinS: 10,
        async inject() {
          const filled = await store.fill();
          await sleep(short ? 15_000 : 30_000);
          await store.free();
          return [`filled ${(filled / 1048576).toFixed(1)} MB of tmpfs`];
        },
      },
      {
        key: 'import', title: '100,000 contacts imported while dialing', resumeWithinS: 10,
        async inject() {
          const rowsCsv = ['phone,name'];
          for (let i = 0; i < 100_000; i++) rowsCsv.push(`+1305${570 + Math.floor(i / 10_000)}${String(i % 10_000).padStart(4, '0')},Next ${i}`);
          const t0 = Date.now();
          const r = await api.call<{ imported: number; rejected: number }>('POST', `/campaigns/${site.spareCampaignId}/contacts/import`, rowsCsv.join('\n') + '\n', 'text/csv');
          return [`imported ${r.imported} (rejected ${r.rejected}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`];
        },
      },
      {
        key: 'kill', title: 'engine killed (SIGKILL), restarted 2 s later', resumeWithinS: 20,
        async inject() {
          await server.kill('SIGKILL');
          await sleep(2000);
          const t0 = Date.now();
          await server.start(token);
          return [`serve answered ${((Date.now() - t0) / 1000).toFixed(1)} s after start`];
        },
      },
      {
        key: 'soak', title: `soak: ${soakMinutes} min at a steady rate`, resumeWithinS: 10,
        async inject() {
          const t0 = Date.now();
          const endAt = t0 + soakMinutes * 60_000;
          while (Date.now() < endAt) {
            if ((await remaining().catch(() => 999)) < 100) await addContacts(api, site, 200);
            await sleep(5000);
          }
          return soakFigures(server.samples().filter((s) => s.t >= t0 && s.pid === server.pid), soakMinutes);
        },
      },
    ];

    for (const [i, f] of faults.entries()) {
      if (only && !only.has(f.key)) continue;
      try {
        await runRow(String(i + 1), f);
      } catch (err) {
        rows.push({ n: String(i + 1), fault: f.title, server: { ok: server.alive(), detail: server.alive() ? 'up' : 'down' }, checks: null, resumed: null, resumedOk: false, notes: [`suite error: ${(err as Error).message}`] });
        printRow(rows.at(-1)!);
        // The suite reads through a fresh pool if its own broke.
        await db.destroy().catch(() => undefined);
        db = createDb(pg.url, 4);
        poolOf(db).on('error', () => undefined);
        ctx.db = db;
      }
    }
    desk.stop();
  } finally {
    await cleanUp();
    if (!opts.keep) {
      rmSync(path.join(runDir, 'pg'), { recursive: true, force: true });
      rmSync(path.join(runDir, 'redis'), { recursive: true, force: true });
    }
  }

  const table = renderTable(rows, short);
  writeFileSync(path.join(runDir, 'table.md'), table);
  console.log(`\n${table}\nlogs: ${runDir}`);
  const failed = rows.filter((r) => !rowOk(r)).length;
  // One plain closing line (each fault row with all its invariants counts as one check).
  console.log(`faults: ${rows.length - failed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

/** RSS and descriptor growth over the last two thirds of the soak (the last 20 of 30 minutes). */
function soakFigures(samples: ProbeSample[], minutes: number): string[] {
  if (samples.length < 4) return ['soak: too few probe samples'];
  const t0 = samples[0]!.t;
  const tail = samples.filter((s) => s.t >= t0 + (minutes * 60_000) / 3);
  const head = tail.slice(0, Math.max(1, Math.floor(tail.length / 6)));
  const last = tail.slice(-Math.max(1, Math.floor(tail.length / 6)));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const growth = (f: (s: ProbeSample) => number) => median(last.map(f)) / median(head.map(f)) - 1;
  const rss = growth((s) => s.rss);
  const fds = growth((s) => s.fds);
  const elP99 = Math.max(...samples.map((s) => s.elP99));
  // Minutes of warm-up noise (heap growth to its working size, GC timing) are not a leak: growth
  // is judged from 10 minutes on (the full suite's 30); shorter soaks report it.
  const judged = minutes >= 10;
  const ok = rss <= 0.05 && fds <= 0.05;
  return [
    `${!judged ? 'growth (not judged under 10 min)' : ok ? 'GROWTH OK' : 'GROWTH OVER 5%'}: RSS ${(median(last.map((s) => s.rss)) / 1048576).toFixed(0)} MB (${(rss * 100).toFixed(1)}%), fds ${median(last.map((s) => s.fds))} (${(fds * 100).toFixed(1)}%) over the last ${((minutes * 2) / 3).toFixed(0)} min; event-loop delay p99 ≤ ${elP99.toFixed(0)} ms`,
  ];
}

const mark = (ok: boolean, detail: string) => `${ok ? 'pass' : '**FAIL**'} ${detail}`;

function rowOk(r: Row): boolean {
  if (!r.checks) return r.notes.some((n) => n.startsWith('skipped'));
  const c = r.checks;
  const soakOk = !r.notes.some((n) => /^(GROWTH OVER|NO CALL IN FLIGHT|NOT DETECTED)/.test(n));
  return r.server.ok && c.agents.ok && c.dialedOnce.ok && c.cdrs.ok && c.recordings.ok && c.compliance.ok && c.abandonment.ok && r.resumedOk && soakOk;
}

function cells(r: Row): string[] {
  const c = r.checks;
  const resumed = r.resumed === null ? (r.checks ? mark(false, 'never') : '-') : mark(r.resumedOk, `${r.resumed.toFixed(1)} s`);
  if (!c) return [r.n, r.fault, '-', mark(r.server.ok, r.server.detail), '-', '-', '-', '-', '-', '-', resumed, r.notes.join('; ')];
  return [
    r.n, r.fault, `${c.calls} (${c.answered} answered)`, mark(r.server.ok, r.server.detail), mark(c.agents.ok, c.agents.detail), mark(c.dialedOnce.ok, c.dialedOnce.detail),
    mark(c.cdrs.ok, c.cdrs.detail), mark(c.recordings.ok, c.recordings.detail), mark(c.compliance.ok, c.compliance.detail),
    mark(c.abandonment.ok, c.abandonment.detail), resumed, r.notes.join('; '),
  ];
}

const HEADER = ['#', 'fault (calls in flight)', 'calls', 'server', 'agents', 'no attempt dialed twice', 'one closed CDR per channel', 'recordings: file ⇔ row, or flagged', 'no DNC / hours / cap', 'abandonment ≤ cap', 'dialing resumed after', 'notes'];

function printRow(r: Row): void {
  console.log(`| ${cells(r).join(' | ')} |`);
}

function renderTable(rows: Row[], isShort: boolean): string {
  return [
    `Fault suite (${isShort ? 'short' : 'full'}), ${new Date().toISOString()}:`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${cells(r).join(' | ')} |`),
    '',
  ].join('\n');
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(2);
  },
);
