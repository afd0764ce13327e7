// SQL for the CDR: calls left open, Asterisk's ids on a call, orphan calls, the disposition, and
// the reconciler's watermark in the CEL record. (Closing a call is dial.repository's closeCall,
// which closes only a call still open.)
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
export async function insertOrphans(db: Db, orphans: OrphanCall[]): Promise<number> {
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

/** One thing that happened during a call, kept beside its CDR (holds, transfers, hang-ups asked for). */
export async function recordCallEvent(
  db: Db,
  e: { callId: string; kind: 'hold' | 'resume' | 'transfer' | 'hangup'; actor: string; agentId: string | null; details?: unknown },
): Promise<void> {
  await db
    .insertInto('call_events')
    .values({ call_id: e.callId, kind: e.kind, actor: e.actor, agent_id: e.agentId, details: e.details === undefined ? null : JSON.stringify(e.details) })
    .execute();
}
