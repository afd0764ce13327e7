// Retry rules per outcome, from the campaign's settings (e.g. busy: again in 10 minutes, at most
// 3 attempts; no answer: in 2 hours). A retry is a new queued attempt with a deterministic
// idempotency key; like every attempt it passes the dial-time compliance gate when it is due.
import { z } from 'zod';
import type { Db } from '../db/database.js';
import { createAttempt } from './attempts.repository.js';

const rule = z.strictObject({
  afterMinutes: z.number().min(0, 'must be 0 or more minutes').max(60 * 24 * 90, 'must be at most 90 days'),
  maxAttempts: z.int('must be a whole number').min(1).max(50),
});

export const retryRulesSchema = z
  .strictObject({
    busy: rule.optional(),
    'no-answer': rule.optional(),
    congestion: rule.optional(),
    failed: rule.optional(),
    abandoned: rule.optional(),
    machine: rule.optional(),
    rejected: rule.optional(),
  })
  .default({});

export type RetryRules = z.infer<typeof retryRulesSchema>;

/** Reads the rules from campaigns.settings.retry; invalid settings mean no retries (and say so). */
export function retryRulesOf(settings: Record<string, unknown>): { rules: RetryRules; error: string | null } {
  const parsed = retryRulesSchema.safeParse(settings.retry ?? {});
  if (parsed.success) return { rules: parsed.data, error: null };
  return { rules: {}, error: parsed.error.issues.map((i) => `retry.${i.path.join('.')}: ${i.message}`).join('; ') };
}

/**
 * Schedules the next attempt for this call's contact when its outcome has a rule and attempts are
 * left. Called by the close of the call (src/cdr/cdr.repository.ts), whoever closed it.
 */
export async function scheduleRetry(db: Db, s: { attemptId: string; outcome: string; endedAt: Date }): Promise<{ attemptId: string; at: Date } | null> {
  // No rule can name this outcome (an answered call): no query on the close's path.
  if (!(s.outcome in retryRulesSchema.unwrap().shape)) return null;
  const row = await db
    .selectFrom('attempts as a')
    .innerJoin('campaigns as c', 'c.id', 'a.campaign_id')
    .where('a.id', '=', s.attemptId)
    .select(['a.contact_id', 'a.phone', 'a.campaign_id', 'c.settings', 'c.state'])
    .executeTakeFirst();
  if (!row || row.state === 'completed') return null;
  const { rules } = retryRulesOf(row.settings);
  const r = rules[s.outcome as keyof RetryRules];
  if (!r) return null;
  const made = await db
    .selectFrom('attempts')
    .where('campaign_id', '=', row.campaign_id)
    .where('contact_id', '=', row.contact_id)
    .select((eb) => [
      eb.fn.countAll<string>().as('n'),
      // The key counts the attempts up to this one, so scheduling the same close's retry again
      // (a statement repeated after a lost connection) makes nothing new.
      eb.fn.count<string>('id').filterWhere('created_at', '<=', eb.selectFrom('attempts').where('id', '=', s.attemptId).select('created_at')).as('upTo'),
    ])
    .executeTakeFirstOrThrow();
  const n = Number(made.n);
  if (n >= r.maxAttempts) return null;
  const at = new Date(s.endedAt.getTime() + r.afterMinutes * 60_000);
  const a = await createAttempt(db, {
    campaignId: row.campaign_id, contactId: row.contact_id, phone: row.phone,
    idempotencyKey: `${row.campaign_id}:${row.contact_id}:retry:${Number(made.upTo) + 1}`, scheduledAt: at,
  });
  return a.created ? { attemptId: a.id, at } : null;
}
