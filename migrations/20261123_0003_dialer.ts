// The dialer's bookkeeping: when an attempt was handed to the queue (so a reconciler can re-enqueue
// what Redis lost), and the campaign's pacing settings.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('enqueued_at', 'timestamptz').execute();
  await db.schema
    .alterTable('campaigns')
    /** Highest abandoned / live-answered ratio the predictive pacer may reach (0.03 = 3%). */
    .addColumn('abandon_cap', 'real', (c) => c.notNull().defaultTo(0.03).check(sql`abandon_cap >= 0 and abandon_cap <= 0.5`))
    .execute();
  // The pacer's next pick: due, not yet handed to the queue, highest priority first.
  await sql`create index attempts_due_idx on attempts (campaign_id, scheduled_at) where state = 'queued' and enqueued_at is null`.execute(db);
  await sql`create index attempts_handed_idx on attempts (enqueued_at) where state = 'queued' and enqueued_at is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists attempts_due_idx`.execute(db);
  await sql`drop index if exists attempts_handed_idx`.execute(db);
  await db.schema.alterTable('campaigns').dropColumn('abandon_cap').execute();
  await db.schema.alterTable('attempts').dropColumn('enqueued_at').execute();
}
