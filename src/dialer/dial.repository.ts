// SQL for the dial path: claiming an attempt exactly once, and writing the call (CDR) row.
import type { Db } from '../db/database.js';
import type { Attempt, CallUpdate } from '../db/schema.js';
import { chooseCallerId, type CallerIdChoice } from './caller-id.js';

export interface DialContext {
  attempt: Attempt;
  campaign: { id: string; name: string; recordCalls: boolean; state: string; amd: boolean };
  contact: { id: string; name: string | null };
  trunk: { id: string; name: string; enabled: boolean };
  /** null when every number of the pool is at its daily cap. */
  callerId: string | null;
  callerIdRule: CallerIdChoice['rule'];
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
      't.id as trunk_id', 't.name as trunk_name', 't.enabled as trunk_enabled', 'ci.number as caller_id', 'c.settings',
    ])
    .executeTakeFirst();
  if (!row) throw new DialSetupError(`campaign ${attempt.campaign_id} of attempt ${attempt.id} does not exist`);
  if (!row.trunk_id || !row.trunk_name) throw new DialSetupError(`campaign "${row.campaign_name}" has no trunk`);
  if (!row.caller_id) throw new DialSetupError(`campaign "${row.campaign_name}" has no caller id`);
  const contact = await db.selectFrom('contacts').where('id', '=', attempt.contact_id).select(['id', 'name', 'called_hotline']).executeTakeFirst();
  if (!contact) throw new DialSetupError(`contact ${attempt.contact_id} of attempt ${attempt.id} does not exist`);
  // The campaign's pool with today's use of each number (UTC day), for the caller-id rules.
  const dayStart = new Date(new Date().toISOString().slice(0, 10));
  const pool = await db
    .selectFrom('campaign_caller_ids as p')
    .innerJoin('caller_ids as ci', 'ci.id', 'p.caller_id_id')
    .where('p.campaign_id', '=', attempt.campaign_id)
    .select((eb) => [
      'ci.number', 'ci.is_hotline', 'ci.daily_cap',
      eb.selectFrom('calls as c').where('c.caller_id', '=', eb.ref('ci.number')).where('c.created_at', '>=', dayStart)
        .select((e) => e.fn.countAll<string>().as('n')).as('used_today'),
    ])
    .execute();
  const choice = chooseCallerId(attempt.phone, {
    defaultNumber: row.caller_id,
    pool: pool.map((p) => ({ number: p.number, isHotline: p.is_hotline, dailyCap: p.daily_cap, usedToday: Number(p.used_today ?? 0) })),
    localPresence: row.settings.callerId !== undefined && (row.settings.callerId as { localPresence?: unknown }).localPresence === true,
    calledHotline: contact.called_hotline,
  });
  return {
    attempt,
    campaign: {
      id: row.campaign_id, name: row.campaign_name, recordCalls: row.record_calls, state: row.campaign_state,
      amd: row.settings.amd === true,
    },
    contact,
    trunk: { id: row.trunk_id, name: row.trunk_name, enabled: row.trunk_enabled ?? false },
    callerId: choice.number,
    callerIdRule: choice.rule,
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

/** Undoes a reservation that could not be dialed (no caller id under its cap): the attempt goes
 * back to the pool for `at` and will be decided again then. */
export async function releaseReservation(db: Db, attemptId: string, at: Date): Promise<void> {
  await db
    .updateTable('attempts')
    .set({ state: 'queued', dialed_at: null, enqueued_at: null, scheduled_at: at, updated_at: new Date() })
    .where('id', '=', attemptId)
    .where('state', '=', 'dialing')
    .execute();
}

export async function finishAttempt(db: Db, attemptId: string, state: 'completed' | 'failed', outcome: string): Promise<void> {
  await db.updateTable('attempts').set({ state, outcome, updated_at: new Date() }).where('id', '=', attemptId).execute();
}
