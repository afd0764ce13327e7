// An agent's phone: a SIP softphone or desk phone ('sip', as before), or the browser itself
// ('webrtc': JsSIP over Asterisk's websocket transport, DTLS-SRTP, opus).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('agents')
    .addColumn('phone_type', 'text', (c) => c.notNull().defaultTo('sip').check(sql`phone_type in ('sip', 'webrtc')`))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('agents').dropColumn('phone_type').execute();
}
