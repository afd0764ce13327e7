// The rows reports are computed from: calls with their attempt's disposition over a period, agents'
// state history, live-answer counts in a regulator's window, calls by outcome; and the writes of
// agent state changes.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import { emptyTotals, LIVE_ANSWERED_OUTCOMES, type AgentStateChange, type CallFact, type ReportSettings, type Totals } from './figures.js';

export interface Period {
  from: Date;
  to: Date;
}

/** Calls placed in [from, to) (by created_at), optionally of some campaigns or one agent: summarize()'s rows. */
export async function callFacts(db: Db, p: Period & { campaignIds?: readonly string[]; agentId?: string }): Promise<CallFact[]> {
  let q = db
    .selectFrom('calls as c')
    .innerJoin('attempts as a', 'a.id', 'c.attempt_id')
    .where('c.created_at', '>=', p.from)
    .where('c.created_at', '<', p.to)
    .select([
      'c.campaign_id as campaignId', 'c.agent_id as agentId', 'c.created_at as createdAt', 'c.answered_at as answeredAt',
      'c.bridged_at as bridgedAt', 'c.ended_at as endedAt', 'c.outcome', 'a.disposition_result as dispositionResult', 'a.disposed_at as disposedAt',
    ]);
  if (p.campaignIds) {
    if (p.campaignIds.length === 0) return [];
    q = q.where('c.campaign_id', 'in', p.campaignIds);
  }
  if (p.agentId) q = q.where('c.agent_id', '=', p.agentId);
  return q.execute();
}

/**
 * The sums of figures.ts per campaign or per agent, computed in PostgreSQL (a report then reads a
 * row per group, not per call). Each filter below mirrors one definition of figures.ts; an
 * integration test holds them equal to summarize() over the same calls.
 */
export async function aggregateFacts(
  db: Db,
  p: Period & { by: 'campaign' | 'agent'; campaignIds?: readonly string[]; agentId?: string },
  s: ReportSettings,
): Promise<Map<string, Totals>> {
  if (p.campaignIds && p.campaignIds.length === 0) return new Map();
  const key = p.by === 'campaign' ? sql.ref('c.campaign_id') : sql.ref('c.agent_id');
  const where = sql.join([
    sql`c.created_at >= ${p.from}`,
    sql`c.created_at < ${p.to}`,
    ...(p.by === 'agent' ? [sql`c.agent_id is not null`] : []),
    ...(p.campaignIds ? [sql`c.campaign_id = any(${sql.val(p.campaignIds)}::uuid[])`] : []),
    ...(p.agentId ? [sql`c.agent_id = ${p.agentId}`] : []),
  ], sql` and `);
  const connected = sql`(c.outcome = 'answered' and c.bridged_at is not null)`;
  const talk = sql`coalesce(greatest(0, extract(epoch from c.ended_at - c.bridged_at)::float8), 0)`;
  const rows = await sql<{
    key: string; attempts: number; live: number; abandoned: number; machines: number; connected: number; effective: number;
    successes: number; talk: number; wrap: number;
  }>`
    select ${key} as key,
      count(*)::int as attempts,
      count(*) filter (where c.outcome = any(${sql.val(LIVE_ANSWERED_OUTCOMES)}::text[]))::int as live,
      count(*) filter (where c.outcome = 'abandoned')::int as abandoned,
      count(*) filter (where c.outcome = 'machine')::int as machines,
      count(*) filter (where ${connected})::int as connected,
      count(*) filter (where ${connected} and ${talk} >= ${s.effectiveTalkSeconds})::int as effective,
      count(*) filter (where a.disposition_result = any(${sql.val(s.successResults)}::text[]))::int as successes,
      coalesce(sum(${talk}) filter (where ${connected}), 0)::float8 as talk,
      coalesce(sum(coalesce(greatest(0, extract(epoch from a.disposed_at - c.ended_at)::float8), 0)) filter (where ${connected}), 0)::float8 as wrap
    from calls c join attempts a on a.id = c.attempt_id
    where ${where}
    group by 1`.execute(db);
  const outcomes = await sql<{ key: string; outcome: string; n: number }>`
    select ${key} as key, coalesce(c.outcome, 'in-progress') as outcome, count(*)::int as n
    from calls c where ${where} group by 1, 2`.execute(db);
  const out = new Map<string, Totals>();
  for (const r of rows.rows) {
    out.set(r.key, {
      ...emptyTotals(), attempts: r.attempts, liveAnswered: r.live, abandoned: r.abandoned, machines: r.machines, connected: r.connected,
      effective: r.effective, successes: r.successes, talkSeconds: r.talk, wrapUpSeconds: r.wrap,
    });
  }
  for (const r of outcomes.rows) {
    const t = out.get(r.key);
    if (t) t.outcomes[r.outcome] = r.n;
  }
  return out;
}

