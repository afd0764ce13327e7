// How each call ended and what became of its recording (issue 12), and the call's own events
// (issue 11: hold, resume, transfer, hang-up asked by a person): calls.ended_by says who or what
// ended the call; calls.recording_status says whether its recording was stored, or is flagged
// missing or failed (a recording row always describes a file; a lost one is flagged on the call).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('calls')
    .addColumn('ended_by', 'text')
    // pending: the call has ended and its recording is being fetched from Asterisk.
    .addColumn('recording_status', 'text', (c) => c.check(sql`recording_status in ('pending','stored','missing','failed')`))
    .execute();
  await db.schema
    .createTable('call_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('call_id', 'uuid', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    /** hold, resume, transfer, hangup, closing-message */
    .addColumn('kind', 'text', (c) => c.notNull())
    /** Who asked (a user's name, or "system"). */
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'uuid', (c) => c.references('agents.id').onDelete('set null'))
    .addColumn('details', 'jsonb')
    .execute();
  await db.schema.createIndex('call_events_call_idx').on('call_events').columns(['call_id', 'at']).execute();
  // Open recordings for the fault suite and operators: a flagged call is found without a scan.
  await sql`create index calls_recording_flagged_idx on calls (created_at) where recording_status in ('pending','missing','failed')`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('call_events').ifExists().execute();
  await sql`drop index if exists calls_recording_flagged_idx`.execute(db);
  await sql`alter table calls drop column if exists ended_by, drop column if exists recording_status`.execute(db);
}
