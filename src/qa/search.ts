// QA search over calls (the CDR) and their recordings: by period, campaign, agent, outcome,
// disposition, talk duration and number (exact). Duration is answer → end, so unanswered calls
// never match a duration filter. Newest first, paged by offset.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';

export interface CallSearch {
  from?: Date;
  to?: Date;
  campaignId?: string;
  agentId?: string;
  outcome?: string;
  disposition?: string;
  minDurationS?: number;
  maxDurationS?: number;
  phone?: string;
  recorded?: boolean;
  limit: number;
  offset: number;
}

const durationMs = sql<number | null>`(extract(epoch from (c.ended_at - c.answered_at)) * 1000)::bigint`;

function callQuery(db: Db) {
  return db
    .selectFrom('calls as c')
    .innerJoin('campaigns as k', 'k.id', 'c.campaign_id')
    .innerJoin('attempts as a', 'a.id', 'c.attempt_id')
    .leftJoin('agents as g', 'g.id', 'c.agent_id')
    // One recording per call (a call is recorded once, from the join to the end).
    .leftJoin('recordings as r', 'r.call_id', 'c.id')
    .select([
      'c.id', 'c.attempt_id', 'c.campaign_id', 'k.name as campaign_name', 'c.agent_id', 'g.name as agent_name', 'c.phone', 'c.caller_id',
      'c.trunk_id', 'c.created_at', 'c.ringing_at', 'c.answered_at', 'c.bridged_at', 'c.ended_at', 'c.outcome', 'c.hangup_cause',
      'c.hangup_cause_text', 'a.disposition_result as disposition', durationMs.as('duration_ms'), 'c.ended_by', 'c.recording_status', 'c.hold_ms',
      'r.id as recording_id', 'r.duration_ms as recording_duration_ms', 'r.started_at as recording_started_at', 'r.format as recording_format',
      'r.size_bytes as recording_size_bytes', 'r.sha256 as recording_sha256', 'r.purged_at as recording_purged_at',
    ]);
}

export type CallRow = Awaited<ReturnType<ReturnType<typeof callQuery>['execute']>>[number];

export async function searchCalls(db: Db, f: CallSearch): Promise<{ rows: CallRow[]; more: boolean }> {
  let q = callQuery(db);
  if (f.from) q = q.where('c.created_at', '>=', f.from);
  if (f.to) q = q.where('c.created_at', '<', f.to);
  if (f.campaignId) q = q.where('c.campaign_id', '=', f.campaignId);
  if (f.agentId) q = q.where('c.agent_id', '=', f.agentId);
  if (f.outcome) q = q.where('c.outcome', '=', f.outcome);
  if (f.disposition) q = q.where('a.disposition_result', '=', f.disposition);
  if (f.phone) q = q.where('c.phone', '=', f.phone);
  if (f.minDurationS !== undefined) q = q.where('c.answered_at', 'is not', null).where(sql<boolean>`c.ended_at - c.answered_at >= make_interval(secs => ${f.minDurationS})`);
  if (f.maxDurationS !== undefined) q = q.where('c.answered_at', 'is not', null).where(sql<boolean>`c.ended_at - c.answered_at <= make_interval(secs => ${f.maxDurationS})`);
  if (f.recorded === true) q = q.where('r.id', 'is not', null).where('r.purged_at', 'is', null);
  if (f.recorded === false) q = q.where((eb) => eb.or([eb('r.id', 'is', null), eb('r.purged_at', 'is not', null)]));
  const rows = await q.orderBy('c.created_at', 'desc').orderBy('c.id', 'desc').limit(f.limit + 1).offset(f.offset).execute();
  return { rows: rows.slice(0, f.limit), more: rows.length > f.limit };
}

export async function getCallRow(db: Db, id: string): Promise<CallRow | undefined> {
  return callQuery(db).where('c.id', '=', id).executeTakeFirst();
}

export interface CallView {
  id: string;
  attemptId: string;
  campaign: { id: string; name: string };
  agent: { id: string; name: string | null } | null;
  phone: string;
  callerId: string;
  trunkId: string;
  createdAt: string;
  ringingAt: string | null;
  answeredAt: string | null;
  bridgedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  outcome: string | null;
  hangupCause: number | null;
  hangupCauseText: string | null;
  disposition: string | null;
  /** Who or what ended the call (calls.ended_by); null when closed from Asterisk's record. */
  endedBy: string | null;
  holdMs: number | null;
  /** stored, or flagged missing/failed, or pending while fetched; null when not recorded. Shown with recordings.read. */
  recordingStatus: string | null;
  recording: RecordingView | null;
}

export interface RecordingView {
  id: string;
  callId: string;
  startedAt: string;
  durationMs: number;
  format: string;
  sizeBytes: number;
  sha256: string;
  purgedAt: string | null;
  /** Where to play it (null once purged). */
  audioUrl: string | null;
}

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A call as the API shows it; `withRecording` false hides the recording (for readers without recordings.read). */
export function callView(r: CallRow, withRecording: boolean): CallView {
  return {
    id: r.id, attemptId: r.attempt_id, campaign: { id: r.campaign_id, name: r.campaign_name },
    agent: r.agent_id ? { id: r.agent_id, name: r.agent_name } : null,
    phone: r.phone, callerId: r.caller_id, trunkId: r.trunk_id, createdAt: r.created_at.toISOString(), ringingAt: iso(r.ringing_at),
    answeredAt: iso(r.answered_at), bridgedAt: iso(r.bridged_at), endedAt: iso(r.ended_at),
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms), outcome: r.outcome, hangupCause: r.hangup_cause,
    hangupCauseText: r.hangup_cause_text, disposition: r.disposition, endedBy: r.ended_by, holdMs: r.hold_ms,
    recordingStatus: withRecording ? r.recording_status : null,
    recording: withRecording && r.recording_id
      ? {
          id: r.recording_id, callId: r.id, startedAt: r.recording_started_at!.toISOString(), durationMs: r.recording_duration_ms!,
          format: r.recording_format!, sizeBytes: r.recording_size_bytes!, sha256: r.recording_sha256!, purgedAt: iso(r.recording_purged_at),
          audioUrl: r.recording_purged_at ? null : `/api/v1/recordings/${r.recording_id}/audio`,
        }
      : null,
  };
}
