// SQL for the dial path: claiming an attempt exactly once, and writing the call (CDR) row.
import type { Db } from '../db/database.js';
import type { ReservedAttempt } from '../compliance/store/dial-gate.js';
import type { CallUpdate } from '../db/schema.js';
import { chooseCallerId, type CallerIdChoice } from './caller-id.js';

export interface DialContext {
  attempt: ReservedAttempt;
  campaign: {
    id: string; name: string; recordCalls: boolean; state: string; amd: boolean; informationMessage: string[] | null;
    /** Played to the customer of a recorded call before the agent joins. */
    recordingAnnouncement?: string[] | null;
  };
  contact: { id: string; name: string | null };
  trunk: { id: string; name: string; enabled: boolean };
  /** null when every number of the pool is at its daily cap. */
  callerId: string | null;
  callerIdRule: CallerIdChoice['rule'];
}

export class DialSetupError extends Error {
  override readonly name = 'DialSetupError';
}

interface CampaignDialSetup {
  campaign: DialContext['campaign'];
  trunk: DialContext['trunk'];
  defaultCallerId: string;
  localPresence: boolean;
  pool: { number: string; isHotline: boolean; dailyCap: number | null }[];
}

/**
 * What a campaign dials with (trunk, caller ids, settings), cached for a second: it is the same
 * for every call of the campaign, and reading it per call cost three queries on the hot path.
 */
export class DialContextLoader {
  private readonly cache = new Map<string, { at: number; setup: CampaignDialSetup }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 1000,
  ) {}

  private async setup(campaignId: string): Promise<CampaignDialSetup> {
    const hit = this.cache.get(campaignId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.setup;
    const row = await this.db
      .selectFrom('campaigns as c')
      .leftJoin('trunks as t', 't.id', 'c.trunk_id')
      .leftJoin('caller_ids as ci', 'ci.id', 'c.caller_id_id')
      .where('c.id', '=', campaignId)
      .select([
        'c.id as campaign_id', 'c.name as campaign_name', 'c.record_calls', 'c.state as campaign_state',
        't.id as trunk_id', 't.name as trunk_name', 't.enabled as trunk_enabled', 'ci.number as caller_id', 'c.settings',
      ])
      .executeTakeFirst();
    if (!row) throw new DialSetupError(`campaign ${campaignId} does not exist`);
    if (!row.trunk_id || !row.trunk_name) throw new DialSetupError(`campaign "${row.campaign_name}" has no trunk`);
    if (!row.caller_id) throw new DialSetupError(`campaign "${row.campaign_name}" has no caller id`);
    const pool = await this.db
      .selectFrom('campaign_caller_ids as p')
      .innerJoin('caller_ids as ci', 'ci.id', 'p.caller_id_id')
      .where('p.campaign_id', '=', campaignId)
      // A number restricted to some trunks is presented only on those.
      .where((eb) => eb.or([
        eb.not(eb.exists(eb.selectFrom('caller_id_trunks as ct').select('ct.trunk_id').whereRef('ct.caller_id_id', '=', 'ci.id'))),
        eb.exists(eb.selectFrom('caller_id_trunks as ct').select('ct.trunk_id').whereRef('ct.caller_id_id', '=', 'ci.id').where('ct.trunk_id', '=', row.trunk_id!)),
      ]))
      .select(['ci.number', 'ci.is_hotline', 'ci.daily_cap'])
      .execute();
    const setup: CampaignDialSetup = {
      campaign: {
        id: row.campaign_id, name: row.campaign_name, recordCalls: row.record_calls, state: row.campaign_state,
        amd: row.settings.amd === true,
        informationMessage: Array.isArray(row.settings.informationMessage) ? (row.settings.informationMessage as string[]) : null,
        recordingAnnouncement: Array.isArray(row.settings.recordingAnnouncement) ? (row.settings.recordingAnnouncement as string[]) : null,
      },
      trunk: { id: row.trunk_id, name: row.trunk_name, enabled: row.trunk_enabled ?? false },
      defaultCallerId: row.caller_id,
      localPresence: (row.settings.callerId as { localPresence?: unknown } | undefined)?.localPresence === true,
      pool: pool.map((p) => ({ number: p.number, isHotline: p.is_hotline, dailyCap: p.daily_cap })),
    };
    this.cache.set(campaignId, { at: Date.now(), setup });
    return setup;
  }

  async load(attempt: ReservedAttempt): Promise<DialContext> {
    const s = await this.setup(attempt.campaignId);
    // Today's use (UTC day) is read only when some number of the pool has a daily cap.
    const used = new Map<string, number>();
    const capped = s.pool.filter((p) => p.dailyCap !== null).map((p) => p.number);
    if (capped.length > 0) {
      const dayStart = new Date(new Date().toISOString().slice(0, 10));
      const rows = await this.db
        .selectFrom('calls')
        .where('caller_id', 'in', capped)
        .where('created_at', '>=', dayStart)
        .select(['caller_id', (eb) => eb.fn.countAll<string>().as('n')])
        .groupBy('caller_id')
        .execute();
      for (const r of rows) used.set(r.caller_id, Number(r.n));
    }
    const choice = chooseCallerId(attempt.phone, {
      defaultNumber: s.defaultCallerId,
      pool: s.pool.map((p) => ({ ...p, usedToday: used.get(p.number) ?? 0 })),
      localPresence: s.localPresence,
      calledHotline: attempt.calledHotline,
    });
    return {
      attempt,
      campaign: s.campaign,
      contact: { id: attempt.contactId, name: attempt.contactName },
      trunk: s.trunk,
      callerId: choice.number,
      callerIdRule: choice.rule,
    };
  }
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

/** The call's end and its attempt's outcome, in one statement; only a call still open is closed
 * (the CDR reconciler may have closed it from Asterisk's record first: that close stands). */
export async function closeCall(db: Db, callId: string, attemptId: string, set: CallUpdate, attempt: { state: 'completed' | 'failed'; outcome: string }): Promise<boolean> {
  const r = await db
    .with('c', (q) => q.updateTable('calls').set(set).where('id', '=', callId).where('ended_at', 'is', null).returning('attempt_id'))
    .updateTable('attempts')
    .set({ state: attempt.state, outcome: attempt.outcome, updated_at: new Date() })
    .where('id', '=', attemptId)
    .where('id', 'in', (eb) => eb.selectFrom('c').select('attempt_id'))
    .returning('id')
    .execute();
  return r.length > 0;
}

export async function finishAttempt(db: Db, attemptId: string, state: 'completed' | 'failed', outcome: string): Promise<void> {
  await db.updateTable('attempts').set({ state, outcome, updated_at: new Date() }).where('id', '=', attemptId).execute();
}
