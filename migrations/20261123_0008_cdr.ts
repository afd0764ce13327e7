// The CDR, completed (issue 5): durations, the disposition and the recording of each call, and
// what Asterisk's own record said, with a note when Dialwell closed the call from that record
// (after a crash, restart or lost websocket) rather than from its live ARI events. Calls Asterisk
// saw on a Dialwell trunk that have no call row are kept apart in asterisk_orphan_calls.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('calls')
    // Stored when the call ends (wrap-up when the disposition arrives): reports read them as they are.
    .addColumn('ring_ms', 'integer')
    .addColumn('talk_ms', 'integer')
    // Null when holds could not be observed (a call closed from Asterisk's record).
    .addColumn('hold_ms', 'integer')
    .addColumn('wrapup_ms', 'integer')
    .addColumn('disposition', 'text')
    .addColumn('disposition_at', 'timestamptz')
    .addColumn('recording_id', 'uuid', (c) => c.references('recordings.id'))
    .addColumn('reconciled_from', 'text', (c) => c.check(sql`reconciled_from in ('asterisk-cel','asterisk-cdr','no-record')`))
    .addColumn('reconciled_at', 'timestamptz')
    .addColumn('asterisk_uniqueid', 'text')
    .addColumn('asterisk_linkedid', 'text')
    .addColumn('asterisk_disposition', 'text')
    .execute();
  // The reconciler looks for calls left open.
  await sql`create index calls_open_idx on calls (created_at) where ended_at is null`.execute(db);

  await db.schema
    .createTable('asterisk_orphan_calls')
    .addColumn('uniqueid', 'text', (c) => c.primaryKey())
    .addColumn('linkedid', 'text')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('trunk_id', 'uuid', (c) => c.references('trunks.id'))
    .addColumn('destination', 'text')
    .addColumn('started_at', 'timestamptz')
    .addColumn('answered_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('disposition', 'text')
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('asterisk-cel','asterisk-cdr')`))
    .addColumn('record', 'jsonb', (c) => c.notNull())
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('asterisk_orphan_calls').ifExists().execute();
  await sql`drop index if exists calls_open_idx`.execute(db);
  const cols = ['ring_ms', 'talk_ms', 'hold_ms', 'wrapup_ms', 'disposition', 'disposition_at', 'recording_id', 'reconciled_from', 'reconciled_at', 'asterisk_uniqueid', 'asterisk_linkedid', 'asterisk_disposition'];
  await sql.raw(`alter table calls ${cols.map((c) => `drop column if exists ${c}`).join(', ')}`).execute(db);
}
