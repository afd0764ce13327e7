// Makes Asterisk's live PJSIP configuration match the trunks and agents stored in PostgreSQL.
import type { Db } from '../db/database.js';
import type { AriGateway } from '../pbx/ari.js';
import { pushAgentEndpoint, pushTrunk, removeTrunk } from '../pbx/pjsip-config.js';

export async function syncTrunk(db: Db, ari: AriGateway, trunkId: string): Promise<void> {
  const t = await db.selectFrom('trunks').where('id', '=', trunkId).selectAll().executeTakeFirstOrThrow();
  if (!t.enabled) return removeTrunk(ari, t.name);
  await pushTrunk(ari, { name: t.name, host: t.host, port: t.port, transport: t.transport, username: t.username, password: t.password, codecs: t.codecs });
}

export async function syncAgent(db: Db, ari: AriGateway, agentId: string): Promise<void> {
  const a = await db.selectFrom('agents').where('id', '=', agentId).selectAll().executeTakeFirstOrThrow();
  await pushAgentEndpoint(ari, { endpoint: a.endpoint, password: a.sip_password, contactUri: a.contact_uri, phoneType: a.phone_type });
}

/** Pushes every trunk and agent: at start-up, and after Asterisk restarts. */
export async function syncAll(db: Db, ari: AriGateway): Promise<{ trunks: number; agents: number }> {
  const trunks = await db.selectFrom('trunks').select('id').execute();
  for (const t of trunks) await syncTrunk(db, ari, t.id);
  const agents = await db.selectFrom('agents').select('id').execute();
  for (const a of agents) await syncAgent(db, ari, a.id);
  return { trunks: trunks.length, agents: agents.length };
}
