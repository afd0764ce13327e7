// Agents and dial attempts across nodes: an agent belongs to one node (their softphone is called
// from it; null = the default node, the first enabled one), and an attempt handed to the dial
// queue records the node whose queue it went to (the queue reconciler puts it back there, or
// picks again when that node is gone or disabled).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agents').addColumn('node_id', 'uuid', (c) => c.references('nodes.id').onDelete('set null')).execute();
  await db.schema.alterTable('attempts').addColumn('node_id', 'uuid', (c) => c.references('nodes.id').onDelete('set null')).execute();
  // A pacer reads every node's attempts being dialed each tick (cluster-view.ts).
  await sql`create index attempts_dialing_idx on attempts (node_id) where state = 'dialing'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists attempts_dialing_idx`.execute(db);
  await db.schema.alterTable('attempts').dropColumn('node_id').execute();
  await db.schema.alterTable('agents').dropColumn('node_id').execute();
}
