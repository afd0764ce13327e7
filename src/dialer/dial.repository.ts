// SQL for the dial path: claiming an attempt exactly once, and writing the call (CDR) row.
import type { Db } from '../db/database.js';
import type { Attempt, CallUpdate } from '../db/schema.js';

export interface DialContext {
  attempt: Attempt;
  campaign: { id: string; name: string; recordCalls: boolean; state: string };
  contact: { id: string; name: string | null };
  trunk: { id: string; name: string; enabled: boolean };
  callerId: string;
}

export class DialSetupError extends Error {
  override readonly name = 'DialSetupError';
}

export async function loadDialContext(db: Db, attempt: Attempt): Promise<DialContext> {
  const row = await db
    .selectFrom('campaigns as c')
    .leftJoin('trunks as t', 't.id', 'c.trunk_id')
    .leftJoin('caller_ids as ci', 'ci.id', 'c.caller_id_id')
    .where('c.id', '=', attempt.campaign_id)
    .select([
      'c.id as campaign_id', 'c.name as campaign_name', 'c.record_calls', 'c.state as campaign_state',
      't.id as trunk_id', 't.name as trunk_name', 't.enabled as trunk_enabled', 'ci.number as caller_id',
    ])
    .executeTakeFirst();
  if (!row) throw new DialSetupError(`campaign ${attempt.campaign_id} of attempt ${attempt.id} does not exist`);
  if (!row.trunk_id || !row.trunk_name) throw new DialSetupError(`campaign "${row.campaign_name}" has no trunk`);
  if (!row.caller_id) throw new DialSetupError(`campaign "${row.campaign_name}" has no caller id`);
  const contact = await db.selectFrom('contacts').where('id', '=', attempt.contact_id).select(['id', 'name']).executeTakeFirst();
  if (!contact) throw new DialSetupError(`contact ${attempt.contact_id} of attempt ${attempt.id} does not exist`);
  return {
    attempt,
    campaign: { id: row.campaign_id, name: row.campaign_name, recordCalls: row.record_calls, state: row.campaign_state },
    contact,
    trunk: { id: row.trunk_id, name: row.trunk_name, enabled: row.trunk_enabled ?? false },
    callerId: row.caller_id,
  };
}

export async function insertCall(
  db: Db,
  c: { attemptId: string; campaignId: string; contactId: string; phone: string; callerId: string; trunkId: string; channelId: string },
): Promise<string> {
  const row = await db
    .insertInto('calls')
    .values({
      attempt_id: c.attemptId,
      campaign_id: c.campaignId,
      contact_id: c.contactId,
      phone: c.phone,
      caller_id: c.callerId,
      trunk_id: c.trunkId,
      channel_id: c.channelId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

export async function updateCall(db: Db, callId: string, set: CallUpdate): Promise<void> {
  await db.updateTable('calls').set(set).where('id', '=', callId).execute();
}

export async function finishAttempt(db: Db, attemptId: string, state: 'completed' | 'failed', outcome: string): Promise<void> {
  await db.updateTable('attempts').set({ state, outcome, updated_at: new Date() }).where('id', '=', attemptId).execute();
}
