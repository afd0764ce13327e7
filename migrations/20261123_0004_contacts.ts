// Contacts for imports and agents: an external id from the source system, when a row last changed,
// and which agent holds the contact's data since when (taken back after a set period).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('contacts')
    .addColumn('external_id', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('assigned_agent_id', 'uuid', (c) => c.references('agents.id'))
    .addColumn('assigned_at', 'timestamptz')
    .execute();
  // An assignment always says when it began, so that it can be taken back on time.
  await sql`alter table contacts add constraint contacts_assignment_ck check ((assigned_agent_id is null) = (assigned_at is null))`.execute(db);
  // Deleting a contact (or a campaign) cascades to its attempts: without these, a row at a time
  // through the whole attempts table (a 100,000-contact delete ran for over 14 minutes).
  await sql`create index attempts_contact_idx on attempts (contact_id)`.execute(db);
  await sql`create index attempts_campaign_idx on attempts (campaign_id)`.execute(db);
  // Reclaiming reads only the (few) assigned contacts, oldest first.
  await sql`create index contacts_assigned_at_idx on contacts (assigned_at) where assigned_at is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists contacts_assigned_at_idx`.execute(db);
  await sql`drop index if exists attempts_contact_idx`.execute(db);
  await sql`drop index if exists attempts_campaign_idx`.execute(db);
  await sql`alter table contacts drop constraint if exists contacts_assignment_ck`.execute(db);
  await db.schema
    .alterTable('contacts')
    .dropColumn('assigned_at')
    .dropColumn('assigned_agent_id')
    .dropColumn('updated_at')
    .dropColumn('external_id')
    .execute();
}
