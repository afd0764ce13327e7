// SQL for the dial path: claiming an attempt exactly once, and writing the call (CDR) row.
import type pg from 'pg';
import { Coalescer } from '../db/coalescer.js';
import { fenceParams, type Fence } from '../cluster/leases.repository.js';
import { healthOf, poolOf, type Db } from '../db/database.js';
import { retryWhileUnreachable } from '../db/health.js';
import type { ReservedAttempt } from '../compliance/store/dial-gate.js';
import type { CallUpdate, RecordingStatus } from '../db/schema.js';
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

export interface NewCall {
  attemptId: string;
  campaignId: string;
  contactId: string;
  phone: string;
  callerId: string;
  trunkId: string;
  channelId: string;
}

export interface CallBridged {
  callId: string;
  answeredAt: Date;
  agentId: string;
  bridgeId: string;
  bridgedAt: Date;
}

export interface CallEnd {
  callId: string;
  attemptId: string;
  endedAt: Date;
  ringingAt: Date | null;
  hangupCause: number | null;
  hangupCauseText: string;
  outcome: string;
  attemptState: 'completed' | 'failed';
  /** The CDR's durations (src/cdr/durations.ts); null when not observed. */
  ringMs: number | null;
  talkMs: number | null;
  holdMs: number | null;
  /** Who or what ended the call (call-session.ts CallEndedBy). */
  endedBy: string;
  /** pending when a recording is being fetched, failed when it never started, null when not recorded. */
  recordingStatus: RecordingStatus | null;
}

// The engine's node lease, when it dials under one (fencing, see fenceHolds): $a lease name, $b owner, $c epoch.
const fenced = (a: number, b: number, c: number) =>
  `($${a}::text is null or exists (select 1 from leases f where f.name = $${a} and f.owner = $${b} and f.epoch >= $${c}))`;

const INSERT_CALLS_SQL = `
  insert into calls (attempt_id, campaign_id, contact_id, phone, caller_id, trunk_id, channel_id, node_id)
  select t.*, $8::uuid from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::text[]) as t
  where ${fenced(9, 10, 11)}
  returning id, attempt_id`;

const BRIDGED_SQL = `
  update calls c set answered_at = d.answered_at, agent_id = d.agent_id, bridge_id = d.bridge_id, bridged_at = d.bridged_at
  from unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::timestamptz[]) as d(id, answered_at, agent_id, bridge_id, bridged_at)
  where c.id = d.id and ${fenced(6, 7, 8)}`;

// The call's end and its attempt's outcome, in one statement for the whole batch. Only a call
// still open is closed, and only its attempt updated: the CDR reconciler may have closed it from
// Asterisk's record first, and that close stands (as closeCall below). Returns the closed calls.
const CLOSE_SQL = `
  with d as (
    select * from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::int[], $6::text[], $7::text[], $8::text[],
      $9::int[], $10::int[], $11::int[], $13::text[], $14::text[])
      as t(call_id, attempt_id, ended_at, ringing_at, hangup_cause, hangup_cause_text, outcome, attempt_state, ring_ms, talk_ms, hold_ms,
        ended_by, recording_status)),
  c as (
    update calls c set ended_at = d.ended_at, ringing_at = d.ringing_at, hangup_cause = d.hangup_cause,
      hangup_cause_text = d.hangup_cause_text, outcome = d.outcome, ring_ms = d.ring_ms, talk_ms = d.talk_ms, hold_ms = d.hold_ms,
      ended_by = d.ended_by, recording_status = coalesce(d.recording_status, c.recording_status)
    from d where c.id = d.call_id and c.ended_at is null and ${fenced(15, 16, 17)}
    returning c.id),
  a as (
    update attempts a set state = d.attempt_state, outcome = d.outcome, updated_at = $12
    from d join c on c.id = d.call_id where a.id = d.attempt_id)
  select id from c`;

/**
 * The call (CDR) row's three writes on the hot path, each coalesced across concurrent calls into
 * one prepared statement per batch: the row before the originate, the join to an agent, the end.
 * One statement per call each cost PostgreSQL ~0.2-0.3 ms of CPU (its own transaction and commit,
 * parse and plan); in batches of ~10 it is a tenth of that (bench/dialer.ts).
 *
 * The join and the end of a call that is up wait out a database outage and are written when it
 * is back (both are safe to repeat: the end closes only a call still open). The row before the
 * originate is not retried: dialing is held while the database is away, and a reservation whose
 * row was never written is released by the queue reconciler.
 */
