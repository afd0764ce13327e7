// Caller ID pools: the numbers a campaign may present, and the hotline a contact called in on.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('campaign_caller_ids')
    .addColumn('campaign_id', 'uuid', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('caller_id_id', 'uuid', (c) => c.notNull().references('caller_ids.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('campaign_caller_ids_pk', ['campaign_id', 'caller_id_id'])
    .execute();
  await db.schema.alterTable('contacts').addColumn('called_hotline', 'text').execute();
  // Daily caps count today's calls per presented number.
  await db.schema.createIndex('calls_caller_id_created_idx').on('calls').columns(['caller_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('calls_caller_id_created_idx').ifExists().execute();
  await db.schema.alterTable('contacts').dropColumn('called_hotline').execute();
  await db.schema.dropTable('campaign_caller_ids').ifExists().execute();
}
