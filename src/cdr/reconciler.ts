// Every call Asterisk saw has exactly one CDR. Dialwell writes the call row before it originates
// (src/dialer/dialer.ts), so a channel of ours always has its row; what can go wrong is that the
// row is never closed, because the process that owned the call died or missed the channel's end
// (a crash, a restart, a lost websocket). The reconciler closes such rows from Asterisk's own
// record, and only rows still open, so no call is ever closed twice and no second row is made:
//   1. AMI Cdr events (cdr_manager), kept in memory as they arrive, and noted on their call;
//   2. the CEL record file (cel_custom): answer, hangup and Q.850 cause of every channel; unlike
//      AMI events it outlives a dialer that was down when the call ended.
// A row whose channel Asterisk no longer has and of which neither source knows anything was never
// originated (the process died between the insert and the originate) and is closed as such.
// Channels on Dialwell's trunks that have no row are kept in asterisk_orphan_calls.
// Each pass then settles the recordings of calls closed without theirs (src/recordings/recovery.ts).
import { healthOf, type Db } from '../db/database.js';
import { isConnectionError } from '../db/health.js';
import type { Fence } from '../cluster/leases.repository.js';
import type { Logger } from '../log.js';
import type { AmiCdr, AmiGateway } from '../pbx/ami.js';
import type { AriGateway } from '../pbx/ari.js';
import { CelFileUnavailableError, scanCelFile, type CelChannelRecord } from '../pbx/cel-records.js';
import { trunkNameOfChannel } from '../pbx/pjsip-config.js';
import { outcomeOf } from '../dialer/outcome.js';
import { defaultRecordingRecoveryOptions, recoverRecordings, type RecordingRecoveryOptions, type RecordingRecoveryReport } from '../recordings/recovery.js';
import type { RecordingStore } from '../recordings/store.js';
import { callDurations } from './durations.js';
import {
  callChannels, celWatermark, closeCall, insertOrphans, noteAsteriskRecords, openCalls, setCelWatermark, trunkIdsByName,
  type OpenCall, type OrphanCall,
} from './cdr.repository.js';

export interface CdrReconcilerOptions {
  /** cel_custom's JSON lines file; null to go without (AMI events only). */
  celFile: string | null;
  /** A call row younger than this may still be on its way to Asterisk (inserted, not yet originated). */
  graceMs: number;
  /** A call is closed from a record only this long after the end it records: until then the
   * process that owns the call (perhaps another one) may still be closing it with more detail. */
  settleMs: number;
  /** AMI Cdr events are matched to calls in batches this far apart. */
  amiBatchMs: number;
  /** How far back the first search for orphan calls goes (later ones start where the last stopped). */
  orphanLookbackMs: number;
  /** Only these campaigns' calls (tests share one database); all when absent. */
  campaignIds?: string[];
  /** Only the calls this node placed (and those placed before nodes existed): another node's calls
   * are not in this Asterisk, and must not be closed as gone from it. */
  nodeId?: string;
  /** The lease the node's engine holds it by: a close is written only while it holds (fencing). */
  fence?: () => Fence;
  /** Where recordings left in Asterisk's spool by a call nobody settled are stored; without it
   * recording reconciliation is off. */
  recordingStore?: RecordingStore;
  recordings?: Partial<Omit<RecordingRecoveryOptions, 'campaignIds'>>;
}

export const defaultCdrReconcilerOptions: CdrReconcilerOptions = {
  celFile: null,
  graceMs: 30_000,
  settleMs: 10_000,
  amiBatchMs: 5_000,
  orphanLookbackMs: 600_000,
};

export interface CdrReconcileReport {
  /** Open calls looked at. */
  open: number;
  /** Of those, channels Asterisk still has (left alone). */
  live: number;
  closedFromCel: number;
  closedFromCdr: number;
  /** Asterisk has no trace of the channel: never originated, or no record source available. */
  closedNoRecord: number;
  /** Ended too recently to close yet (see settleMs): the next pass takes them. */
  settling: number;
  orphans: number;
  celBytesRead: number;
  /** Recording reconciliation (null when off, or when it failed: logged). */
  recordings: RecordingRecoveryReport | null;
}

