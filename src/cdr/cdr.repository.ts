// SQL for the CDR, and the one module that writes the `calls` table: the call row before the
// originate, its join to an agent and its close (CallWriter, batched on the hot path; closeCall
// for the reconcilers), Asterisk's ids on a call, the disposition, the recording status. Reads:
// calls left open, orphan calls, the reconciler's watermark in the CEL record, closed calls whose
// recording is unsettled. A call closes only once (only a row still open is closed), and what
// follows an end hangs off that close, whoever closed it (the live session or a reconciler): the
// attempt's outcome, in the same statement, and the retry the campaign's rules ask for.
import type pg from 'pg';
import { sql } from 'kysely';
import { fenceHolds, fenceParams, type Fence } from '../cluster/leases.repository.js';
import { Coalescer } from '../db/coalescer.js';
import { healthOf, poolOf, type Db } from '../db/database.js';
import { retryWhileUnreachable, type DatabaseHealth } from '../db/health.js';
import type { CallUpdate, RecordingStatus } from '../db/schema.js';
import { scheduleRetry } from '../dialer/retries.js';

export interface OpenCall {
  id: string;
  attemptId: string;
  channelId: string;
  createdAt: Date;
  ringingAt: Date | null;
  answeredAt: Date | null;
  bridgedAt: Date | null;
}

/** Calls with no end, created before `before` (scoped to some campaigns when given). */
export async function openCalls(db: Db, before: Date, campaignIds?: string[], nodeId?: string): Promise<OpenCall[]> {
  let q = db
    .selectFrom('calls')
    .where('ended_at', 'is', null)
    .where('created_at', '<', before)
    .select(['id', 'attempt_id', 'channel_id', 'created_at', 'ringing_at', 'answered_at', 'bridged_at'])
    .orderBy('created_at');
  if (campaignIds) q = q.where('campaign_id', 'in', campaignIds.length ? campaignIds : ['00000000-0000-0000-0000-000000000000']);
  // A node's calls only (and those placed before nodes existed).
  if (nodeId) q = q.where((w) => w.or([w('node_id', '=', nodeId), w('node_id', 'is', null)]));
  const rows = await q.execute();
  return rows.map((r) => ({
    id: r.id, attemptId: r.attempt_id, channelId: r.channel_id, createdAt: r.created_at,
    ringingAt: r.ringing_at, answeredAt: r.answered_at, bridgedAt: r.bridged_at,
  }));
}

/** Which of these channel ids have a call row. */
export async function callChannels(db: Db, channelIds: string[]): Promise<Map<string, { id: string; open: boolean }>> {
  if (channelIds.length === 0) return new Map();
  const rows = await db.selectFrom('calls').where('channel_id', 'in', channelIds).select(['id', 'channel_id', 'ended_at']).execute();
  return new Map(rows.map((r) => [r.channel_id, { id: r.id, open: r.ended_at === null }]));
}

/** Asterisk's record matched to calls (by channel id = uniqueid), one statement for a batch. */
export async function noteAsteriskRecords(db: Db, recs: { uniqueId: string; linkedId: string | null; disposition: string | null }[]): Promise<void> {
  if (recs.length === 0) return;
  await sql`
    update calls c set asterisk_uniqueid = v.u,
      asterisk_linkedid = coalesce(v.l, c.asterisk_linkedid),
      asterisk_disposition = coalesce(v.d, c.asterisk_disposition)
    from unnest(${recs.map((r) => r.uniqueId)}::text[], ${recs.map((r) => r.linkedId)}::text[], ${recs.map((r) => r.disposition)}::text[]) as v(u, l, d)
    where c.channel_id = v.u`.execute(db);
}

export interface OrphanCall {
  uniqueId: string;
  linkedId: string | null;
  channel: string;
  trunkId: string | null;
  destination: string | null;
  startedAt: Date | null;
  answeredAt: Date | null;
  endedAt: Date | null;
  disposition: string | null;
  source: 'asterisk-cel' | 'asterisk-cdr';
  record: Record<string, unknown>;
}