export class CallWriter {
  private readonly pool: pg.Pool;
  private readonly inserts: Coalescer<NewCall, string>;
  private readonly bridges: Coalescer<CallBridged, void>;
  private readonly ends: Coalescer<CallEnd, boolean>;

  constructor(
    db: Db,
    /** The node the calls are placed on and the lease its owner holds it by (null: one engine, no fencing). */
    private readonly node: { id: string; fence: () => Fence } | null = null,
  ) {
    this.pool = poolOf(db);
    const health = healthOf(db);
    this.inserts = new Coalescer((cs) => this.insertMany(cs));
    this.bridges = new Coalescer<CallBridged, void>((bs) => retryWhileUnreachable(health, () => this.bridgeMany(bs)));
    this.ends = new Coalescer<CallEnd, boolean>((es) => retryWhileUnreachable(health, () => this.closeMany(es)));
  }

  private async bridgeMany(bs: CallBridged[]): Promise<void[]> {
    await this.pool.query({
      name: 'dialwell_calls_bridged', text: BRIDGED_SQL,
      values: [bs.map((b) => b.callId), bs.map((b) => b.answeredAt), bs.map((b) => b.agentId), bs.map((b) => b.bridgeId), bs.map((b) => b.bridgedAt), ...this.fence()],
    });
    return bs.map(() => undefined);
  }

  private async closeMany(es: CallEnd[]): Promise<boolean[]> {
    const { rows } = await this.pool.query<{ id: string }>({
      name: 'dialwell_calls_close', text: CLOSE_SQL,
      values: [
        es.map((e) => e.callId), es.map((e) => e.attemptId), es.map((e) => e.endedAt), es.map((e) => e.ringingAt), es.map((e) => e.hangupCause),
        es.map((e) => e.hangupCauseText), es.map((e) => e.outcome), es.map((e) => e.attemptState),
        es.map((e) => e.ringMs), es.map((e) => e.talkMs), es.map((e) => e.holdMs), new Date(),
        es.map((e) => e.endedBy), es.map((e) => e.recordingStatus), ...this.fence(),
      ],
    });
    const closed = new Set(rows.map((r) => r.id));
    return es.map((e) => closed.has(e.callId));
  }

  private fence(): [string | null, string | null, number | null] {
    return fenceParams(this.node?.fence() ?? null);
  }

  private async insertMany(cs: NewCall[]): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string; attempt_id: string }>({
      name: 'dialwell_calls_insert', text: INSERT_CALLS_SQL,
      values: [
        cs.map((c) => c.attemptId), cs.map((c) => c.campaignId), cs.map((c) => c.contactId), cs.map((c) => c.phone),
        cs.map((c) => c.callerId), cs.map((c) => c.trunkId), cs.map((c) => c.channelId), this.node?.id ?? null, ...this.fence(),
      ],
    });
    const ids = new Map(rows.map((r) => [r.attempt_id, r.id]));
    return cs.map((c) => {
      const id = ids.get(c.attemptId);
      if (!id) throw new Error(`no call row was written for attempt ${c.attemptId}${this.node ? ' (this engine may no longer own the node)' : ''}`);
      return id;
    });
  }

  /** Writes the call row (before the originate: a call that was dialed always has its CDR). */
  insert(c: NewCall): Promise<string> {
    return this.inserts.push(c);
  }

  /** The customer is with an agent. */
  bridged(b: CallBridged): Promise<void> {
    return this.bridges.push(b);
  }

  /** The call's end and its attempt's outcome; false when the call had already been closed. */
  close(e: CallEnd): Promise<boolean> {
    return this.ends.push(e);
  }
}

/** One call row, written alone (the dialer writes its rows through CallWriter; this serves
 * tests and tools that need a single row). */
export async function insertCall(db: Db, c: NewCall): Promise<string> {
  const row = await db
    .insertInto('calls')
    .values({
      attempt_id: c.attemptId, campaign_id: c.campaignId, contact_id: c.contactId, phone: c.phone,
      caller_id: c.callerId, trunk_id: c.trunkId, channel_id: c.channelId,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
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

/** Sets columns of a call row; waits out a database outage (setting the same values twice is harmless). */
export async function updateCall(db: Db, callId: string, set: CallUpdate): Promise<void> {
  await retryWhileUnreachable(healthOf(db), () => db.updateTable('calls').set(set).where('id', '=', callId).execute());
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
