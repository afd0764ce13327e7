// npm run bench:progress — how long a campaign's progress, its attempt pages and a contact's page
// take on a large campaign, on a database of its own (dialwell_bench_progress): CONTACTS contacts
// (default 100,000; BENCH_SCALE scales it) in one campaign, each with an attempt: done (several
// outcomes), skipped by a DNC decision, rescheduled by an hours or a cap decision, due now, a
// retry a month out, or none yet. Each route is timed three times through the real HTTP stack
// (fastify inject, auth and masking included); the median is printed.
import { sql } from 'kysely';
import { createCallerId, createCampaign, createTrunk } from '../src/admin/provision.js';
import { createUser, issueToken } from '../src/auth/users.repository.js';
import { PolicyResolver } from '../src/compliance/store/policies.repository.js';
import { loadConfig } from '../src/config.js';
import { createDb, recreateDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';

const CONTACTS = Math.round(100_000 * Number(process.env.BENCH_SCALE ?? '1'));

const reason = (rule: string, passed: boolean, inputs: object) => ({ rule, policy: 'us-federal', passed, detail: rule, inputs });
const HOURS = [reason('hours', false, { zones: [{ zone: 'America/New_York', local: '2026-12-08T01:00', weekday: 'tue', windows: { 'us-federal': '08:00-21:00' }, inside: false }] })];
const CAP = [reason('hours', true, {}), reason('cap', false, { scope: 'phone', max: 3, windowHours: 24, count: 3 })];
const DNC = [reason('dnc', false, { lists: ['global'], hits: [{ list: 'global', source: 'manual', expiresAt: null }] })];

async function main(): Promise<void> {
  const url = new URL(loadConfig().DATABASE_URL);
  url.pathname = '/dialwell_bench_progress';
  await recreateDatabase(url.toString());
  const db = createDb(url.toString(), 8);
  await migrateToLatest(db);
  const trunk = await createTrunk(db, { name: 'bench', host: '127.0.0.1', port: 5060 });
  const cid = await createCallerId(db, '+13055550001');
  const campaign = (await createCampaign(db, { name: 'bench', trunkId: trunk.id, callerIdId: cid.id, state: 'running' })).id;
  const t = performance.now();
  await sql`insert into contacts (campaign_id, phone, attributes, time_zone)
    select ${campaign}::uuid, '+1305' || lpad(g::text, 7, '0'), '{}', 'America/New_York' from generate_series(1, ${CONTACTS}) g`.execute(db);
  // k = 0..19 picks the contact's fate: 0-3 done, 4-5 DNC, 6-13 hours, 14-15 cap, 16-17 due, 18 retry, 19 none.
  await sql`insert into attempts (campaign_id, contact_id, phone, idempotency_key, state, outcome, scheduled_at, dialed_at, created_at)
    select campaign_id, id, phone, id::text || case when k = 18 then ':retry:2' else ':initial' end,
      case when k < 4 then 'completed' when k < 6 then 'skipped' else 'queued' end,
      case when k < 4 then (array['answered','busy','no-answer','failed'])[1 + k] when k < 6 then 'denied' end,
      case when k between 6 and 13 then now() + interval '7 h' when k between 14 and 15 then now() + interval '20 h'
           when k = 18 then now() + interval '30 days' else now() - interval '1 h' end,
      case when k < 4 then now() - interval '2 h' end,
      now() - random() * interval '3 days'
    from (select *, (row_number() over ()) % 20 as k from contacts) c where k <> 19`.execute(db);
  await sql`with d as (
      insert into decisions (attempt_id, phone, campaign_id, decided_at, allowed, reasons, time_zones, policy_versions, next_allowed_at, failed_rules)
      select a.id, a.phone, a.campaign_id, now() - interval '1 h', false,
        case when a.outcome = 'denied' then ${JSON.stringify(DNC)}::json when a.scheduled_at < now() + interval '10 h' then ${JSON.stringify(HOURS)}::json else ${JSON.stringify(CAP)}::json end,
        array['America/New_York'], '[{"name":"us-federal","version":1}]', case when a.outcome = 'denied' then null else a.scheduled_at end,
        case when a.outcome = 'denied' then 'dnc' when a.scheduled_at < now() + interval '10 h' then 'hours' else 'cap' end
      from attempts a where a.outcome = 'denied' or (a.state = 'queued' and a.scheduled_at > now() and a.idempotency_key not like '%:retry:%')
      returning id, attempt_id)
    update attempts a set decision_id = d.id from d where a.id = d.attempt_id`.execute(db);
  await sql`analyze`.execute(db);
  console.log(`progress benchmark: ${CONTACTS.toLocaleString()} contacts in one campaign (data built in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

  const app = await buildServer({ db, policies: new PolicyResolver(db), log: createLogger('silent') });
  const user = await createUser(db, { name: 'bench', role: 'supervisor', agentId: null });
  const { token } = await issueToken(db, user.id, 'bench');
  const contact = await db.selectFrom('attempts').where('outcome', '=', 'denied').select('contact_id').limit(1).executeTakeFirstOrThrow();
  const get = async (u: string) => {
    const r = await app.inject({ method: 'GET', url: u, headers: { authorization: `Bearer ${token}` } });
    if (r.statusCode !== 200) throw new Error(`${u}: ${r.statusCode} ${r.body.slice(0, 200)}`);
    return r.json<{ nextCursor?: string | null }>();
  };
  const time = async (label: string, f: () => Promise<unknown>) => {
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = performance.now();
      await f();
      ms.push(performance.now() - s);
    }
    console.log(`  ${label.padEnd(52)} ${ms.sort((a, b) => a - b)[1]!.toFixed(1).padStart(8)} ms`);
  };
  await time('GET /campaigns/:id/progress', () => get(`/api/v1/campaigns/${campaign}/progress`));
  await time('GET /campaigns/:id/attempts (first page of 100)', () => get(`/api/v1/campaigns/${campaign}/attempts`));
  await time('GET /campaigns/:id/attempts, 50 pages of 100 by cursor', async () => {
    let cursor: string | null | undefined = null;
    for (let i = 0; i < 50; i++) cursor = (await get(`/api/v1/campaigns/${campaign}/attempts${cursor ? `?cursor=${cursor}` : ''}`)).nextCursor;
  });
  await time('GET /campaigns/:id/attempts?outcome=denied', () => get(`/api/v1/campaigns/${campaign}/attempts?outcome=denied`));
  await time('GET /contacts/:id (page with decisions in words)', () => get(`/api/v1/contacts/${contact.contact_id}`));
  await app.close();
  await db.destroy();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
