// Why an agent changed state: the logout reason (requested, softphone hung up, lost, shutdown) or
// the pause reason, beside the state in agent_state_changes.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_state_changes').addColumn('reason', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agent_state_changes').dropColumn('reason').execute();
}
