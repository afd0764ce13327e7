// Reviews: a QA reviewer scores one call against a scorecard (per-criterion scores, comments,
// time marks in the recording); and per-agent summaries of the reviews of calls in a period.
// Every create, change and delete is audited in the same transaction.
import { sql } from 'kysely';
import type { z } from 'zod';
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import type { Db } from '../db/database.js';
import type { Review } from '../db/schema.js';
import { checkMarks, getScorecard, QaError, scoreReview, type markSchema, type reviewScoreInput } from './scorecards.js';

export interface ReviewInput {
  scorecardId: string;
  scores: z.infer<typeof reviewScoreInput>[];
  comment?: string;
  marks?: z.infer<typeof markSchema>[];
}

export function reviewView(r: Review) {
  return {
    id: r.id, callId: r.call_id, recordingId: r.recording_id, scorecardId: r.scorecard_id, agentId: r.agent_id,
    reviewer: { id: r.reviewer_id, name: r.reviewer }, scores: r.scores, totalPct: r.total_pct, comment: r.comment, marks: r.marks,
    createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(),
  };
}

async function callForReview(db: Db, callId: string) {
  const call = await db
    .selectFrom('calls as c')
    .leftJoin('recordings as r', 'r.call_id', 'c.id')
    .select(['c.id', 'c.agent_id', 'c.answered_at', 'r.id as recording_id', 'r.duration_ms'])
    .where('c.id', '=', callId)
    .executeTakeFirst();
  if (!call) throw new QaError(`call ${callId} does not exist`, 404);
  if (!call.answered_at) throw new QaError(`call ${callId} was never answered: there is nothing to review`, 409);
  return call;
}

export async function createReview(db: Db, actor: Actor, callId: string, input: ReviewInput): Promise<Review> {
  const call = await callForReview(db, callId);
  const card = await getScorecard(db, input.scorecardId);
  if (!card.active) throw new QaError(`scorecard "${card.name}" is inactive; use an active one`, 409, 'scorecardId');
  const { scores, totalPct } = scoreReview(card.criteria, input.scores);
  const marks = checkMarks(input.marks ?? [], call.recording_id ? call.duration_ms : null);
  return db.transaction().execute(async (trx) => {
    const r = await trx
      .insertInto('reviews')
      .values({
        call_id: call.id, recording_id: call.recording_id, scorecard_id: card.id, agent_id: call.agent_id, reviewer_id: actor.userId,
        reviewer: actor.name, scores: JSON.stringify(scores), total_pct: totalPct, comment: input.comment ?? null, marks: JSON.stringify(marks),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'review.created', resource: 'review', resourceId: r.id, after: reviewView(r) });
    return r;
  });
}

export async function getReview(db: Db, id: string): Promise<Review> {
  const r = await db.selectFrom('reviews').selectAll().where('id', '=', id).executeTakeFirst();
  if (!r) throw new QaError(`review ${id} does not exist`, 404);
  return r;
}

/** Re-scores a review (against the criteria it was first scored under) or changes its comment and marks. */
export async function updateReview(
  db: Db,
  actor: Actor,
  id: string,
  /** comment null removes it. */
  patch: Partial<Omit<ReviewInput, 'scorecardId' | 'comment'>> & { comment?: string | null },
): Promise<Review> {
  const before = await getReview(db, id);
  const criteria = before.scores.map(({ key, label, weight, maxScore }) => ({ key, label, weight, maxScore }));
  const scored = patch.scores ? scoreReview(criteria, patch.scores) : { scores: before.scores, totalPct: before.total_pct };
  let marks = before.marks;
  if (patch.marks) {
    const rec = before.recording_id ? await db.selectFrom('recordings').select('duration_ms').where('id', '=', before.recording_id).executeTakeFirst() : undefined;
    marks = checkMarks(patch.marks, rec ? rec.duration_ms : null);
  }
  return db.transaction().execute(async (trx) => {
    const after = await trx
      .updateTable('reviews')
      .set({
        scores: JSON.stringify(scored.scores), total_pct: scored.totalPct, marks: JSON.stringify(marks),
        comment: patch.comment !== undefined ? patch.comment : before.comment, updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'review.updated', resource: 'review', resourceId: id, before: reviewView(before), after: reviewView(after) });
    return after;
  });
}

export async function deleteReview(db: Db, actor: Actor, id: string): Promise<void> {
  const before = await getReview(db, id);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('reviews').where('id', '=', id).execute();
    await writeAudit(trx, actor, { action: 'review.deleted', resource: 'review', resourceId: id, before: reviewView(before) });
  });
}

export interface AgentSummary {
  agentId: string;
  agentName: string | null;
  reviews: number;
  averagePct: number;
  minPct: number;
  maxPct: number;
  /** Per criterion (by key): mean of score/max, as %, over the reviews that scored it. */
  criteria: { key: string; label: string; reviews: number; averagePct: number }[];
}

/** Per agent: the reviews of calls placed in [from, to), their mean, lowest and highest totals and per-criterion means. */
export async function agentSummaries(db: Db, q: { from: Date; to: Date; agentId?: string; scorecardId?: string }): Promise<AgentSummary[]> {
  const base = () => {
    let s = db
      .selectFrom('reviews as v')
      .innerJoin('calls as c', 'c.id', 'v.call_id')
      .where('c.created_at', '>=', q.from)
      .where('c.created_at', '<', q.to)
      .where('v.agent_id', 'is not', null);
    if (q.agentId) s = s.where('v.agent_id', '=', q.agentId);
    if (q.scorecardId) s = s.where('v.scorecard_id', '=', q.scorecardId);
    return s;
  };
  const totals = await base()
    .leftJoin('agents as g', 'g.id', 'v.agent_id')
    .select([
      'v.agent_id', 'g.name',
      sql<number>`count(*)::int`.as('n'),
      sql<number>`round(avg(v.total_pct)::numeric, 2)::float8`.as('avg'),
      sql<number>`min(v.total_pct)`.as('min'),
      sql<number>`max(v.total_pct)`.as('max'),
    ])
    .groupBy(['v.agent_id', 'g.name'])
    .orderBy('g.name')
    .execute();
  // Kysely has no builder for jsonb_to_recordset's column list: plain SQL, same filters.
  const per = (
    await sql<{ agent_id: string; key: string; label: string; n: number; avg: number }>`
      select v.agent_id, s.key, max(s.label) as label, count(*)::int as n,
             round(avg(s.score / s."maxScore" * 100)::numeric, 2)::float8 as avg
        from reviews v
        join calls c on c.id = v.call_id
        cross join jsonb_to_recordset(v.scores) as s(key text, label text, score float8, "maxScore" float8)
       where c.created_at >= ${q.from} and c.created_at < ${q.to} and v.agent_id is not null
         ${q.agentId ? sql`and v.agent_id = ${q.agentId}` : sql``}
         ${q.scorecardId ? sql`and v.scorecard_id = ${q.scorecardId}` : sql``}
       group by v.agent_id, s.key
       order by s.key`.execute(db)
  ).rows;
  return totals.map((t) => ({
    agentId: t.agent_id!, agentName: t.name, reviews: t.n, averagePct: t.avg, minPct: t.min, maxPct: t.max,
    criteria: per.filter((p) => p.agent_id === t.agent_id).map((p) => ({ key: p.key, label: p.label, reviews: p.n, averagePct: p.avg })),
  }));
}
