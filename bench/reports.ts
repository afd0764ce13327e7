// npm run bench:reports — how long the reports, the live view and /metrics take over a large CDR,
// on a database of its own (dialwell_bench_reports): CALLS calls (default 1,000,000; BENCH_SCALE
// scales it) over 30 days in 10 campaigns and 50 agents, with dispositions and agent sessions.
// Each route is timed three times through the real HTTP stack (fastify inject, auth included);
// the per-call path (summarize() over every row) runs beside it for comparison.
import { sql } from 'kysely';
import { createAgent, createCallerId, createCampaign, createTrunk } from '../src/admin/provision.js';
import { createUser, issueToken } from '../src/auth/users.repository.js';
import { PolicyResolver } from '../src/compliance/store/policies.repository.js';
import { loadConfig } from '../src/config.js';
import { createDb, recreateDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { buildServer } from '../src/http/server.js';
import { createLogger } from '../src/log.js';
import { defaultReportSettings, summarize } from '../src/reports/figures.js';
import { callFacts } from '../src/reports/reports.repository.js';

const CALLS = Math.round(1_000_000 * Number(process.env.BENCH_SCALE ?? '1'));

async function main(): Promise<void> {
  const url = new URL(loadConfig().DATABASE_URL);
  url.pathname = '/dialwell_bench_reports';
  await recreateDatabase(url.toString());
  const db = createDb(url.toString(), 8);
  await migrateToLatest(db);
  const trunk = await createTrunk(db, { name: 'bench', host: '127.0.0.1', port: 5060 });
  const cid = await createCallerId(db, '+13055550001');
  const campaigns: string[] = [];
  for (let i = 0; i < 10; i++) campaigns.push((await createCampaign(db, { name: `bench ${i}`, trunkId: trunk.id, callerIdId: cid.id, state: 'running' })).id);
  const agents: string[] = [];
  for (let i = 0; i < 50; i++) agents.push((await createAgent(db, { name: `agent ${i}`, endpoint: `bench-${i}`, sipPassword: 'bench-sip-secret' })).id);
  let t = performance.now();
  // Contacts, attempts with dispositions, and calls over the last 30 days, in SQL.
  await sql`insert into contacts (campaign_id, phone, attributes)
    select (${sql.val(campaigns)}::uuid[])[1 + g % 10], '+1999' || lpad(g::text, 7, '0'), '{}' from generate_series(1, ${CALLS}) g`.execute(db);
  await sql`insert into attempts (campaign_id, contact_id, phone, idempotency_key, state, dialed_at)
    select campaign_id, id, phone, phone, 'completed', now() - random() * interval '30 days' from contacts`.execute(db);
  await sql`insert into calls (attempt_id, campaign_id, contact_id, phone, caller_id, trunk_id, agent_id, channel_id, created_at, answered_at, bridged_at, ended_at, outcome)
    select a.id, a.campaign_id, a.contact_id, a.phone, '+13055550001', ${trunk.id}::uuid,
      case when o = 'answered' then (${sql.val(agents)}::uuid[])[1 + floor(random() * 50)::int] end,
      a.id::text, a.dialed_at,
      case when o in ('answered', 'abandoned', 'machine') then a.dialed_at + interval '8 s' end,
      case when o = 'answered' then a.dialed_at + interval '9 s' end,
      a.dialed_at + interval '9 s' + random() * interval '300 s', o
    from (select *, (array['answered','answered','abandoned','machine','busy','no-answer','no-answer','failed'])[1 + floor(random() * 8)::int] as o from attempts) a`.execute(db);
  await sql`update attempts a set disposition_result = case when random() < 0.15 then 'sale' else 'not-interested' end, disposed_at = c.ended_at + random() * interval '60 s'
    from calls c where c.attempt_id = a.id and c.outcome = 'answered'`.execute(db);
  await sql`insert into agent_state_changes (agent_id, state, at)
    select a, s, now() - (d || ' days')::interval + (case s when 'ready' then interval '8 h' else interval '16 h' end)
    from unnest(${sql.val(agents)}::uuid[]) a, generate_series(0, 30) d, unnest(array['ready', 'logged-out']) s`.execute(db);
  await sql`analyze`.execute(db);
  console.log(`reports benchmark: ${CALLS.toLocaleString()} calls over 30 days, 10 campaigns, 50 agents (data built in ${((performance.now() - t) / 1000).toFixed(1)} s)`);

  const app = await buildServer({ db, policies: new PolicyResolver(db), log: createLogger('silent') });
  const user = await createUser(db, { name: 'bench', role: 'supervisor', agentId: null });
  const { token } = await issueToken(db, user.id, 'bench');
  const day = new Date(Date.now() - 86_400_000).toISOString();
  const month = new Date(Date.now() - 31 * 86_400_000).toISOString();
  const routes: [string, string][] = [
    ['campaigns, 30 days, all campaigns', `/api/v1/reports/campaigns?from=${month}`],
    ['campaigns, 30 days, all campaigns, CSV', `/api/v1/reports/campaigns?from=${month}&format=csv`],
    ['campaigns, 1 day, one campaign', `/api/v1/reports/campaigns?from=${day}&campaignId=${campaigns[0]}`],
    ['agents, 30 days, all agents', `/api/v1/reports/agents?from=${month}`],
    ['live view', '/api/v1/live'],
    ['/metrics', '/metrics'],
  ];
  console.log('| what | ms (3 runs) |\n|---|---|');
  for (const [what, route] of routes) {
    const ms: string[] = [];
    for (let i = 0; i < 3; i++) {
      t = performance.now();
      const r = await app.inject({ method: 'GET', url: route, headers: { authorization: `Bearer ${token}` } });
      if (r.statusCode !== 200) throw new Error(`${route}: ${r.statusCode} ${r.body}`);
      ms.push((performance.now() - t).toFixed(0));
    }
    console.log(`| ${what} | ${ms.join(' / ')} |`);
  }
  const ms: string[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    summarize(await callFacts(db, { from: new Date(month), to: new Date(), campaignIds: [campaigns[0]!] }), defaultReportSettings);
    ms.push((performance.now() - t).toFixed(0));
  }
  console.log(`| per call in Node (rows of one campaign, 30 days, summarize()) | ${ms.join(' / ')} |`);
  await app.close();
  await db.destroy();
}

await main();