/** Records calls Asterisk saw with no call row; a call already recorded is left as it is. */
export async function insertOrphans(db: Db, all: OrphanCall[]): Promise<number> {
  if (all.length === 0) return 0;
  // A transfer to an outside number is a leg of its call (call_events details.leg), not an orphan.
  const legs = new Set((await db.selectFrom('call_events').where(sql<boolean>`details->>'leg' = any(${all.map((o) => o.uniqueId)}::text[])`).select(sql<string>`details->>'leg'`.as('leg')).execute()).map((r) => r.leg));
  const orphans = all.filter((o) => !legs.has(o.uniqueId));
  if (orphans.length === 0) return 0;
  const r = await db
    .insertInto('asterisk_orphan_calls')
    .values(orphans.map((o) => ({
      uniqueid: o.uniqueId, linkedid: o.linkedId, channel: o.channel, trunk_id: o.trunkId, destination: o.destination,
      started_at: o.startedAt, answered_at: o.answeredAt, ended_at: o.endedAt, disposition: o.disposition, source: o.source,
      record: JSON.stringify(o.record),
    })))
    .onConflict((oc) => oc.column('uniqueid').doNothing())
    .returning('uniqueid')
    .execute();
  return r.length;
}

export async function trunkIdsByName(db: Db): Promise<Map<string, string>> {
  const rows = await db.selectFrom('trunks').select(['id', 'name']).execute();
  return new Map(rows.map((r) => [r.name, r.id]));
}

const WATERMARK = 'cdr.cel_scanned_until';

/** Up to when the CEL record was searched for orphan calls. */
export async function celWatermark(db: Db): Promise<Date | null> {
  const row = await db.selectFrom('settings').where('key', '=', WATERMARK).select('value').executeTakeFirst();
  return typeof row?.value === 'string' ? new Date(row.value) : null;
}

export async function setCelWatermark(db: Db, at: Date): Promise<void> {
  const value = JSON.stringify(at.toISOString());
  await db
    .insertInto('settings')
    .values({ key: WATERMARK, value })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value, updated_at: new Date() }))
    .execute();
}

/** The disposition ends wrap-up: it is written on the call with its wrap-up time. */
export async function recordCallDisposition(db: Db, attemptId: string, result: string, at: Date): Promise<void> {
  await db
    .updateTable('calls')
    .set({
      disposition: result,
      disposition_at: at,
      wrapup_ms: sql<number | null>`case when ended_at is null then null else greatest(0, round(extract(epoch from (${at}::timestamptz - ended_at)) * 1000))::int end`,
    })
    .where('attempt_id', '=', attemptId)
    .execute();
}

/** What call_events notes: holds, transfers, consultations (each step: details.step), hang-ups asked for. */
export type CallEventKind = 'hold' | 'resume' | 'transfer' | 'consult' | 'hangup';

/** One thing that happened during a call, kept beside its CDR (holds, transfers, hang-ups asked for). */
export async function recordCallEvent(
  db: Db,
  e: { callId: string; kind: CallEventKind; actor: string; agentId: string | null; details?: unknown },
): Promise<void> {
  await db
    .insertInto('call_events')
    .values({ call_id: e.callId, kind: e.kind, actor: e.actor, agent_id: e.agentId, details: e.details === undefined ? null : JSON.stringify(e.details) })
    .execute();
}

/** A closed call whose recording was never settled (see src/recordings/recovery.ts). */
export interface UnsettledRecordingCall {
  id: string;
  channelId: string;
  createdAt: Date;
  answeredAt: Date | null;
  bridgedAt: Date | null;
  endedAt: Date;
  recordingStatus: 'pending' | null;
}

/**
 * Closed calls of recorded campaigns, ended before `endedBefore`, whose recording is still
 * 'pending', or null although the call was joined to an agent (the process that recorded it died
 * before closing it; those only since `endedAfter`), plus the calls named in `callIds` (Asterisk holds their file) that are
 * closed and not settled. Oldest first, at most `limit`.
 */
