// SQL for the dial path: claiming an attempt exactly once, and writing the call (CDR) row.
import type pg from 'pg';
import { Coalescer } from '../db/coalescer.js';
import { fenceParams, type Fence } from '../cluster/leases.repository.js';
import { healthOf, poolOf, type Db } from '../db/database.js';
import { retryWhileUnreachable, type DatabaseHealth } from '../db/health.js';
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
        't.id as trunk_id', 't.name as trunk_name', 't.enabled as trunk_enabled', 'ci.number as caller_id', 'c.settings',
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
      trunk: { id: row.trunk_id, name: row.trunk_name, enabled: row.trunk_enabled ?? false },
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

// Every call-row write of a batch in one statement (one round trip, one commit): new rows (before
// their originates), joins to agents, and ends with their attempts' outcomes. A call never has two
// writes in one batch (its join is merged into its end by the writer), so no row is updated twice.
//  - ins: the rows before the originate; fenced by the node lease.
//  - br: the customer is with an agent.
//  - cl/a: the end; only a call still open is closed, and only its attempt updated: the CDR
//    reconciler may have closed it from Asterisk's record first, and that close stands (as
//    closeCall below). A join merged into its end is written with it (coalesce: a join written
//    before stays).
// Returns the new rows ('i', id, attempt id) and the closed calls ('c', id).
const CALL_WRITES_SQL = `
  with ins as (
    insert into calls (attempt_id, campaign_id, contact_id, phone, caller_id, trunk_id, channel_id, node_id)
    select t.*, $8::uuid from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::uuid[], $7::text[]) as t
    where ${fenced(9, 10, 11)}
    returning id, attempt_id),
  br as (
    update calls c set answered_at = d.answered_at, agent_id = d.agent_id, bridge_id = d.bridge_id, bridged_at = d.bridged_at
    from unnest($12::uuid[], $13::timestamptz[], $14::uuid[], $15::text[], $16::timestamptz[]) as d(id, answered_at, agent_id, bridge_id, bridged_at)
    where c.id = d.id and ${fenced(9, 10, 11)}),
  d as (
    select * from unnest($17::uuid[], $18::uuid[], $19::timestamptz[], $20::timestamptz[], $21::int[], $22::text[], $23::text[], $24::text[],
      $25::int[], $26::int[], $27::int[], $28::text[], $29::text[], $30::timestamptz[], $31::uuid[], $32::text[], $33::timestamptz[])
      as t(call_id, attempt_id, ended_at, ringing_at, hangup_cause, hangup_cause_text, outcome, attempt_state, ring_ms, talk_ms, hold_ms,
        ended_by, recording_status, answered_at, agent_id, bridge_id, bridged_at)),
  cl as (
    update calls c set ended_at = d.ended_at, ringing_at = d.ringing_at, hangup_cause = d.hangup_cause,
      hangup_cause_text = d.hangup_cause_text, outcome = d.outcome, ring_ms = d.ring_ms, talk_ms = d.talk_ms, hold_ms = d.hold_ms,
      ended_by = d.ended_by, recording_status = coalesce(d.recording_status, c.recording_status),
      answered_at = coalesce(d.answered_at, c.answered_at), agent_id = coalesce(d.agent_id, c.agent_id),
      bridge_id = coalesce(d.bridge_id, c.bridge_id), bridged_at = coalesce(d.bridged_at, c.bridged_at)
    from d where c.id = d.call_id and c.ended_at is null and ${fenced(9, 10, 11)}
    returning c.id),
  a as (
    update attempts a set state = d.attempt_state, outcome = d.outcome, updated_at = $34
    from d join cl on cl.id = d.call_id where a.id = d.attempt_id)
  select 'i' as k, id, attempt_id from ins
  union all
  select 'c', id, null from cl`;

type CallWrite = { kind: 'insert'; call: NewCall } | { kind: 'bridged'; join: CallBridged } | { kind: 'close'; end: CallEnd };

/**
 * The call (CDR) row's three writes on the hot path: the row before the originate, the join to an
 * agent, the end. Concurrent calls' writes of all three kinds are coalesced into one prepared
 * statement per batch. PostgreSQL's CPU for such a statement is mostly fixed (its transaction and
 * commit, ~0.7 ms on this project's machine) plus ~0.1 ms per row (scratch measure in
 * docs/performance.md): one statement per call and write cost ~1 ms each; three kinds each in its
 * own batches cost three times the fixed part of one.
 *
 * The join and the end of a call that is up wait out a database outage and are written when it
 * is back (both are safe to repeat: the end closes only a call still open). The row before the
 * originate is not retried: dialing is held while the database is away, and a reservation whose
 * row was never written is released by the queue reconciler.
 */
