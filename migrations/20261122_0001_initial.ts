// The first tables: campaigns, contacts, attempts, calls (CDR), recordings, agents, trunks, caller ids.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const now = sql`now()`;
  const uuid = sql`gen_random_uuid()`;

  await db.schema
    .createTable('trunks')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('name', 'text', (c) => c.notNull().unique().check(sql`name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'`))
    .addColumn('host', 'text', (c) => c.notNull())
    .addColumn('port', 'integer', (c) => c.notNull().defaultTo(5060))
    .addColumn('transport', 'text', (c) => c.notNull().defaultTo('udp').check(sql`transport in ('udp','tcp','tls')`))
    .addColumn('username', 'text')
    .addColumn('password', 'text')
    .addColumn('codecs', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{alaw,ulaw}'`))
    .addColumn('max_channels', 'integer', (c) => c.notNull().defaultTo(100))
    .addColumn('max_cps', 'integer', (c) => c.notNull().defaultTo(20))
    .addColumn('enabled', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('caller_ids')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('number', 'text', (c) => c.notNull().unique().check(sql`number ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('label', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('is_hotline', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('daily_cap', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('agents')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('name', 'text', (c) => c.notNull())
    // "trunk-" names belong to trunks' PJSIP objects (src/pbx/pjsip-config.ts).
    .addColumn('endpoint', 'text', (c) => c.notNull().unique().check(sql`endpoint ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$' and endpoint not like 'trunk-%'`))
    .addColumn('sip_password', 'text')
    /** Where the softphone is when it does not register (e.g. sip:127.0.0.1:5080). */
    .addColumn('contact_uri', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('draft').check(sql`state in ('draft','running','paused','completed')`))
    .addColumn('dial_mode', 'text', (c) => c.notNull().defaultTo('progressive').check(sql`dial_mode in ('preview','progressive','predictive')`))
    .addColumn('trunk_id', 'uuid', (c) => c.references('trunks.id'))
    .addColumn('caller_id_id', 'uuid', (c) => c.references('caller_ids.id'))
    .addColumn('default_country', 'text', (c) => c.notNull().defaultTo('US'))
    .addColumn('max_concurrent', 'integer', (c) => c.notNull().defaultTo(10))
    .addColumn('max_cps', 'integer', (c) => c.notNull().defaultTo(5))
    .addColumn('record_calls', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('settings', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('contacts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('campaign_id', 'uuid', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('phone', 'text', (c) => c.notNull().check(sql`phone ~ '^\\+[1-9][0-9]{6,14}$'`))
    .addColumn('name', 'text')
    .addColumn('segment', 'text')
    .addColumn('time_zone', 'text')
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('priority', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addUniqueConstraint('contacts_campaign_phone_uq', ['campaign_id', 'phone'])
    .execute();

  await db.schema
    .createTable('attempts')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('campaign_id', 'uuid', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('queued')
      .check(sql`state in ('queued','dialing','completed','skipped','failed','cancelled')`))
    .addColumn('idempotency_key', 'text', (c) => c.notNull().unique())
    .addColumn('scheduled_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('dialed_at', 'timestamptz')
    .addColumn('outcome', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();

  await db.schema
    .createTable('calls')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    /** One call (CDR) per attempt that reached Asterisk. */
    .addColumn('attempt_id', 'uuid', (c) => c.notNull().unique().references('attempts.id'))
    .addColumn('campaign_id', 'uuid', (c) => c.notNull().references('campaigns.id'))
    .addColumn('contact_id', 'uuid', (c) => c.notNull().references('contacts.id'))
    .addColumn('phone', 'text', (c) => c.notNull())
    .addColumn('caller_id', 'text', (c) => c.notNull())
    .addColumn('trunk_id', 'uuid', (c) => c.notNull().references('trunks.id'))
    .addColumn('agent_id', 'uuid', (c) => c.references('agents.id'))
    .addColumn('channel_id', 'text', (c) => c.notNull().unique())
    .addColumn('bridge_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .addColumn('ringing_at', 'timestamptz')
    .addColumn('answered_at', 'timestamptz')
    .addColumn('bridged_at', 'timestamptz')
    .addColumn('ended_at', 'timestamptz')
    .addColumn('hangup_cause', 'integer')
    .addColumn('hangup_cause_text', 'text')
    .addColumn('outcome', 'text')
    .execute();
  await db.schema.createIndex('calls_campaign_created_idx').on('calls').columns(['campaign_id', 'created_at']).execute();

  await db.schema
    .createTable('recordings')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(uuid))
    .addColumn('call_id', 'uuid', (c) => c.notNull().references('calls.id'))
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('storage_key', 'text', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull())
    .addColumn('duration_ms', 'integer', (c) => c.notNull())
    .addColumn('size_bytes', 'bigint', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull().check(sql`sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(now))
    .execute();
  await db.schema.createIndex('recordings_call_idx').on('recordings').column('call_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['recordings', 'calls', 'attempts', 'contacts', 'campaigns', 'agents', 'caller_ids', 'trunks']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
