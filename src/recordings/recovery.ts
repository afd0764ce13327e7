// Recording reconciliation, run by the CDR reconciler's pass: recordings whose call ended without
// the process that recorded it settling them (killed with -9, or PostgreSQL away when the call
// ended) are taken from Asterisk's spool into the store, or the call is flagged. After a pass,
// every settled call has its recordings row and file (recording_status 'stored') or is flagged
// ('missing': Asterisk holds no file; 'failed': it could not be stored for failAfterMs).
// Idempotent: storeRecording keeps one row per name and the status update only moves unsettled
// calls, so two processes at it at once store one recording once.
import { isConnectionError } from '../db/health.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import { settleCallRecording, unsettledRecordingCalls, type UnsettledRecordingCall } from '../cdr/cdr.repository.js';
import { storedRow, storeRecording } from './recorder.js';
import type { RecordingStore } from './store.js';

export interface RecordingRecoveryOptions {
  /** From the call's end: until then the process that recorded it may still be settling it.
   * Its own process is skipped anyway (isLocal); another process racing the reconciler is safe
   * (one row per name; a flag never overwrites 'stored'), so this only avoids needless work. */
  graceMs: number;
  /** From the call's end: a file that still cannot be stored after this is flagged 'failed'. */
  failAfterMs: number;
  /** How long a recording stopped here is waited for to be finished by Asterisk. */
  stopWaitMs: number;
  /** How far back calls closed with no recording status are looked for (ones Asterisk still
   * holds a file of are taken whatever their age). */
  lookbackMs: number;
  /** Calls looked at per pass (oldest first; the next pass takes the rest). */
  batch: number;
  campaignIds?: string[];
}

export const defaultRecordingRecoveryOptions: RecordingRecoveryOptions = { graceMs: 60_000, failAfterMs: 3_600_000, lookbackMs: 86_400_000, stopWaitMs: 5_000, batch: 200 };

export interface RecordingRecoveryReport {
  /** Unsettled calls looked at. */
  looked: number;
  stored: number;
  missing: number;
  failed: number;
  /** Still being written by Asterisk for a call nobody owns any more: stopped here. */
  stopped: number;
  /** Left for a later pass (a store that failed, a recording still finishing). */
  retry: number;
}

export interface RecordingRecoveryDeps {
  db: Db;
  ari: AriGateway;
  store: RecordingStore;
  log: Logger;
}

const CALL_RECORDING = /^call-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export const recordingNameOf = (callId: string): string => `call-${callId}`;

/** One pass. `skip` names channels a live session of this process still owns. */
export async function recoverRecordings(
  deps: RecordingRecoveryDeps,
  opts: RecordingRecoveryOptions,
  skip: (channelId: string) => boolean = () => false,
  now = Date.now(),
): Promise<RecordingRecoveryReport> {
  const report: RecordingRecoveryReport = { looked: 0, stored: 0, missing: 0, failed: 0, stopped: 0, retry: 0 };
  // Calls whose file Asterisk holds, whatever their row says (the row's bridged_at or status may
  // never have been written: PostgreSQL away): every file gets its row.
  const inSpool = new Set((await deps.ari.storedRecordingNames()).map((n) => CALL_RECORDING.exec(n)?.[1]).filter((id): id is string => id !== undefined));
  const calls = await unsettledRecordingCalls(deps.db, { endedBefore: new Date(now - opts.graceMs), endedAfter: new Date(now - opts.lookbackMs), callIds: [...inSpool], campaignIds: opts.campaignIds, limit: opts.batch });
  for (const c of calls) {
    if (skip(c.channelId)) continue;
    report.looked++;
    try {
      report[await recoverOne(deps, opts, c, inSpool.has(c.id), now)]++;
    } catch (err) {
      if (isConnectionError(err)) throw err; // PostgreSQL away: the whole pass waits
      report.retry++;
      deps.log.error({ err, callId: c.id }, 'recovering a call\'s recording failed: retried next pass');
    }
  }
  if (report.looked) deps.log.warn(report, 'recordings reconciled with Asterisk\'s spool');
  return report;
}

async function recoverOne(
  deps: RecordingRecoveryDeps, opts: RecordingRecoveryOptions, c: UnsettledRecordingCall, listed: boolean, now: number,
): Promise<'stored' | 'missing' | 'failed' | 'stopped' | 'retry'> {
  const name = recordingNameOf(c.id);
  const { ari, db, log } = deps;
  // Stored, but the process died before noting it on the call.
  const row = await storedRow(db, name);
  if (row) {
    await ari.deleteStoredRecording(name);
    await settleCallRecording(db, c.id, { recordingId: row.id, status: 'stored' });
    return 'stored';
  }
  let stopped = false;
  if (await ari.liveRecording(name)) {
    // The call is over and its owner gone (past the grace period): nothing will stop it, and it
    // would grow until its maximum duration. Stopped, it is finished and stored like any other.
    await ari.stopRecording(name);
    stopped = true;
    const until = Date.now() + opts.stopWaitMs;
    while ((await ari.liveRecording(name)) && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    if (await ari.liveRecording(name)) return 'stopped';
  }
  if (listed || stopped || (await ari.storedRecordingExists(name))) {
    try {
      const rec = await storeRecording(deps, { callId: c.id, name, startedAt: c.bridgedAt ?? c.answeredAt ?? c.createdAt });
      await settleCallRecording(db, c.id, { recordingId: rec.id, status: 'stored' });
      log.info({ callId: c.id, recording: name, durationMs: rec.durationMs }, 'recording recovered from Asterisk\'s spool');
      return 'stored';
    } catch (err) {
      if (isConnectionError(err)) throw err;
      if (now - c.endedAt.getTime() < opts.failAfterMs) {
        log.error({ err, callId: c.id, recording: name }, 'storing a recovered recording failed: retried next pass');
        return 'retry';
      }
      await settleCallRecording(db, c.id, { recordingId: null, status: 'failed' });
      log.error({ err, callId: c.id, recording: name }, 'recording could not be stored: flagged failed on the call');
      return 'failed';
    }
  }
  await settleCallRecording(db, c.id, { recordingId: null, status: 'missing' });
  log.error({ callId: c.id, recording: name }, 'Asterisk holds no recording of an ended call: flagged missing');
  return 'missing';
}