export class CallWriter {
  private readonly pool: pg.Pool;
  private readonly health: DatabaseHealth;
  private readonly writes: Coalescer<CallWrite, string | boolean | Error | undefined>;

  constructor(
    db: Db,
    /** The node the calls are placed on and the lease its owner holds it by (null: one engine, no fencing). */
    private readonly node: { id: string; fence: () => Fence } | null = null,
  ) {
    this.pool = poolOf(db);
    this.health = healthOf(db);
    // A batch with a new row fails at once when the database is away (the coalescer then writes
    // each item alone: the joins and ends of it wait, as below); joins and ends alone wait.
    this.writes = new Coalescer((ws) => (ws.some((w) => w.kind === 'insert') ? this.writeMany(ws) : retryWhileUnreachable(this.health, () => this.writeMany(ws))));
  }

  private fence(): [string | null, string | null, number | null] {
    return fenceParams(this.node?.fence() ?? null);
  }

  /** One result per write: the new row's id (or the Error saying why there is none), whether the
   * end closed the call, nothing for a join. No write's result fails the batch: the others were
   * committed with it and must not be written again. */
  private async writeMany(ws: CallWrite[]): Promise<(string | boolean | Error | undefined)[]> {
    const inserts: NewCall[] = [];
    const ends = new Map<string, CallEnd & { join: CallBridged | null }>();
    for (const w of ws) if (w.kind === 'close') ends.set(w.end.callId, { ...w.end, join: null });
    const joins: CallBridged[] = [];
    for (const w of ws) {
      if (w.kind === 'insert') inserts.push(w.call);
      else if (w.kind === 'bridged') {
        // Its end is in the same batch: the row is updated once, with both.
        const end = ends.get(w.join.callId);
        if (end) end.join = w.join;
        else joins.push(w.join);
      }
    }
    const es = [...ends.values()];
    const { rows } = await this.pool.query<{ k: 'i' | 'c'; id: string; attempt_id: string | null }>({
      name: 'dialwell_call_writes', text: CALL_WRITES_SQL,
      values: [
        inserts.map((c) => c.attemptId), inserts.map((c) => c.campaignId), inserts.map((c) => c.contactId), inserts.map((c) => c.phone),
        inserts.map((c) => c.callerId), inserts.map((c) => c.trunkId), inserts.map((c) => c.channelId), this.node?.id ?? null, ...this.fence(),
        joins.map((b) => b.callId), joins.map((b) => b.answeredAt), joins.map((b) => b.agentId), joins.map((b) => b.bridgeId), joins.map((b) => b.bridgedAt),
        es.map((e) => e.callId), es.map((e) => e.attemptId), es.map((e) => e.endedAt), es.map((e) => e.ringingAt), es.map((e) => e.hangupCause),
        es.map((e) => e.hangupCauseText), es.map((e) => e.outcome), es.map((e) => e.attemptState),
        es.map((e) => e.ringMs), es.map((e) => e.talkMs), es.map((e) => e.holdMs), es.map((e) => e.endedBy), es.map((e) => e.recordingStatus),
        es.map((e) => e.join?.answeredAt ?? null), es.map((e) => e.join?.agentId ?? null), es.map((e) => e.join?.bridgeId ?? null), es.map((e) => e.join?.bridgedAt ?? null),
        new Date(),
      ],
    });
    const newIds = new Map<string, string>();
    const closed = new Set<string>();
    for (const r of rows) {
      if (r.k === 'i') newIds.set(r.attempt_id!, r.id);
      else closed.add(r.id);
    }
    return ws.map((w) => {
      if (w.kind === 'bridged') return undefined;
      if (w.kind === 'close') return closed.has(w.end.callId);
      return newIds.get(w.call.attemptId) ?? new Error(`no call row was written for attempt ${w.call.attemptId}${this.node ? ' (this engine may no longer own the node)' : ''}`);
    });
  }

  /** Writes the call row (before the originate: a call that was dialed always has its CDR). */
  async insert(c: NewCall): Promise<string> {
    const id = await this.writes.push({ kind: 'insert', call: c });
    if (id instanceof Error) throw id;
    return id as string;
  }

  /** The customer is with an agent. */
  async bridged(b: CallBridged): Promise<void> {
    await this.writes.push({ kind: 'bridged', join: b });
  }

  /** The call's end and its attempt's outcome; false when the call had already been closed. */
  async close(e: CallEnd): Promise<boolean> {
    return (await this.writes.push({ kind: 'close', end: e })) as boolean;
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
