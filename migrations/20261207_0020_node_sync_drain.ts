// Per node: live PJSIP configuration that could not reach it yet (pushed by its engine when it
// can: at its start, or at its next check), and its drain (no engine takes a drained node).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('nodes')
    // The latest trunk or agent change the node did not take (unreachable): its engine syncs it.
    .addColumn('config_pending_at', 'timestamptz')
    .addColumn('config_pending_reason', 'text')
    // Objects deleted while the node was away: [{kind: 'trunk' | 'agent', name}] (a sync pushes what exists, and removes these).
    .addColumn('config_pending_removals', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    // null: in service; 'draining': its owner is finishing calls; 'drained': no engine drives it until undrained.
    .addColumn('drain_state', 'text', (c) => c.check(sql`drain_state in ('draining', 'drained')`))
    .addColumn('drain_requested_at', 'timestamptz')
    .addColumn('drained_at', 'timestamptz')
    .addColumn('drain_call_limit_ms', 'integer')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('nodes')
    .dropColumn('config_pending_at').dropColumn('config_pending_reason').dropColumn('config_pending_removals')
    .dropColumn('drain_state').dropColumn('drain_requested_at').dropColumn('drained_at').dropColumn('drain_call_limit_ms')
    .execute();
}
