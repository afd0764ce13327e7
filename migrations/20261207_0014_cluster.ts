// Several processes over one database and one Redis: this installation's id (its BullMQ key
// prefix, so installations sharing a Redis never take each other's jobs), leases (who runs a
// singleton or owns a node now, with a fencing epoch), and the Asterisk nodes.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Random, made once: a copy of this database restored elsewhere must be given a new one.
  await sql`insert into settings (key, value) values ('installation_id', to_jsonb(gen_random_uuid()::text)) on conflict (key) do nothing`.execute(db);

  await db.schema
    .createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    // Grows by one whenever the lease changes hands: writes fenced by it fail for a stale owner.
    .addColumn('epoch', 'bigint', (c) => c.notNull().defaultTo(1))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('acquired_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('renewed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('nodes')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('ari_url', 'text', (c) => c.notNull())
    .addColumn('ari_user', 'text', (c) => c.notNull())
    .addColumn('ari_password', 'text', (c) => c.notNull())
    .addColumn('ami_host', 'text', (c) => c.notNull())
    .addColumn('ami_port', 'integer', (c) => c.notNull().defaultTo(5038))
    .addColumn('ami_user', 'text', (c) => c.notNull())
    .addColumn('ami_password', 'text', (c) => c.notNull())
    .addColumn('sip_address', 'text', (c) => c.notNull())
    .addColumn('cel_file', 'text')
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  // Which node placed the call (its owner's writes are fenced by that node's lease).
  await db.schema.alterTable('calls').addColumn('node_id', 'uuid', (c) => c.references('nodes.id').onDelete('set null')).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('calls').dropColumn('node_id').execute();
  await db.schema.dropTable('nodes').ifExists().execute();
  await db.schema.dropTable('leases').ifExists().execute();
  await sql`delete from settings where key = 'installation_id'`.execute(db);
}