export async function unsettledRecordingCalls(db: Db, opts: { endedBefore: Date; endedAfter: Date; callIds: string[]; campaignIds?: string[]; limit: number }): Promise<UnsettledRecordingCall[]> {
  let q = db
    .selectFrom('calls as c')
    .innerJoin('campaigns as k', 'k.id', 'c.campaign_id')
    .where('c.ended_at', 'is not', null)
    .where('c.ended_at', '<', opts.endedBefore)
    .where((eb) => eb.or([
      eb('c.recording_status', '=', 'pending'),
      // Recorded if the campaign records now and was not changed since the join (recording may
      // have been switched on later), and recent: older calls were settled or are beyond help.
      eb.and([
        eb('c.recording_status', 'is', null), eb('c.bridged_at', 'is not', null), eb('k.record_calls', '=', true),
        eb('c.bridged_at', '>', eb.ref('k.updated_at')), eb('c.ended_at', '>', opts.endedAfter),
      ]),
      ...(opts.callIds.length ? [eb.and([eb('c.recording_status', 'is', null), eb('c.id', 'in', opts.callIds)])] : []),
    ]));
  if (opts.campaignIds) q = q.where('c.campaign_id', 'in', opts.campaignIds.length ? opts.campaignIds : ['00000000-0000-0000-0000-000000000000']);
  const rows = await q
    .select(['c.id', 'c.channel_id', 'c.created_at', 'c.answered_at', 'c.bridged_at', 'c.ended_at', 'c.recording_status'])
    .orderBy('c.ended_at')
    .limit(opts.limit)
    .execute();
  return rows.map((r) => ({
    id: r.id, channelId: r.channel_id, createdAt: r.created_at, answeredAt: r.answered_at, bridgedAt: r.bridged_at, endedAt: r.ended_at!,
    recordingStatus: r.recording_status === 'pending' ? 'pending' : null,
  }));
}

/**
 * Settles a call's recording status. 'stored' always wins (its row exists); 'missing' or
 * 'failed' only flags a call still unsettled (null or 'pending'), so a late flag from one
 * process never overwrites a recording another process stored. Returns whether the row changed.
 */
