// SQL for the dial path: what a campaign dials with, the call of a channel, and releasing or
// finishing an attempt that was not dialed. (The call (CDR) row is written by src/cdr/cdr.repository.ts.)
import { healthOf, type Db } from '../db/database.js';
import { retryWhileUnreachable } from '../db/health.js';
import type { ReservedAttempt } from '../compliance/store/dial-gate.js';
import { chooseCallerId, type CallerIdChoice } from './caller-id.js';

export interface DialContext {
  attempt: ReservedAttempt;
  campaign: {
    id: string; name: string; recordCalls: boolean; state: string; amd: boolean; informationMessage: string[] | null;
    /** The campaign's ring timeout (null: the dialer's default) and its own compliance policy (the global one applies too), whose minimum ring time bounds it. */
    ringTimeoutSeconds?: number | null;
    policyName?: string | null;
    /** Played to the customer of a recorded call before the agent joins. */
    recordingAnnouncement?: string[] | null;
    /** The longest an answered call may last (seed rule 12): the campaign's, or its policies'
     * dialing.maxCallSeconds when lower (Dialer.dial); null = no limit. */
    maxCallSeconds?: number | null;
    /** What the customer hears before Dialwell ends the call (ARI media); null = the dialer's stock one. */
    closingMessage?: string[] | null;
  };
  contact: { id: string; name: string | null };
  /** maxCps and maxChannels: the trunk's limits, held across every node (TrunkLimiter). */
  trunk: { id: string; name: string; enabled: boolean; maxCps: number; maxChannels: number };
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
 * Concurrent dials that find it expired share one read.
 */
export class DialContextLoader {
  private readonly cache = new Map<string, { at: number; setup: Promise<CampaignDialSetup> }>();

  constructor(
    private readonly db: Db,
    private readonly ttlMs = 1000,
  ) {}

  private setup(campaignId: string): Promise<CampaignDialSetup> {
    const hit = this.cache.get(campaignId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.setup;
    const entry = { at: Date.now(), setup: this.read(campaignId) };
    this.cache.set(campaignId, entry);
    // A failed read is not kept: the next dial reads again.
    entry.setup.catch(() => {
      if (this.cache.get(campaignId) === entry) this.cache.delete(campaignId);
    });
    return entry.setup;
  }

  private async read(campaignId: string): Promise<CampaignDialSetup> {
    const row = await this.db
      .selectFrom('campaigns as c')
      .leftJoin('trunks as t', 't.id', 'c.trunk_id')
      .leftJoin('caller_ids as ci', 'ci.id', 'c.caller_id_id')
      .where('c.id', '=', campaignId)
      .select([
        'c.id as campaign_id', 'c.name as campaign_name', 'c.record_calls', 'c.state as campaign_state', 'c.policy_name',
        't.id as trunk_id', 't.name as trunk_name', 't.enabled as trunk_enabled', 't.max_cps as trunk_max_cps', 't.max_channels as trunk_max_channels',
        'ci.number as caller_id', 'c.settings',
        'c.policy_name',
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
        ringTimeoutSeconds: typeof row.settings.ringTimeoutSeconds === 'number' ? row.settings.ringTimeoutSeconds : null,
        policyName: row.policy_name,
        amd: row.settings.amd === true,
        informationMessage: Array.isArray(row.settings.informationMessage) ? (row.settings.informationMessage as string[]) : null,
        recordingAnnouncement: Array.isArray(row.settings.recordingAnnouncement) ? (row.settings.recordingAnnouncement as string[]) : null,
        maxCallSeconds: typeof row.settings.maxCallSeconds === 'number' ? row.settings.maxCallSeconds : null,
        closingMessage: Array.isArray(row.settings.closingMessage) ? (row.settings.closingMessage as string[]) : null,
      },
      trunk: { id: row.trunk_id, name: row.trunk_name, enabled: row.trunk_enabled ?? false, maxCps: row.trunk_max_cps ?? 1, maxChannels: row.trunk_max_channels ?? 1 },
      defaultCallerId: row.caller_id,
      localPresence: (row.settings.callerId as { localPresence?: unknown } | undefined)?.localPresence === true,
      pool: pool.map((p) => ({ number: p.number, isHotline: p.is_hotline, dailyCap: p.daily_cap })),
    };
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

/** The call row of an Asterisk channel (channel ids are Dialwell's own), with what a session needs
 * to take the call over; null when no call of Dialwell's has that channel. */
export async function callOfChannel(db: Db, channelId: string): Promise<{
  callId: string; attempt: ReservedAttempt; callerId: string; createdAt: Date; endedAt: Date | null;
} | null> {
  const row = await db
    .selectFrom('calls as c')
    .innerJoin('attempts as a', 'a.id', 'c.attempt_id')
    .innerJoin('contacts as ct', 'ct.id', 'c.contact_id')
    .where('c.channel_id', '=', channelId)
    .select(['c.id', 'c.attempt_id', 'c.campaign_id', 'c.contact_id', 'c.phone', 'c.caller_id', 'c.created_at', 'c.ended_at', 'ct.name', 'ct.called_hotline'])
    .executeTakeFirst();
  if (!row) return null;
  return {
    callId: row.id,
    attempt: { id: row.attempt_id, phone: row.phone, campaignId: row.campaign_id, contactId: row.contact_id, contactName: row.name, calledHotline: row.called_hotline },
    callerId: row.caller_id,
    createdAt: row.created_at,
    endedAt: row.ended_at,
  };
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

/** A reservation its trunk could not take now (at its limits across the nodes): queued again for
 * `at`, still handed to the queue (the dialer adds the delayed job; the pacer does not hand it
 * over twice), and decided again then. */
export async function putBackForTrunk(db: Db, attemptId: string, at: Date): Promise<void> {
  await db
    .updateTable('attempts')
    .set({ state: 'queued', dialed_at: null, decision_id: null, scheduled_at: at, updated_at: new Date() })
    .where('id', '=', attemptId)
    .where('state', '=', 'dialing')
    .execute();
}

/** A reservation whose call row could not be written (the database went away): back to the pool
 * once the database answers, unless a call row exists after all (then the reconcilers settle it). */
export async function releaseUndialed(db: Db, attemptId: string): Promise<void> {
  await retryWhileUnreachable(healthOf(db), () =>
    db
      .updateTable('attempts')
      .set({ state: 'queued', dialed_at: null, enqueued_at: null, decision_id: null, updated_at: new Date() })
      .where('id', '=', attemptId)
      .where('state', '=', 'dialing')
      .where((eb) => eb.not(eb.exists(eb.selectFrom('calls').select('calls.id').where('calls.attempt_id', '=', attemptId))))
      .execute(),
  );
}

export async function finishAttempt(db: Db, attemptId: string, state: 'completed' | 'failed', outcome: string): Promise<void> {
  await db.updateTable('attempts').set({ state, outcome, updated_at: new Date() }).where('id', '=', attemptId).execute();
}

/** Which campaigns each agent is listed on (campaign_agents), for the agent pool. */
export async function agentAssignments(db: Db): Promise<Map<string, Set<string>>> {
  const rows = await db.selectFrom('campaign_agents').select(['agent_id', 'campaign_id']).execute();
  const map = new Map<string, Set<string>>();
  for (const r of rows) {
    const set = map.get(r.agent_id) ?? new Set<string>();
    set.add(r.campaign_id);
    map.set(r.agent_id, set);
  }
  return map;
}
