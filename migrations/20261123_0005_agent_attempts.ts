// Attempts meant for one agent: a preview the agent took, or a callback an agent scheduled.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('attempts')
    /** The agent this attempt is for (preview taken, or callback "for me"); null = any agent. */
    .addColumn('agent_id', 'uuid', (c) => c.references('agents.id').onDelete('set null'))
    .addColumn('is_callback', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('note', 'text')
    .execute();
  await sql`create index attempts_callbacks_due_idx on attempts (scheduled_at) where state = 'queued' and is_callback`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists attempts_callbacks_due_idx`.execute(db);
  await db.schema.alterTable('attempts').dropColumn('agent_id').dropColumn('is_callback').dropColumn('note').execute();
}
