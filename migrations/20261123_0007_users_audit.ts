// Users, roles and API tokens (stored as SHA-256 hashes, shown once); the audit log of every
// configuration change and every access to a recording or an unmasked number; and the trunks
// each caller id may be presented on; policies can be retired.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('role', 'text', (c) => c.notNull().check(sql`role in ('admin','supervisor','agent','qa')`))
    /** The agent this user works as (role agent only). */
    .addColumn('agent_id', 'uuid', (c) => c.references('agents.id').onDelete('set null'))
    .addColumn('view_numbers', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('api_tokens')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique().check(sql`token_hash ~ '^[0-9a-f]{64}$'`))
    /** The first characters of the token, so that a user can tell tokens apart without the secret. */
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('api_tokens_user_idx').on('api_tokens').column('user_id').execute();

  await db.schema
    .createTable('audit_log')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('user_id', 'uuid')
    /** Who, as a name: a user's name, or "cli", "system". Kept when the user is deleted. */
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('resource', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text')
    .addColumn('before', 'jsonb')
    .addColumn('after', 'jsonb')
    .addColumn('details', 'jsonb')
    .execute();
  await db.schema.createIndex('audit_log_at_idx').on('audit_log').column('at').execute();
  await db.schema.createIndex('audit_log_resource_idx').on('audit_log').columns(['resource', 'resource_id']).execute();

  await db.schema
    .createTable('caller_id_trunks')
    .addColumn('caller_id_id', 'uuid', (c) => c.notNull().references('caller_ids.id').onDelete('cascade'))
    .addColumn('trunk_id', 'uuid', (c) => c.notNull().references('trunks.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('caller_id_trunks_pk', ['caller_id_id', 'trunk_id'])
    .execute();

  // Deleting a policy retires it: stored decisions still name its versions, so rows stay.
  await db.schema.alterTable('policies').addColumn('retired_at', 'timestamptz').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('policies').dropColumn('retired_at').execute();
  for (const t of ['caller_id_trunks', 'audit_log', 'api_tokens', 'users']) await db.schema.dropTable(t).ifExists().execute();
}