/** Each agent's state changes in [from, to), with the last change before `from` (an open session). */
export async function agentStateChanges(db: Db, p: Period & { agentIds?: readonly string[] }): Promise<Map<string, AgentStateChange[]>> {
  if (p.agentIds && p.agentIds.length === 0) return new Map();
  const ids = p.agentIds ? sql`and agent_id = any(${sql.val(p.agentIds)}::uuid[])` : sql``;
  const rows = await sql<{ agent_id: string; state: string; at: Date }>`
    select agent_id, state, at from agent_state_changes where at >= ${p.from} and at < ${p.to} ${ids}
    union all
    select distinct on (agent_id) agent_id, state, at from agent_state_changes where at < ${p.from} ${ids}
      order by agent_id, at desc`.execute(db);
  const out = new Map<string, AgentStateChange[]>();
  for (const r of rows.rows) {
    const list = out.get(r.agent_id) ?? [];
    list.push({ state: r.state, at: r.at });
    out.set(r.agent_id, list);
  }
  return out;
}

export async function insertAgentStateChanges(db: Db, rows: readonly { agentId: string; state: string; at: Date; reason?: string | null }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('agent_state_changes').values(rows.map((r) => ({ agent_id: r.agentId, state: r.state, at: r.at, reason: r.reason ?? null }))).execute();
}

/**
 * Live answers and abandoned calls per campaign with answered_at in a regulator's window ending at
 * `to` (see abandonmentWindowStart); counted in SQL so that a 30-day window reads no rows.
 */
export async function liveAnswerCounts(
  db: Db,
  w: { startMs: number; startInclusive: boolean; to: Date; campaignIds?: readonly string[]; liveOutcomes: readonly string[] },
): Promise<Map<string, { liveAnswered: number; abandoned: number }>> {
  if (w.campaignIds && w.campaignIds.length === 0) return new Map();
  let q = db
    .selectFrom('calls')
    .where('answered_at', w.startInclusive ? '>=' : '>', new Date(w.startMs))
    .where('answered_at', '<=', w.to)
    .where('outcome', 'in', w.liveOutcomes)
    .groupBy('campaign_id')
    .select(['campaign_id', (eb) => eb.fn.countAll<number>().as('live'), sql<number>`count(*) filter (where outcome = 'abandoned')`.as('abandoned')]);
  if (w.campaignIds) q = q.where('campaign_id', 'in', w.campaignIds);
  const rows = await q.execute();
  return new Map(rows.map((r) => [r.campaign_id, { liveAnswered: Number(r.live), abandoned: Number(r.abandoned) }]));
}

/**
 * Every ended call, by campaign and outcome (Prometheus counters only ever grow, so calls in
 * progress are left to the in-progress gauge).
 */
export async function callsByOutcome(db: Db): Promise<{ campaignId: string; outcome: string; n: number }[]> {
  const rows = await db
    .selectFrom('calls')
    .where('outcome', 'is not', null)
    .groupBy(['campaign_id', 'outcome'])
    .select(['campaign_id', 'outcome', (eb) => eb.fn.countAll<number>().as('n')])
    .execute();
  return rows.map((r) => ({ campaignId: r.campaign_id, outcome: String(r.outcome), n: Number(r.n) }));
}

export async function campaignsById(db: Db, ids?: readonly string[]): Promise<{ id: string; name: string; state: string; abandon_cap: number }[]> {
  if (ids && ids.length === 0) return [];
  let q = db.selectFrom('campaigns').select(['id', 'name', 'state', 'abandon_cap']).orderBy('name');
  if (ids) q = q.where('id', 'in', ids);
  return q.execute();
}

export async function agentsById(db: Db, ids?: readonly string[]): Promise<{ id: string; name: string }[]> {
  if (ids && ids.length === 0) return [];
  let q = db.selectFrom('agents').select(['id', 'name']).orderBy('name');
  if (ids) q = q.where('id', 'in', ids);
  return q.execute();
}
