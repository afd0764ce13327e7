// What a takeover (src/dialer/takeover.ts) reads from the record: the call rows of the customer
// channels Asterisk still holds, the agents whose softphones it still holds, and those agents'
// last recorded states (when the shared board has none). Reads only: the calls are written
// through the dialer's CallWriter and the CDR code as usual.
import type { Db } from '../db/database.js';
import type { PhoneType } from '../db/schema.js';
import type { ReservedAttempt } from '../compliance/store/dial-gate.js';

export interface CallOnChannel {
  callId: string;
  channelId: string;
  attempt: ReservedAttempt;
  callerId: string;
  createdAt: Date;
  answeredAt: Date | null;
  bridgedAt: Date | null;
  endedAt: Date | null;
  agentId: string | null;
}

/** The call rows of these channels (channel ids are Dialwell's own), by channel id. */
export async function callsOfChannels(db: Db, channelIds: string[]): Promise<Map<string, CallOnChannel>> {
  if (channelIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('calls as c')
    .innerJoin('contacts as ct', 'ct.id', 'c.contact_id')
    .where('c.channel_id', 'in', channelIds)
    .select([
      'c.id', 'c.channel_id', 'c.attempt_id', 'c.campaign_id', 'c.contact_id', 'c.phone', 'c.caller_id', 'c.created_at', 'c.answered_at',
      'c.bridged_at', 'c.ended_at', 'c.agent_id', 'ct.name', 'ct.called_hotline',
    ])
    .execute();
  return new Map(rows.map((r) => [r.channel_id, {
    callId: r.id,
    channelId: r.channel_id,
    attempt: { id: r.attempt_id, phone: r.phone, campaignId: r.campaign_id, contactId: r.contact_id, contactName: r.name, calledHotline: r.called_hotline },
    callerId: r.caller_id,
    createdAt: r.created_at,
    answeredAt: r.answered_at,
    bridgedAt: r.bridged_at,
    endedAt: r.ended_at,
    agentId: r.agent_id,
  }]));
}

export interface AgentRow {
  id: string;
  name: string;
  endpoint: string;
  phoneType: PhoneType;
}

export async function agentsByIds(db: Db, ids: string[]): Promise<Map<string, AgentRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('agents').where('id', 'in', ids).select(['id', 'name', 'endpoint', 'phone_type']).execute();
  return new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, endpoint: r.endpoint, phoneType: r.phone_type }]));
}

/** Each agent's last recorded state change (agent_state_changes), by agent id. */
export async function lastAgentStates(db: Db, ids: string[]): Promise<Map<string, { state: string; at: Date; reason: string | null }>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .selectFrom('agent_state_changes')
    .where('agent_id', 'in', ids)
    .distinctOn('agent_id')
    .select(['agent_id', 'state', 'at', 'reason'])
    .orderBy('agent_id')
    .orderBy('at', 'desc')
    .execute();
  return new Map(rows.map((r) => [r.agent_id, { state: r.state, at: new Date(r.at), reason: r.reason }]));
}