const MAX_CACHED_CDRS = 50_000;

export class CdrReconciler {
  /** Recent AMI Cdr events of trunk channels, by uniqueid. */
  private readonly cdrs = new Map<string, AmiCdr>();
  private pending: AmiCdr[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CdrReconcileReport> | null = null;
  private readonly opts: CdrReconcilerOptions;
  /** Whether this process still has a live session for the channel: such calls are its session's to close. */
  isLocal: (channelId: string) => boolean = () => false;

  constructor(
    private readonly db: Db,
    private readonly ari: AriGateway,
    private readonly ami: AmiGateway | null,
    private readonly log: Logger,
    opts: Partial<CdrReconcilerOptions> = {},
  ) {
    this.opts = { ...defaultCdrReconcilerOptions, ...opts };
  }

  /** Starts taking AMI Cdr events. */
  start(): void {
    this.ami?.on('cdr', (c) => {
      if (trunkNameOfChannel(c.channel) === null) return; // agents' softphones, Local channels
      this.cdrs.set(c.uniqueId, c);
      if (this.cdrs.size > MAX_CACHED_CDRS) this.cdrs.delete(this.cdrs.keys().next().value as string);
      this.pending.push(c);
    });
    this.timer = setInterval(
      () =>
        void this.flushAmi().catch((err: unknown) => {
          if (!healthOf(this.db).failed(err)) this.log.error({ err }, 'matching AMI Cdr events failed');
        }),
      this.opts.amiBatchMs,
    );
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Notes Asterisk's ids and disposition on the calls of the Cdr events received; records orphans;
   * a call still open after its Cdr arrived is closed by a reconcile pass. */
  async flushAmi(): Promise<{ matched: number; orphans: number; open: number }> {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return { matched: 0, orphans: 0, open: 0 };
    try {
      return await this.matchCdrs(batch);
    } catch (err) {
      // The database is away: the events wait for the next pass (their writes are idempotent).
      if (isConnectionError(err)) this.pending = batch.concat(this.pending).slice(-MAX_CACHED_CDRS);
      throw err;
    }
  }

  private async matchCdrs(batch: AmiCdr[]): Promise<{ matched: number; orphans: number; open: number }> {
    const calls = await callChannels(this.db, batch.map((c) => c.uniqueId));
    const matched = batch.filter((c) => calls.has(c.uniqueId));
    await noteAsteriskRecords(this.db, matched.map((c) => ({ uniqueId: c.uniqueId, linkedId: null, disposition: c.disposition || null })));
    const trunks = await trunkIdsByName(this.db);
    const orphans = await insertOrphans(this.db, batch.filter((c) => !calls.has(c.uniqueId)).flatMap((c) => this.orphanFromCdr(c, trunks)));
    const open = matched.filter((c) => calls.get(c.uniqueId)?.open && !this.isLocal(c.uniqueId)).length;
    if (orphans) this.log.warn({ orphans }, 'Asterisk reported calls on Dialwell trunks that have no call row');
    if (open) {
      setTimeout(
        () =>
          void this.reconcile().catch((err: unknown) => {
            if (!healthOf(this.db).failed(err)) this.log.error({ err }, 'reconciling CDRs failed');
          }),
        this.opts.settleMs,
      ).unref();
    }
    return { matched: matched.length, orphans, open };
  }

  private orphanFromCdr(c: AmiCdr, trunks: Map<string, string>): OrphanCall[] {
    const trunkId = trunks.get(trunkNameOfChannel(c.channel) ?? '');
    if (!trunkId) return []; // another deployment's trunk on a shared Asterisk
    return [{
      uniqueId: c.uniqueId, linkedId: null, channel: c.channel, trunkId, destination: c.destination || null,
      startedAt: c.startTime, answeredAt: c.answerTime, endedAt: c.endTime, disposition: c.disposition || null, source: 'asterisk-cdr', record: c.raw,
    }];
  }

  /**
   * One pass: closes calls left open whose channel Asterisk no longer has, from Asterisk's record.
   * `includeLocal` also takes calls this process's sessions hold (after the ARI websocket came back,
   * their events may be lost). Passes never overlap.
   */
  reconcile(opts: { includeLocal?: boolean; channelIds?: string[]; exclude?: (channelId: string) => boolean; asteriskDown?: boolean } = {}): Promise<CdrReconcileReport> {
    if (this.running) return this.running.then(() => this.reconcile(opts));
    this.running = this.pass(opts.includeLocal ?? false, opts.channelIds ?? null, opts.exclude ?? null, opts.asteriskDown ?? false).finally(() => (this.running = null));
    return this.running;
  }

  /**
   * Settles one call of ours whose originate timed out (the dialer's ChannelRecords): 'live' if
   * Asterisk has the channel; otherwise its row is closed from Asterisk's record, or, with none,
   * as never reached / lost (the originate is known to be over, so no grace period applies).
   */
  async settleChannel(channelId: string): Promise<'live' | 'closed'> {
    const r = await this.reconcile({ includeLocal: true, channelIds: [channelId] });
    return r.live > 0 ? 'live' : 'closed';
  }

  /** `asteriskDown`: the node's Asterisk is gone (stopped): none of its channels is live. */
  private async pass(includeLocal: boolean, channelIds: string[] | null, exclude: ((channelId: string) => boolean) | null, asteriskDown = false): Promise<CdrReconcileReport> {
    const report: CdrReconcileReport = { open: 0, live: 0, closedFromCel: 0, closedFromCdr: 0, closedNoRecord: 0, settling: 0, orphans: 0, celBytesRead: 0, recordings: null };
    const now = Date.now();
    const only = channelIds && new Set(channelIds);
    const candidates = (await openCalls(this.db, new Date(now), this.opts.campaignIds, this.opts.nodeId))
      .filter((c) => (includeLocal || !this.isLocal(c.channelId)) && (!only || only.has(c.channelId)) && !exclude?.(c.channelId));
    // A row younger than the grace period may belong to an originate still on its way: it is
    // closed only from a record of its channel's end, never as "no record" (unless the caller
    // named the channel: its originate is over).
    const young = (c: OpenCall) => !only && c.createdAt.getTime() >= now - this.opts.graceMs;
    report.open = candidates.length;
    let gone: OpenCall[] = [];
    if (candidates.length) {
      const live = new Set(asteriskDown ? [] : await this.ari.channelIds());
      gone = candidates.filter((c) => !live.has(c.channelId));
      report.live = candidates.length - gone.length;
    }

    // Asterisk's durable record: back to the oldest call to close, and to where the last search for orphans stopped.
    let cel: Map<string, CelChannelRecord> | null = null;
    let celNewest: Date | null = null;
    let trunks: Map<string, string> | null = null;
    if (this.opts.celFile) {
      const watermark = (await celWatermark(this.db)) ?? new Date(now - this.opts.orphanLookbackMs);
      const since = new Date(Math.min(watermark.getTime(), ...gone.map((c) => c.createdAt.getTime())));
      const wanted = new Set(gone.map((c) => c.channelId));
      try {
        const scan = await scanCelFile(this.opts.celFile, since, (id, channel) => wanted.has(id) || trunkNameOfChannel(channel) !== null);
        cel = scan.records;
        celNewest = scan.newest;
        report.celBytesRead = scan.bytesRead;
        trunks = await trunkIdsByName(this.db);
        report.orphans = await this.celOrphans(cel, trunks);
        // Events within the slack of the newest may still be followed by late ones: start there next time.
        if (scan.newest) await setCelWatermark(this.db, new Date(Math.min(scan.newest.getTime(), now) - 60_000));
      } catch (err) {
        if (!(err instanceof CelFileUnavailableError)) throw err;
        this.log.error({ err: err.message }, 'Asterisk\'s CEL record is unavailable: calls are closed from AMI Cdr events only');
      }
    }

    for (const c of gone) {
      const r = cel?.get(c.channelId);
      const cdr = this.cdrs.get(c.channelId);
      const end = r?.endedAt ?? cdr?.endTime ?? null;
      // This process's own sessions are settled by now (their events are lost or handled); others' may not be.
      if (end && end.getTime() > now - this.opts.settleMs && !this.isLocal(c.channelId)) {
        report.settling++;
        continue;
      }
      if (r?.endedAt) {
        if (await this.closeFromCel(c, r, cdr)) report.closedFromCel++;
      } else if (cdr) {
        if (await this.closeFromCdr(c, cdr)) report.closedFromCdr++;
      } else if (!young(c)) {
        // "Never reached Asterisk" only on evidence: the CEL record was being written after the
        // row was (CEL off, e.g. an Asterisk started with another configuration, must not make
        // real calls look never placed), it has no CHAN_START for the channel, and the row itself
        // saw no answer. Otherwise the call is "lost": it existed, and Asterisk kept no end
        // (killed before its HANGUP was written) or the record is unavailable.
        const celCovers = cel !== null && celNewest !== null && celNewest.getTime() > c.createdAt.getTime();
        const neverReached = celCovers && !r && c.answeredAt === null;
        if (await this.closeWithoutRecord(c, neverReached, r)) report.closedNoRecord++;
      }
    }
    if (report.open || report.orphans) this.log.warn({ ...report, recordings: undefined }, 'CDRs reconciled with Asterisk\'s records');
    // A settle of one named channel (an originate that timed out) has no recording to recover.
    if (this.opts.recordingStore && !only) report.recordings = await this.recoverRecordings(this.opts.recordingStore, exclude);
    return report;
  }

  private async recoverRecordings(store: RecordingStore, exclude: ((channelId: string) => boolean) | null): Promise<RecordingRecoveryReport | null> {
    // A call's own process may still be settling its recording for the same time it may still be closing the call.
    const opts = { ...defaultRecordingRecoveryOptions, graceMs: this.opts.settleMs, ...this.opts.recordings, campaignIds: this.opts.campaignIds };
    // Sessions of this process settle their own recordings, even with includeLocal (their events
    // may be lost, but their settle polls Asterisk, within the grace period).
    const skip = (channelId: string) => this.isLocal(channelId) || (exclude?.(channelId) ?? false);
    try {
      return await recoverRecordings({ db: this.db, ari: this.ari, store, log: this.log }, opts, skip);
    } catch (err) {
      if (isConnectionError(err)) throw err;
      this.log.error({ err }, 'reconciling recordings with Asterisk\'s spool failed');
      return null;
    }
  }

  private async celOrphans(cel: Map<string, CelChannelRecord>, trunks: Map<string, string>): Promise<number> {
    const ended = [...cel.values()].filter((r) => r.endedAt && trunks.has(trunkNameOfChannel(r.channel) ?? ''));
    const rows = await callChannels(this.db, ended.map((r) => r.uniqueId));
    return insertOrphans(this.db, ended.filter((r) => !rows.has(r.uniqueId)).map((r) => ({
      uniqueId: r.uniqueId, linkedId: r.linkedId || null, channel: r.channel, trunkId: trunks.get(trunkNameOfChannel(r.channel)!) ?? null,
      destination: null, startedAt: null, answeredAt: r.answeredAt, endedAt: r.endedAt, disposition: null, source: 'asterisk-cel' as const,
      record: { ...r },
    })));
  }

  private async close(c: OpenCall, end: { endedAt: Date; answeredAt: Date | null; cause: number | null; causeText: string; dialStatus: string | null; disposition: string | null; linkedId: string | null }, from: 'asterisk-cel' | 'asterisk-cdr'): Promise<boolean> {
    const answeredAt = c.answeredAt ?? end.answeredAt;
    // Answered but never joined to an agent: the customer was left without one (the dialer was gone).
    const outcome = outcomeOf({
      answered: answeredAt !== null, abandoned: answeredAt !== null && c.bridgedAt === null, dialStatus: end.dialStatus, cause: end.cause,
      ringSeconds: (end.endedAt.getTime() - (c.ringingAt ?? c.createdAt).getTime()) / 1000,
    });
    // Holds were not observed for the part of the call nobody watched: hold_ms stays null.
    const d = callDurations({ ringingAt: c.ringingAt, answeredAt, bridgedAt: c.bridgedAt, endedAt: end.endedAt, holds: null });
    const closed = await closeCall(this.db, c.id, c.attemptId, {
      ended_at: end.endedAt, answered_at: answeredAt, hangup_cause: end.cause, hangup_cause_text: end.causeText, outcome,
      ring_ms: d.ringMs, talk_ms: d.talkMs, hold_ms: null,
      reconciled_from: from, reconciled_at: new Date(), asterisk_uniqueid: c.channelId, asterisk_linkedid: end.linkedId, asterisk_disposition: end.disposition,
    }, { state: 'completed', outcome }, this.opts.fence?.() ?? null);
    if (closed) this.log.info({ callId: c.id, attemptId: c.attemptId, from, outcome, cause: end.cause }, 'call closed from Asterisk\'s record');
    return closed;
  }

  private closeFromCel(c: OpenCall, r: CelChannelRecord, cdr: AmiCdr | undefined): Promise<boolean> {
    return this.close(c, {
      endedAt: r.endedAt!, answeredAt: r.answeredAt, cause: r.hangupCause, causeText: `Asterisk CEL: cause ${r.hangupCause ?? '?'}${r.hangupSource ? ` from ${r.hangupSource}` : ''}`,
      dialStatus: r.dialStatus || null, disposition: cdr?.disposition || null, linkedId: r.linkedId || null,
    }, 'asterisk-cel');
  }

  private closeFromCdr(c: OpenCall, cdr: AmiCdr): Promise<boolean> {
    // A Cdr has no Q.850 cause: the disposition stands in for it (and decides the outcome).
    const dialStatus = { ANSWERED: 'ANSWER', 'NO ANSWER': 'NOANSWER', BUSY: 'BUSY', CONGESTION: 'CONGESTION', FAILED: 'CHANUNAVAIL' }[cdr.disposition] ?? null;
    return this.close(c, {
      endedAt: cdr.endTime ?? new Date(), answeredAt: cdr.answerTime, cause: null, causeText: `Asterisk CDR: ${cdr.disposition}`,
      dialStatus, disposition: cdr.disposition || null, linkedId: null,
    }, 'asterisk-cdr');
  }

  private async closeWithoutRecord(c: OpenCall, neverReached: boolean, r: CelChannelRecord | undefined): Promise<boolean> {
    const started = r !== undefined;
    const answeredAt = c.answeredAt ?? r?.answeredAt ?? null;
    // What is known: answered or not, joined or not; how it ended is not.
    const outcome = answeredAt ? (c.bridgedAt ? 'answered' : 'abandoned') : 'failed';
    const text = neverReached
      ? 'never reached Asterisk: no record of its channel (the dialer stopped between writing the call and originating it, or the originate never arrived)'
      : started
        ? 'lost: Asterisk had the channel but kept no record of its end (Asterisk stopped or restarted?)'
        : 'lost: Asterisk no longer has the channel and its CEL record does not cover the call (ASTERISK_CEL_FILE unset or unreadable, or CEL was off)';
    const closed = await closeCall(this.db, c.id, c.attemptId, {
      ended_at: new Date(), answered_at: answeredAt, hangup_cause_text: text, outcome, reconciled_from: 'no-record', reconciled_at: new Date(), hold_ms: null,
      asterisk_uniqueid: started ? c.channelId : null, asterisk_linkedid: r?.linkedId || null,
    }, { state: answeredAt ? 'completed' : 'failed', outcome }, this.opts.fence?.() ?? null);
    if (closed) this.log.warn({ callId: c.id, attemptId: c.attemptId, neverReached, started }, 'call closed with no record of its end from Asterisk');
    return closed;
  }
}
