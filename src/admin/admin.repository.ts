// Creating the things a campaign dials with: trunks, caller ids, agents, campaigns, contacts,
// attempts. Plain functions over a Kysely instance or transaction.
import type { Db } from '../db/database.js';
import type { DialMode } from '../db/schema.js';

export async function createTrunk(
  db: Db,
  t: { name: string; host: string; port: number; transport?: 'udp' | 'tcp' | 'tls'; codecs?: string[]; username?: string; password?: string },
): Promise<{ id: string; name: string }> {
  return db
    .insertInto('trunks')
    .values({
      name: t.name,
      host: t.host,
      port: t.port,
      transport: t.transport ?? 'udp',
      codecs: t.codecs ?? ['alaw', 'ulaw'],
      username: t.username ?? null,
      password: t.password ?? null,
    })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
}

export async function createCallerId(db: Db, number: string, label = ''): Promise<{ id: string; number: string }> {
  return db.insertInto('caller_ids').values({ number, label, daily_cap: null }).returning(['id', 'number']).executeTakeFirstOrThrow();
}

export async function createAgent(
  db: Db,
  a: { name: string; endpoint: string; contactUri?: string; sipPassword?: string },
): Promise<{ id: string; name: string; endpoint: string }> {
  return db
    .insertInto('agents')
    .values({ name: a.name, endpoint: a.endpoint, contact_uri: a.contactUri ?? null, sip_password: a.sipPassword ?? null })
    .returning(['id', 'name', 'endpoint'])
    .executeTakeFirstOrThrow();
}

export async function createCampaign(
  db: Db,
  c: {
    name: string; trunkId: string; callerIdId: string; dialMode?: DialMode; recordCalls?: boolean; state?: 'draft' | 'running';
    policyName?: string | null; product?: string | null;
  },
): Promise<{ id: string; name: string }> {
  return db
    .insertInto('campaigns')
    .values({
      name: c.name,
      trunk_id: c.trunkId,
      caller_id_id: c.callerIdId,
      dial_mode: c.dialMode ?? 'progressive',
      record_calls: c.recordCalls ?? true,
      state: c.state ?? 'draft',
      policy_name: c.policyName ?? null,
      product: c.product ?? null,
    })
    .returning(['id', 'name'])
    .executeTakeFirstOrThrow();
}

export async function addContact(
  db: Db,
  c: { campaignId: string; phone: string; name?: string; segment?: string; timeZone?: string },
): Promise<{ id: string; phone: string }> {
  return db
    .insertInto('contacts')
    .values({ campaign_id: c.campaignId, phone: c.phone, name: c.name ?? null, segment: c.segment ?? null, time_zone: c.timeZone ?? null })
    .onConflict((oc) => oc.columns(['campaign_id', 'phone']).doUpdateSet({ name: (eb) => eb.ref('excluded.name') }))
    .returning(['id', 'phone'])
    .executeTakeFirstOrThrow();
}

// Attempts are the dialer's (src/dialer/attempts.repository.ts).
export { createAttempt } from '../dialer/attempts.repository.js';