export async function settleCallRecording(db: Db, callId: string, set: { recordingId: string | null; status: 'stored' | 'missing' | 'failed' }): Promise<boolean> {
  let q = db.updateTable('calls').set({ recording_id: set.recordingId, recording_status: set.status }).where('id', '=', callId);
  if (set.status === 'stored') {
    q = q.where((eb) => eb.or([eb('recording_status', 'is', null), eb('recording_status', '!=', 'stored'), eb('recording_id', 'is distinct from', set.recordingId)]));
  } else {
    q = q.where((eb) => eb.or([eb('recording_status', 'is', null), eb('recording_status', '=', 'pending')]));
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

// Writing the call row: created before the originate, joined to an agent, closed.

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

export interface CallWriterOptions {
  /**
   * How long a batch of joins and ends only (nobody waits on them: the customer is already with
   * the agent, or gone) may wait for more writes before it is sent, in ms; 0 sends it at once. At a
   * low rate such a batch would otherwise hold one write and pay a statement's fixed cost alone.
   * A new row is never held (its originate waits on it).
   */
  gatherMs: number;
}

export const defaultCallWriterOptions: CallWriterOptions = { gatherMs: 15 };

type CallWrite = { kind: 'insert'; call: NewCall } | { kind: 'bridged'; join: CallBridged } | { kind: 'close'; end: CallEnd };

/**
 * The call (CDR) row's three writes on the hot path: the row before the originate, the join to an
 * agent, the end. Concurrent calls' writes of all three kinds are coalesced into one prepared
 * statement per batch. PostgreSQL's CPU for such a statement is mostly fixed (its transaction and
 * commit, ~0.7 ms on this project's machine) plus ~0.1 ms per row (scratch measure in
 * docs/performance.md): one statement per call and write cost ~1 ms each; three kinds each in its
 * own batches cost three times the fixed part of one.
 *
 * Joins and ends alone (nobody waits on them) may wait a short gather window for more writes
 * (CallWriterOptions.gatherMs), so that a statement carries several calls at any rate; a new row
 * is never held, and takes whatever was gathered with it.
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
    private readonly db: Db,
    /** The node the calls are placed on and the lease its owner holds it by (null: one engine, no fencing). */
    private readonly node: { id: string; fence: () => Fence } | null = null,
    opts: CallWriterOptions = defaultCallWriterOptions,
  ) {
    this.pool = poolOf(db);
    this.health = healthOf(db);
    // A batch with a new row fails at once when the database is away (the coalescer then writes
    // each item alone: the joins and ends of it wait, as below); joins and ends alone wait.
    // A new row is awaited by its originate and is written at once, with whatever was gathered;
    // joins and ends alone wait up to the gather window for company.
    this.writes = new Coalescer(
      (ws) => (ws.some((w) => w.kind === 'insert') ? this.writeMany(ws) : retryWhileUnreachable(this.health, () => this.writeMany(ws))),
      { maxBatch: 64, maxParallel: 1, gatherMs: opts.gatherMs, urgent: (w) => w.kind === 'insert' },
    );
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

  /** Sets other columns of the call row (fenced as the writer's other writes; waits out a database outage). */
  update(callId: string, set: CallUpdate): Promise<void> {
    return updateCall(this.db, callId, set, this.node?.fence() ?? null);
  }

  /**
   * The call's end and its attempt's outcome, then the retry the campaign's rules ask for (after
   * the batch's statement: the close stays one statement per batch); false when the call had
   * already been closed (whoever closed it scheduled the retry).
   */
  async close(e: CallEnd): Promise<boolean> {
    const closed = (await this.writes.push({ kind: 'close', end: e })) as boolean;
    if (closed) {
      await retryWhileUnreachable(this.health, () => afterClose(this.db, { attemptId: e.attemptId, outcome: e.outcome, endedAt: e.endedAt })).catch((err: unknown) => {
        throw new Error(`the call was closed, but scheduling its retry failed: ${(err as Error).message}`, { cause: err });
      });
    }
    return closed;
  }
}

/** What follows a call's close, whoever closed it: the campaign's retry rule for its outcome. */
async function afterClose(db: Db, end: { attemptId: string; outcome: string; endedAt: Date }): Promise<void> {
  await scheduleRetry(db, end);
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

/** Sets columns of a call row; waits out a database outage (setting the same values twice is
 * harmless). With a fence, only while the writer still holds its node's lease. */
export async function updateCall(db: Db, callId: string, set: CallUpdate, fence: Fence | null = null): Promise<void> {
  await retryWhileUnreachable(healthOf(db), () =>
    db.updateTable('calls').set(set).where('id', '=', callId).$if(fence !== null, (q) => q.where(fenceHolds(fence!))).execute(),
  );
}

/**
 * One call's end and its attempt's outcome (the reconcilers' close), and the retry it calls for,
 * in one transaction; only a call still open is closed (the live session may have closed it
 * first: that close stands, and it scheduled the retry). With a fence, only while the closer
 * still holds the lease it works under. `set` must give ended_at.
 */
export async function closeCall(
  db: Db, callId: string, attemptId: string, set: CallUpdate & { ended_at: Date }, attempt: { state: 'completed' | 'failed'; outcome: string },
  fence: Fence | null = null,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const r = await trx
      .with('c', (q) =>
        q.updateTable('calls').set(set).where('id', '=', callId).where('ended_at', 'is', null)
          .$if(fence !== null, (u) => u.where(fenceHolds(fence!)))
          .returning('attempt_id'))
      .updateTable('attempts')
      .set({ state: attempt.state, outcome: attempt.outcome, updated_at: new Date() })
      .where('id', '=', attemptId)
      .where('id', 'in', (eb) => eb.selectFrom('c').select('attempt_id'))
      .returning('id')
      .execute();
    if (r.length === 0) return false;
    await afterClose(trx, { attemptId, outcome: attempt.outcome, endedAt: set.ended_at });
    return true;
  });
}

/**
 * Who disposes the call: the agent who ended with the customer. After a transfer to another agent
 * (blind or attended) that is the agent it went to; after a transfer to an outside number, the
 * agent who made it (no agent is left with the customer); otherwise the agent who took it.
 * `transferredTo` is the last transfer's target (an agent id or a number), null without one.
 */
export async function dispositionOwner(db: Db, callId: string): Promise<{ agentId: string | null; takenBy: string | null; transferredTo: { agentId: string } | { number: string } | null } | null> {
  const row = await db
    .selectFrom('calls as c')
    .where('c.id', '=', callId)
    .select((eb) => [
      'c.agent_id',
      eb.selectFrom('call_events as e').whereRef('e.call_id', '=', 'c.id').where('e.kind', '=', 'transfer').orderBy('e.id', 'desc').limit(1).select('e.details').as('last'),
    ])
    .executeTakeFirst();
  if (!row) return null;
  const last = row.last as { from?: string; to?: string; target?: 'agent' | 'number' } | null;
  if (!last?.to) return { agentId: row.agent_id, takenBy: row.agent_id, transferredTo: null };
  if (last.target === 'number') return { agentId: last.from ?? row.agent_id, takenBy: row.agent_id, transferredTo: { number: last.to } };
  return { agentId: last.to, takenBy: row.agent_id, transferredTo: { agentId: last.to } };
}
