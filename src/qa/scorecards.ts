// Scorecards: the criteria a QA reviewer scores a call on (service attitude, script adherence,
// accuracy, confidentiality, discipline, ...), each with a weight and a highest score; and the
// arithmetic of a review: per-criterion scores within their maximum, weighted into a total %.
// Scorecards are configuration: admins (config.write) create and change them; QA (config.read)
// reads them and scores with them (qa.write). Reviews keep a copy of the criteria they were
// scored under, so changing a scorecard never rewrites past totals.
import { z } from 'zod';
import type { Db } from '../db/database.js';
import type { ReviewMark, ReviewScore, Scorecard, ScorecardCriterion } from '../db/schema.js';
import { ClientError } from '../errors.js';

export class QaError extends ClientError {
  override readonly name = 'QaError';
}

export const criterionSchema = z.strictObject({
  key: z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'must be a short lower-case key such as "script-adherence"'),
  label: z.string().trim().min(1, 'must not be empty').max(200),
  weight: z.number().positive('must be above 0').max(1000),
  maxScore: z.int('must be a whole number').min(1, 'must be at least 1').max(100),
});

export const scorecardInputSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  description: z.string().max(2000).default(''),
  criteria: z
    .array(criterionSchema)
    .min(1, 'needs at least one criterion')
    .max(30)
    .refine((cs) => new Set(cs.map((c) => c.key)).size === cs.length, 'criterion keys must be unique'),
  active: z.boolean().default(true),
});
export type ScorecardInput = z.infer<typeof scorecardInputSchema>;
export const scorecardPatchSchema = z.strictObject({
  name: scorecardInputSchema.shape.name.optional(),
  description: z.string().max(2000).optional(),
  criteria: scorecardInputSchema.shape.criteria.optional(),
  active: z.boolean().optional(),
});

export const reviewScoreInput = z.strictObject({
  criterion: z.string().min(1).max(40),
  score: z.number().min(0, 'must be 0 or more'),
  comment: z.string().max(2000).optional(),
});
export const markSchema = z.strictObject({
  atMs: z.int('must be a whole number of milliseconds').min(0, 'must be 0 or more'),
  note: z.string().trim().min(1, 'must not be empty').max(1000),
});

/**
 * Checks a review's scores against the scorecard (every criterion scored once, within its
 * maximum) and weighs them: total % = Σ weight·score/max ÷ Σ weight × 100, to 0.01.
 */
export function scoreReview(criteria: ScorecardCriterion[], scores: z.infer<typeof reviewScoreInput>[]): { scores: ReviewScore[]; totalPct: number } {
  const byKey = new Map(scores.map((s) => [s.criterion, s]));
  if (byKey.size !== scores.length) throw new QaError('each criterion may be scored only once', 400, 'scores');
  const unknown = scores.filter((s) => !criteria.some((c) => c.key === s.criterion)).map((s) => s.criterion);
  if (unknown.length) throw new QaError(`the scorecard has no criterion ${unknown.map((k) => `"${k}"`).join(', ')}; it has ${criteria.map((c) => c.key).join(', ')}`, 400, 'scores');
  const out: ReviewScore[] = [];
  let weighted = 0;
  let weights = 0;
  for (const c of criteria) {
    const s = byKey.get(c.key);
    if (!s) throw new QaError(`criterion "${c.key}" (${c.label}) is not scored; score every criterion of the scorecard`, 400, 'scores');
    if (s.score > c.maxScore) throw new QaError(`criterion "${c.key}" scored ${s.score}, above its maximum of ${c.maxScore}`, 400, 'scores');
    out.push({ ...c, score: s.score, ...(s.comment ? { comment: s.comment } : {}) });
    weighted += (c.weight * s.score) / c.maxScore;
    weights += c.weight;
  }
  return { scores: out, totalPct: Math.round((weighted / weights) * 10_000) / 100 };
}

/** Time marks must fall within the recording (a review of an unrecorded call takes none). */
export function checkMarks(marks: ReviewMark[], durationMs: number | null): ReviewMark[] {
  for (const m of marks) {
    if (durationMs === null) throw new QaError('the call has no recording to mark; leave marks out', 400, 'marks');
    if (m.atMs > durationMs) throw new QaError(`mark at ${m.atMs} ms is past the end of the ${durationMs} ms recording`, 400, 'marks');
  }
  return [...marks].sort((a, b) => a.atMs - b.atMs);
}

export function scorecardView(s: Scorecard) {
  return {
    id: s.id, name: s.name, description: s.description, criteria: s.criteria, active: s.active,
    createdAt: s.created_at.toISOString(), updatedAt: s.updated_at.toISOString(),
  };
}

export async function getScorecard(db: Db, id: string): Promise<Scorecard> {
  const s = await db.selectFrom('scorecards').selectAll().where('id', '=', id).executeTakeFirst();
  if (!s) throw new QaError(`scorecard ${id} does not exist`, 404);
  return s;
}

async function nameFree(db: Db, name: string, except?: string): Promise<void> {
  let q = db.selectFrom('scorecards').select('id').where('name', '=', name);
  if (except) q = q.where('id', '!=', except);
  if (await q.executeTakeFirst()) throw new QaError(`a scorecard named "${name}" exists already`, 409, 'name');
}

export async function createScorecard(db: Db, input: ScorecardInput): Promise<Scorecard> {
  await nameFree(db, input.name);
  return db
    .insertInto('scorecards')
    .values({ name: input.name, description: input.description, criteria: JSON.stringify(input.criteria), active: input.active })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateScorecard(db: Db, id: string, patch: z.infer<typeof scorecardPatchSchema>): Promise<{ before: Scorecard; after: Scorecard }> {
  const before = await getScorecard(db, id);
  if (patch.name) await nameFree(db, patch.name, id);
  const after = await db
    .updateTable('scorecards')
    .set({
      name: patch.name ?? before.name, description: patch.description ?? before.description,
      criteria: JSON.stringify(patch.criteria ?? before.criteria), active: patch.active ?? before.active, updated_at: new Date(),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
  return { before, after };
}

/** Deletes a scorecard no review used; one with reviews is deactivated instead (they refer to it). */
export async function deleteScorecard(db: Db, id: string): Promise<Scorecard> {
  const s = await getScorecard(db, id);
  const used = await db.selectFrom('reviews').select('id').where('scorecard_id', '=', id).limit(1).executeTakeFirst();
  if (used) throw new QaError(`scorecard "${s.name}" has reviews; deactivate it instead (PATCH {"active": false})`, 409);
  await db.deleteFrom('scorecards').where('id', '=', id).execute();
  return s;
}
