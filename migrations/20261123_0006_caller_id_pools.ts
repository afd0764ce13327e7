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
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('contacts').dropColumn('called_hotline').execute();
  await db.schema.dropTable('campaign_caller_ids').ifExists().execute();
}
