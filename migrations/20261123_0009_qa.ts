// Recordings and QA review: recordings keep their metadata when purged (purged_at); scorecards,
// reviews of calls against them, and complaints against calls. (The attempt's wrap-up result, which
// QA searches by, is attempts.disposition_result, added with the reports in 0010.)
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const now = sql`now()`;
  const uuid = sql`gen_random_uuid()`;

  await db.schema
    .alterTable('recordings')
    /** When retention deleted the file; the row (metadata, hash) stays as the record of the call. */
    .addColumn('purged_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('recordings_started_idx').on('recordings').column('started_at').where(sql.ref('purged_at'), 'is', null).execute();

  await db.schema.createIndex('calls_created_idx').on('calls').column('created_at').execute();
  await db.schema.createIndex('calls_agent_created_idx').on('calls').columns(['agent_id', 'created_at']).execute();
  // QA's number search is an exact match.
  await db.schema.createIndex('calls_phone_idx').on('calls').column('phone').execute();

  await db.schema
    .createTable('scorecards')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    /** [{key, label, weight, maxScore}], validated by src/qa/scorecards.ts. */
    .addColumn('criteria', 'jsonb', (c) => c.notNull())
    .addColumn('active', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('reviews')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('call_id', 'uuid', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('recording_id', 'uuid', (c) => c.references('recordings.id').onDelete('set null'))
    .addColumn('scorecard_id', 'uuid', (c) => c.notNull().references('scorecards.id'))
    /** The agent reviewed (the call's agent), kept here for per-agent summaries. */
    .addColumn('agent_id', 'uuid', (c) => c.references('agents.id').onDelete('set null'))
    .addColumn('reviewer_id', 'uuid', (c) => c.references('users.id').onDelete('set null'))
    .addColumn('reviewer', 'text', (c) => c.notNull())
    /** Per criterion: the score with the weight and maximum it was given under (a snapshot of the scorecard). */
    .addColumn('scores', 'jsonb', (c) => c.notNull())
    .addColumn('total_pct', 'double precision', (c) => c.notNull().check(sql`total_pct >= 0 and total_pct <= 100`))
    .addColumn('comment', 'text')
    /** [{atMs, note}]: time marks in the recording. */
    .addColumn('marks', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('reviews_call_idx').on('reviews').column('call_id').execute();
  await db.schema.createIndex('reviews_agent_created_idx').on('reviews').columns(['agent_id', 'created_at']).execute();

  await db.schema
    .createTable('complaints')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('call_id', 'uuid', (c) => c.notNull().references('calls.id').onDelete('cascade'))
    .addColumn('recording_id', 'uuid', (c) => c.references('recordings.id').onDelete('set null'))
    .addColumn('summary', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('open').check(sql`status in ('open','in-review','resolved','rejected')`))
    /** The last day (UTC calendar date) by which it must be answered. */
    .addColumn('due_on', 'date', (c) => c.notNull())
    .addColumn('resolution', 'text')
    .addColumn('opened_by', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('complaints_status_due_idx').on('complaints').columns(['status', 'due_on']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['complaints', 'reviews', 'scorecards']) await db.schema.dropTable(t).ifExists().execute();
  for (const i of ['calls_phone_idx', 'calls_agent_created_idx', 'calls_created_idx', 'recordings_started_idx']) await db.schema.dropIndex(i).ifExists().execute();
  await db.schema.alterTable('recordings').dropColumn('purged_at').execute();
}
