// The agents a campaign's calls go to. A campaign that lists agents is served by them alone; one
// that lists none, by every agent listed on no campaign.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('campaign_agents')
    .addColumn('campaign_id', 'uuid', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('agent_id', 'uuid', (c) => c.notNull().references('agents.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('campaign_agents_pk', ['campaign_id', 'agent_id'])
    .execute();
  await db.schema.createIndex('campaign_agents_agent_idx').on('campaign_agents').column('agent_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('campaign_agents').ifExists().execute();
}
