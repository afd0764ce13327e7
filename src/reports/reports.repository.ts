// The rows reports are computed from: calls with their attempt's disposition over a period, agents'
// state history, live-answer counts in a regulator's window, calls by outcome; and the writes of
// agent state changes.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AgentStateChange, CallFact } from './figures.js';

export interface Period {
  from: Date;
  to: Date;
}

/** Calls placed in [from, to) (by created_at), optionally of some campaigns or one agent. */
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

export async function insertAgentStateChanges(db: Db, rows: readonly { agentId: string; state: string; at: Date }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('agent_state_changes').values(rows.map((r) => ({ agent_id: r.agentId, state: r.state, at: r.at }))).execute();
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
