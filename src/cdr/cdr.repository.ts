// SQL for the CDR: calls left open, Asterisk's ids on a call, orphan calls, the disposition, and
// the reconciler's watermark in the CEL record, closed calls whose recording is unsettled and
// their recording status. (Closing a call is dial.repository's closeCall, which closes only a
// call still open.)
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

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
export async function openCalls(db: Db, before: Date, campaignIds?: string[]): Promise<OpenCall[]> {
  let q = db
    .selectFrom('calls')
    .where('ended_at', 'is', null)
    .where('created_at', '<', before)
    .select(['id', 'attempt_id', 'channel_id', 'created_at', 'ringing_at', 'answered_at', 'bridged_at'])
    .orderBy('created_at');
  if (campaignIds) q = q.where('campaign_id', 'in', campaignIds.length ? campaignIds : ['00000000-0000-0000-0000-000000000000']);
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
