// Compliance: versioned policies, do-not-call lists (manual/complaint entries and bulk registry
// imports), protected numbers, stored decisions, and the attempt columns caps are counted from.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const now = sql`now()`;

  await db.schema
    .createTable('policies')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('version', 'integer', (c) => c.notNull())
    /** The validated policy document; rows are never updated, a change is a new version. */
    .addColumn('document', 'jsonb', (c) => c.notNull())
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('policies_name_version_uq', ['name', 'version'])
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .alterTable('campaigns')
    .addColumn('policy_name', 'text')
    .addColumn('product', 'text')
    .execute();

  await db.schema
    .alterTable('attempts')
    .addColumn('product', 'text')
    .addColumn('refused', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('decision_id', 'uuid')
    .execute();
  // Caps count dialed attempts per number across all campaigns.
  await sql`create index attempts_phone_dialed_idx on attempts (phone, dialed_at) where dialed_at is not null`.execute(db);
  // "Stop after N refusals" counts all-time refusals per number: a small partial index.
  await sql`create index attempts_phone_refused_idx on attempts (phone, product) where refused`.execute(db);

  // Entries from people and processes: manual, API, complaints, dispositions; global or per campaign.
  await db.schema
    .createTable('dnc_entries')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('phone', 'text', (c) => c.notNull().check(sql`phone ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('campaign_id', 'uuid', (c) => c.references('campaigns.id').onDelete('cascade'))
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('manual','api','complaint','disposition','import')`))
    .addColumn('reason', 'text')
    .addColumn('expires_at', 'timestamptz')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await sql`create unique index dnc_entries_phone_list_uq on dnc_entries (phone, coalesce(campaign_id, '00000000-0000-0000-0000-000000000000'::uuid))`.execute(db);

  // Bulk registry imports (millions of numbers): E.164 digits as bigint, one row per number.
  await db.schema
    .createTable('dnc_registry')
    .addColumn('phone', 'bigint', (c) => c.primaryKey())
    .addColumn('registry', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'timestamptz')
    .execute();

  await db.schema
    .createTable('dnc_audit')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull().check(sql`action in ('add','remove','import')`))
    .addColumn('phone', 'text')
    .addColumn('campaign_id', 'uuid')
    .addColumn('detail', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();

  await db.schema
    .createTable('protected_numbers')
    .addColumn('phone', 'text', (c) => c.notNull().check(sql`phone ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('list', 'text', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addPrimaryKeyConstraint('protected_numbers_pk', ['phone', 'list'])
    .execute();

  await db.schema
    .createTable('decisions')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('attempt_id', 'uuid', (c) => c.references('attempts.id').onDelete('cascade'))
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('campaign_id', 'uuid')
    .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
    .addColumn('allowed', 'boolean', (c) => c.notNull())
    // json, not jsonb: stored as written and never queried inside; parsing ~4 KB into jsonb on
    // every decision cost ~12% of the gate's throughput (bench/eligibility.ts).
    .addColumn('reasons', 'json', (c) => c.notNull())
    .addColumn('time_zones', sql`text[]`, (c) => c.notNull())
    .addColumn('policy_versions', 'json', (c) => c.notNull())
    .addColumn('next_allowed_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('decisions_attempt_idx').on('decisions').columns(['attempt_id', 'decided_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['decisions', 'protected_numbers', 'dnc_audit', 'dnc_registry', 'dnc_entries', 'settings', 'policies']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
  await sql`drop index if exists attempts_phone_dialed_idx`.execute(db);
  await sql`drop index if exists attempts_phone_refused_idx`.execute(db);
  await db.schema.alterTable('attempts').dropColumn('product').dropColumn('refused').dropColumn('decision_id').execute();
  await db.schema.alterTable('campaigns').dropColumn('policy_name').dropColumn('product').execute();
}
