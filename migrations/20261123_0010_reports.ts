// What reports need that was not stored: the disposition's result and time (wrap-up ends there),
// and each agent's state changes (logged-in time for talk utilisation; the pool keeps only the
// current state in memory).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('attempts')
    .addColumn('disposition_result', 'text')
    .addColumn('disposed_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('agent_state_changes')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('agent_id', 'uuid', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('at', 'timestamptz', (c) => c.notNull())
    .execute();
  await sql`create index agent_state_changes_agent_at_idx on agent_state_changes (agent_id, at)`.execute(db);
  // Agent reports select calls by agent over a period: calls_agent_created_idx (0009) serves them.
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('agent_state_changes').ifExists().execute();
  await db.schema.alterTable('attempts').dropColumn('disposition_result').dropColumn('disposed_at').execute();
}
