// npm run bench:eligibility — the compliance store under load, on a database of its own:
//  1. bulk import of a 10 M-number DNC registry (streamed COPY), timed;
//  2. 1 M past attempts of history;
//  3. atomic dial-time decisions (decide + reserve, one transaction per number) at concurrency
//     1, 8 and 64, against a naive baseline in the same run (one SQL query per rule, policies
//     read and parsed from the database on every decision);
//  4. dry-run checks, batched, and single.
// Prints a table. Sizes can be scaled down with BENCH_SCALE (e.g. 0.1) for a quick look.
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { sql } from 'kysely';
import { decide, historyHorizonHours } from '../src/compliance/decide.js';
import { parsePolicy } from '../src/compliance/policy.js';
import { PRESET_INPUTS } from '../src/compliance/presets.js';
import { decideAndReserve, DialGate, profileNumber } from '../src/compliance/store/dial-gate.js';
import { importDncRegistry } from '../src/compliance/store/dnc.repository.js';
import { checkNumbers } from '../src/compliance/store/eligibility.service.js';
import { PolicyResolver, savePolicy } from '../src/compliance/store/policies.repository.js';
import { loadConfig } from '../src/config.js';
import { createDb, poolOf, recreateDatabase, type Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

const SCALE = Number(process.env.BENCH_SCALE ?? '1');
const DNC_SIZE = Math.round(10_000_000 * SCALE);
const HISTORY_SIZE = Math.round(1_000_000 * SCALE);
const PHONES = Math.round(200_000 * SCALE);
const DECISIONS_PER_RUN = Math.round(6_000 * Math.max(SCALE, 0.25));
// Area codes across US zones (and Florida, with its own regional rules).
const AREA_CODES = [212, 305, 312, 415, 617, 702, 713, 808, 907, 303, 404, 503];

/** A distinct valid US number per i, over 12 area codes x 20 exchanges (zone lookups are per exchange). */
function phoneOf(i: number): string {
  const npa = AREA_CODES[i % AREA_CODES.length]!;
  const nxx = 200 + (Math.floor(i / AREA_CODES.length) % 20);
  const line = Math.floor(i / (AREA_CODES.length * 20)) % 10_000;
  return `+1${npa}${nxx}${String(line).padStart(4, '0')}`;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Row {
  what: string;
  concurrency: number | string;
  n: number;
  perSecond: number;
  p50: number;
  p99: number;
}

async function timed(concurrency: number, items: string[], one: (x: string) => Promise<unknown>): Promise<{ perSecond: number; p50: number; p99: number }> {
  const lat: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const x = items[next++]!;
        const t = performance.now();
        await one(x);
        lat.push(performance.now() - t);
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  lat.sort((a, b) => a - b);
  return { perSecond: items.length / secs, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** The naive way: one query per rule, policies loaded and parsed from the database every time. */
async function naiveDecideAndReserve(db: Db, attemptId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const a = await trx.selectFrom('attempts').where('id', '=', attemptId).selectAll().executeTakeFirstOrThrow();
    await sql`select pg_advisory_xact_lock(hashtextextended(${a.phone}, 0))`.execute(trx);
    const contact = await trx.selectFrom('contacts').where('id', '=', a.contact_id).selectAll().executeTakeFirstOrThrow();
    const camp = await trx.selectFrom('campaigns').where('id', '=', a.campaign_id).selectAll().executeTakeFirstOrThrow();
    const doc = await trx.selectFrom('policies').where('name', '=', camp.policy_name!).orderBy('version', 'desc').select('document').executeTakeFirstOrThrow();
    const parsed = parsePolicy(doc.document);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const policy = parsed.policy;
    const now = new Date();
    // One count per cap and rest window.
    for (const cap of policy.caps) {
      await trx.selectFrom('attempts').where('phone', '=', a.phone).where('dialed_at', '>=', new Date(now.getTime() - cap.windowHours * 3.6e6)).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    }
    for (const rest of policy.rests) {
      await trx.selectFrom('attempts').where('phone', '=', a.phone).where('dialed_at', '>=', new Date(now.getTime() - rest.hours * 3.6e6)).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    }
    const history = await trx.selectFrom('attempts').where('phone', '=', a.phone).where('dialed_at', '>=', new Date(now.getTime() - historyHorizonHours([policy]) * 3.6e6)).selectAll().execute();
    const dnc = await trx.selectFrom('dnc_entries').where('phone', '=', a.phone).selectAll().execute();
    const reg = await trx.selectFrom('dnc_registry').where('phone', '=', a.phone.slice(1)).selectAll().execute();
    const prot = await trx.selectFrom('protected_numbers').where('phone', '=', a.phone).selectAll().execute();
    const refusals = await trx.selectFrom('attempts').where('phone', '=', a.phone).where('refused', '=', true).select((eb) => eb.fn.countAll().as('n')).executeTakeFirst();
    void refusals;
    const profile = await profileNumber(a.phone, { timeZone: contact.time_zone });
    const d = decide(
      {
        phone: a.phone, numberType: profile.numberType, timeZones: profile.timeZones, region: profile.region, segment: contact.segment,
        campaignId: a.campaign_id, product: camp.product,
        history: history.map((h) => ({ at: h.dialed_at!, campaignId: h.campaign_id, product: h.product, outcome: 'no-answer' as const, refused: h.refused })),
        dncHits: [...dnc.map((x) => ({ list: 'global' as const, source: x.source, expiresAt: x.expires_at })), ...reg.map(() => ({ list: 'global' as const, source: 'registry', expiresAt: null }))],
        protectedHits: prot.map((p) => ({ list: p.list })),
      },
      [policy],
      now,
    );
    const row = await trx.insertInto('decisions').values({
      attempt_id: a.id, phone: a.phone, campaign_id: a.campaign_id, decided_at: now, allowed: d.allowed,
      reasons: JSON.stringify(d.reasons), time_zones: d.timeZones, policy_versions: JSON.stringify(d.policyVersions), next_allowed_at: d.nextAllowedAt,
    }).returning('id').executeTakeFirstOrThrow();
    await trx.updateTable('attempts').set(d.allowed ? { state: 'dialing', dialed_at: now, decision_id: row.id } : { scheduled_at: d.nextAllowedAt ?? now, decision_id: row.id }).where('id', '=', a.id).execute();
  });
}

async function main(): Promise<void> {
  const base = loadConfig();
  const url = new URL(base.DATABASE_URL);
  url.pathname = '/dialwell_bench';
  await recreateDatabase(url.toString());
  const db = createDb(url.toString(), 70);
  await migrateToLatest(db);
  const rows: Row[] = [];
  console.log(`eligibility benchmark: DNC ${DNC_SIZE.toLocaleString()} numbers, history ${HISTORY_SIZE.toLocaleString()} attempts, ${DECISIONS_PER_RUN} decisions per run`);

  // 1. DNC registry import, streamed.
  let i = 0;
  const registry = new Readable({
    read() {
      const lines: string[] = [];
      for (let k = 0; k < 20_000 && i < DNC_SIZE; k++, i++) lines.push(String(2_000_000_000 + i * 797));
      if (lines.length) this.push(`${lines.join('\n')}\n`);
      if (i >= DNC_SIZE) this.push(null);
    },
  });
  const imp = await importDncRegistry(poolOf(db), registry, { registry: 'bench', actor: 'bench', nationalPrefix: '1' });
  console.log(`DNC import: ${imp.imported.toLocaleString()} numbers in ${imp.seconds.toFixed(1)} s (${Math.round(imp.imported / imp.seconds).toLocaleString()}/s)`);

  // 2. Policy, campaign, contacts and 1 M attempts of history (SQL-generated).
  const policyInput = { ...PRESET_INPUTS['callcentre-default']!, name: 'bench', windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }] };
  await savePolicy(db, policyInput, 'bench');
  const trunk = await db.insertInto('trunks').values({ name: 'bench', host: '127.0.0.1', port: 5999 }).returning('id').executeTakeFirstOrThrow();
  const camp = await db.insertInto('campaigns').values({ name: 'bench', trunk_id: trunk.id, policy_name: 'bench', product: 'loan' }).returning('id').executeTakeFirstOrThrow();
  const phones = Array.from({ length: PHONES }, (_, k) => phoneOf(k));
  const t0 = performance.now();
  await sql`insert into contacts (campaign_id, phone) select ${camp.id}::uuid, unnest(${phones}::text[])`.execute(db);
  await sql`
    insert into attempts (campaign_id, contact_id, phone, state, idempotency_key, dialed_at, outcome, product)
    select c.campaign_id, c.id, c.phone, 'completed', c.id || ':' || g.n, now() - (random() * interval '400 days'), 'no-answer', 'loan'
    from contacts c cross join generate_series(1, ${Math.ceil(HISTORY_SIZE / PHONES)}) g(n)
    where c.campaign_id = ${camp.id}::uuid`.execute(db);
  await sql`analyze`.execute(db);
  console.log(`history: ${HISTORY_SIZE.toLocaleString()} attempts over ${PHONES.toLocaleString()} numbers in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Zone and region lookups are cached per exchange: warm them as a running dialer would be.
  await Promise.all(AREA_CODES.map((_, k) => profileNumber(phoneOf(k))));
  for (let k = 0; k < AREA_CODES.length * 20; k++) await profileNumber(phoneOf(k));

  const queued = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    // n distinct numbers, drawn at random from the contacts (all of whom have history).
    const rowsIns = await sql<{ id: string }>`
      insert into attempts (campaign_id, contact_id, phone, idempotency_key)
      select c.campaign_id, c.id, c.phone, ${randomUUID()} || c.id
      from (select * from contacts where campaign_id = ${camp.id}::uuid order by random() limit ${n}) c
      returning id`.execute(db);
    for (const r of rowsIns.rows) ids.push(r.id);
    return ids;
  };

  // 3. Atomic decisions, ours vs naive, at each concurrency.
  const resolver = new PolicyResolver(db);
  for (const c of [1, 8, 64]) {
    const n = c === 1 ? Math.round(DECISIONS_PER_RUN / 3) : DECISIONS_PER_RUN;
    const gate = new DialGate({ db, policies: resolver });
    const ours = await timed(c, await queued(n), (id) => gate.decideAndReserve(id));
    rows.push({ what: 'atomic decision (Dialwell gate)', concurrency: c, n, ...ours });
    const single = await timed(c, await queued(n), (id) => decideAndReserve({ db, policies: resolver }, id));
    rows.push({ what: 'atomic decision (one transaction each)', concurrency: c, n, ...single });
    const naive = await timed(c, await queued(n), (id) => naiveDecideAndReserve(db, id));
    rows.push({ what: 'atomic decision (naive baseline)', concurrency: c, n, ...naive });
  }

  // 4. Dry-run checks: batches of 1000 numbers, and one at a time.
  const checkPhones = Array.from({ length: 50_000 }, (_, k) => phoneOf((k * 7919) % PHONES));
  const batches: string[] = [];
  for (let k = 0; k < checkPhones.length; k += 1000) batches.push(String(k));
  const batched = await timed(4, batches, (k) => checkNumbers({ db, policies: resolver }, { phones: checkPhones.slice(Number(k), Number(k) + 1000), campaignId: camp.id }));
  rows.push({ what: 'dry-run check, batches of 1000', concurrency: 4, n: checkPhones.length, perSecond: batched.perSecond * 1000, p50: batched.p50, p99: batched.p99 });
  const single = await timed(8, checkPhones.slice(0, 5000), (p) => checkNumbers({ db, policies: resolver }, { phones: [p], campaignId: camp.id }));
  rows.push({ what: 'dry-run check, one number', concurrency: 8, n: 5000, ...single });

  console.log('\n| what | concurrency | n | per second | p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.what} | ${r.concurrency} | ${r.n} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`);
  }
  console.log(`\nDNC import of ${imp.imported.toLocaleString('en-US')} numbers: ${imp.seconds.toFixed(1)} s`);
  await db.destroy();
}

await main();
