// The attempts table's writes from outside the dial path: creating attempts (a contact's initial
// one, a retry, a callback), cancelling what a completed campaign still had queued, and the
// agent's disposition on an attempt. With dial.repository.ts (claiming, releasing, finishing an
// attempt) and the call's close (src/cdr/cdr.repository.ts, which sets the attempt's outcome in the
// same statement), every write to `attempts` goes through src/dialer/.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

/** A queued attempt; the idempotency key makes creating the same attempt twice a no-op. */
export async function createAttempt(
  db: Db,
  a: { campaignId: string; contactId: string; phone: string; idempotencyKey: string; scheduledAt?: Date },
): Promise<{ id: string; created: boolean }> {
  const inserted = await db
    .insertInto('attempts')
    .values({
      campaign_id: a.campaignId,
      contact_id: a.contactId,
      phone: a.phone,
      idempotency_key: a.idempotencyKey,
      scheduled_at: a.scheduledAt ?? new Date(),
    })
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return { id: inserted.id, created: true };
  const existing = await db.selectFrom('attempts').where('idempotency_key', '=', a.idempotencyKey).select('id').executeTakeFirstOrThrow();
  return { id: existing.id, created: false };
}

/** Gives each contact with one of these phones its initial queued attempt, unless it has it already; returns how many were created. */
export async function createInitialAttempts(db: Db, campaignId: string, phones: readonly string[]): Promise<number> {
  if (phones.length === 0) return 0;
  const created = await db
    .insertInto('attempts')
    .columns(['campaign_id', 'contact_id', 'phone', 'idempotency_key'])
    .expression(
      db
        .selectFrom('contacts')
        .where('campaign_id', '=', campaignId)
        .where('phone', '=', sql<string>`any(${sql.val([...phones])}::text[])`)
        .orderBy('phone')
        .select([
          'campaign_id',
          'id',
          'phone',
          // Kept in step with initialAttemptKey().
          sql<string>`campaign_id::text || ':' || id::text || ':initial'`.as('idempotency_key'),
        ]),
    )
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returning('id')
    .execute();
  return created.length;
}

/** Marks a new attempt as a callback, for an agent (null: anyone), with the agent's note. */
export async function markCallback(db: Db, attemptId: string, c: { agentId: string | null; note: string | null }): Promise<void> {
  await db.updateTable('attempts').set({ is_callback: true, agent_id: c.agentId, note: c.note }).where('id', '=', attemptId).execute();
}

/** A completed campaign dials nothing more: what was still queued is cancelled. Returns how many. */
export async function cancelQueuedAttempts(trx: Db, campaignId: string, at: Date): Promise<number> {
  const r = await trx.updateTable('attempts').set({ state: 'cancelled', updated_at: at }).where('campaign_id', '=', campaignId).where('state', '=', 'queued').executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** The agent's wrap-up on the attempt (src/compliance/store/disposition.repository.ts, in its transaction). */
export async function setAttemptDisposition(
  trx: Db,
  attemptId: string,
  d: { refused: boolean; result: string; at: Date; product?: string | null },
): Promise<void> {
  await trx
    .updateTable('attempts')
    .set({ refused: d.refused, updated_at: new Date(), disposition_result: d.result, disposed_at: d.at, ...(d.product ? { product: d.product } : {}) })
    .where('id', '=', attemptId)
    .execute();
}
