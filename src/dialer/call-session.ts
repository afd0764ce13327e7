// One outbound call, from originate to its CDR: ringing → answered → joined to an agent (or
// abandoned after the connect timeout) → recorded → ended. Listeners are registered before the
// originate, so no early event is lost.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import type { AriEvent } from '../pbx/ari-types.js';
import type { RecordingStore } from '../recordings/store.js';
import { storeRecording } from '../recordings/recorder.js';
import type { AgentPool, AgentSession } from './agent-pool.js';
import type { EventRouter } from './event-router.js';
import { callDurations, HoldTracker } from '../cdr/durations.js';
import { updateCall, type CallWriter, type DialContext } from './dial.repository.js';
import { outcomeOf, type CallOutcome } from './outcome.js';

/** The longest a join waits for the recording announcement to report its end. */
const ANNOUNCEMENT_MAX_MS = 30_000;

export interface CallSessionDeps {
  db: Db;
  /** The call row's hot-path writes, batched across calls. */
  calls: CallWriter;
  ari: AriGateway;
  router: EventRouter;
  agents: AgentPool;
  store: RecordingStore;
  log: Logger;
  /** How long an answered customer may wait for an agent before the call is abandoned. */
  connectTimeoutMs: number;
  /** What an abandoned customer hears before the call ends (ARI media URIs). */
  abandonMedia: string[];
  maxCallSeconds: number;
}

export interface CallSummary {
  callId: string;
  attemptId: string;
  campaignId: string;
  /** When the originate was sent. */
  startedAt: Date;
  outcome: CallOutcome;
  agentId: string | null;
  answeredAt: Date | null;
  bridgedAt: Date | null;
  endedAt: Date;
  hangupCause: number | null;
  recordingId: string | null;
  /** Answer → both legs in one bridge, in ms. */
  connectMs: number | null;
}

export class CallSession {
  readonly startedAt = new Date();
  private ringingAt: Date | null = null;
  private answeredAt: Date | null = null;
  private bridgedAt: Date | null = null;
  private endedAt: Date | null = null;
  private dialStatus: string | null = null;
  private readonly holds = new HoldTracker();
  private agent: AgentSession | null = null;
  private abandoned = false;
  private machine = false;
  private lastPlayback: string | null = null;
  private recording: { name: string; startedAt: Date; stopped: boolean } | null = null;
  private recordingDone: Promise<string | null> = Promise.resolve(null);
  private announcement: { ids: string[]; lastId: string; done: Promise<void>; finish: () => void } | null = null;
  private resolveDone!: (s: CallSummary) => void;
  readonly done: Promise<CallSummary>;
  private readonly log: Logger;

  constructor(
    private readonly deps: CallSessionDeps,
    readonly ctx: DialContext,
    readonly callId: string,
    readonly channelId: string,
    /** The agent reserved for this call before it was dialed, if any. */
    private readonly assignedAgentId: string | null = null,
    /** The number the customer sees, read back in the information message. */
    private readonly callerIdShown: string | null = null,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    this.log = deps.log.child({ callId, attemptId: ctx.attempt.id, campaignId: ctx.campaign.id });
  }

  /** Where the call is now, for pacing: ringing, answered and waiting for an agent, with an agent, or over. */
  get phase(): 'dialing' | 'waiting' | 'bridged' | 'ended' {
    if (this.endedAt) return 'ended';
    if (this.bridgedAt) return 'bridged';
    if (this.answeredAt && !this.abandoned) return 'waiting';
    return this.answeredAt ? 'ended' : 'dialing';
  }

  /** Whether this call will still need a ready agent of its campaign (dialing or answered, none reserved for it). */
  get needsAgent(): boolean {
    const phase = this.phase;
    return (phase === 'dialing' || phase === 'waiting') && !this.assignedAgentId && !this.agent;
  }

  /** Registers the event handler; call before originating. */
  listen(): void {
    // One event at a time, in arrival order: a hangup that arrives while the customer is being
    // joined to an agent is handled after the join, never interleaved with it.
    this.deps.router.onChannel(this.channelId, (e) => {
      // The announcement's end (or the customer's hangup) wakes the join waiting for it, which
      // holds the queue this event would otherwise wait in.
      const a = this.announcement;
      if (a && ((e.type === 'PlaybackFinished' && e.playback.id === a.lastId) || e.type === 'ChannelDestroyed')) a.finish();
      this.events = this.events
        .then(() => this.handle(e))
        .catch((err: unknown) => this.log.error({ err, event: e.type }, 'call event handling failed'));
    });
  }

  private events: Promise<void> = Promise.resolve();

  private async handle(e: AriEvent): Promise<void> {
    switch (e.type) {
      case 'Dial':
        // The far end rings (180): the same moment the channel's state becomes Ringing, without
        // subscribing to ChannelStateChange (two events per call less for Asterisk to send). Kept
        // in memory and written with the call's end.
        if (e.dialstatus === 'RINGING' && !this.ringingAt) this.ringingAt = new Date(e.timestamp);
        if (e.dialstatus) this.dialStatus = e.dialstatus;
        return;
      case 'StasisStart':
        if (e.args[0] === 'customer-amd') return this.amdVerdict(e.args[2] ?? 'NOTSURE', e.args[3] ?? '');
        if (this.ctx.campaign.amd) return this.detectMachine(new Date(e.timestamp));
        return this.answered(new Date(e.timestamp));
      case 'PlaybackFinished':
        if (e.playback.id === this.lastPlayback) await this.deps.ari.hangup(this.channelId);
        return;
      case 'ChannelHold':
        return this.holds.hold(new Date(e.timestamp));
      case 'ChannelUnhold':
        return this.holds.unhold(new Date(e.timestamp));
      case 'ChannelDestroyed':
        return this.ended(new Date(e.timestamp), e.cause, e.cause_txt);
      default:
        return;
    }
  }

  /** Answered, with AMD on: the dialplan's AMD() listens first. */
  private async detectMachine(at: Date): Promise<void> {
    this.answeredAt = at;
    await this.deps.ari.continueInDialplan(this.channelId, 'dialwell-amd', 's', 1);
  }

  private async amdVerdict(status: string, cause: string): Promise<void> {
    const at = this.answeredAt ?? new Date();
    this.log.info({ amd: status, cause }, 'answering-machine detection');
    if (status === 'MACHINE') {
      this.machine = true;
      await updateCall(this.deps.db, this.callId, { answered_at: at });
      await this.deps.ari.hangup(this.channelId);
      return;
    }
    // HUMAN, or NOTSURE (treated as a person: an unsure call is never dropped).
    return this.answered(at);
  }

  private async answered(at: Date): Promise<void> {
    this.answeredAt = at;
    // A recorded call may first tell the customer so. The announcement counts as connecting: the
    // agent is still found within the connect timeout (2 s) of the answer, while it plays, or
    // the call is abandoned as before; the join itself waits for the announcement's end.
    const media = this.ctx.campaign.recordCalls ? this.ctx.campaign.recordingAnnouncement : null;
    const announcement = media?.length ? this.announce(media) : null;
    // A call for one agent (preview, callback) goes to that agent, reserved before the dial.
    const mine = this.assignedAgentId ? this.deps.agents.get(this.assignedAgentId) : undefined;
    const agent = mine && mine.state === 'reserved' ? mine : await this.deps.agents.reserveWithin(this.deps.connectTimeoutMs, this.ctx.campaign.id, this.callId);
    if (!agent) {
      if (announcement) await this.stopAnnouncement(announcement);
      await updateCall(this.deps.db, this.callId, { answered_at: at });
      return this.abandon();
    }
    if (announcement) {
      // Should the playback never report back, the join still happens.
      await Promise.race([announcement.done, new Promise((r) => setTimeout(r, ANNOUNCEMENT_MAX_MS).unref())]);
      this.announcement = null;
    }
    // Join first, write after: the customer is waiting; the database is not.
    try {
      await this.deps.ari.addToBridge(agent.bridgeId, this.channelId);
    } catch (err) {
      // Most often the customer hung up meanwhile (their ChannelDestroyed is next in line).
      this.deps.agents.release(agent.agentId);
      this.log.warn({ err: (err as Error).message, agentId: agent.agentId }, 'joining the customer to the agent failed');
      await updateCall(this.deps.db, this.callId, { answered_at: at });
      return;
    }
    this.agent = agent;
    this.bridgedAt = new Date();
    this.deps.agents.connected(agent.agentId, this.callId);
    this.log.info({ agentId: agent.agentId, connectMs: this.bridgedAt.getTime() - at.getTime() }, 'customer joined to agent');
    await this.deps.calls.bridged({ callId: this.callId, answeredAt: at, agentId: agent.agentId, bridgeId: agent.bridgeId, bridgedAt: this.bridgedAt });
    if (this.ctx.campaign.recordCalls) await this.startRecording(agent.bridgeId);
  }

  /** Queues the announcement on the customer's channel; its `done` settles when it has played. */
  private announce(media: string[]): NonNullable<CallSession['announcement']> {
    const base = randomUUID();
    const ids = media.map((_, i) => `${base}-${i}`);
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    const a = { ids, lastId: ids[ids.length - 1]!, done, finish };
    this.announcement = a;
    void (async () => {
      for (const [i, m] of media.entries()) await this.deps.ari.playOnChannel(this.channelId, m, ids[i]);
    })().catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'playing the recording announcement failed');
      finish();
    });
    return a;
  }

  private async stopAnnouncement(a: NonNullable<CallSession['announcement']>): Promise<void> {
    this.announcement = null;
    a.finish();
    for (const id of a.ids) {
      await this.deps.ari.stopPlayback(id).catch((err: unknown) => this.log.warn({ err: (err as Error).message, playbackId: id }, 'stopping the recording announcement failed'));
    }
  }

  private async startRecording(bridgeId: string): Promise<void> {
    const name = `call-${this.callId}`;
    const rec = { name, startedAt: new Date(), stopped: false };
    this.recording = rec;
    this.recordingDone = new Promise<string | null>((resolve) => {
      let settled = false;
      const finish = async (ok: boolean) => {
        if (settled) return;
        settled = true;
        this.deps.router.offRecording(name);
        if (!ok) return resolve(null);
        try {
          const stored = await storeRecording(this.deps, { callId: this.callId, name, startedAt: rec.startedAt });
          resolve(stored.id);
        } catch (err) {
          this.log.error({ err, recording: name }, 'storing the recording failed');
          resolve(null);
        }
      };
      this.deps.router.onRecording(name, (e) => {
        if (e.type === 'RecordingFinished') void finish(true);
        else if (e.type === 'RecordingFailed') {
          this.log.error({ recording: e.recording }, 'recording failed');
          void finish(false);
        }
      });
    });
    try {
      await this.deps.ari.recordBridge(bridgeId, name, this.deps.maxCallSeconds);
    } catch (err) {
      this.deps.router.offRecording(name);
      this.recording = null;
      this.recordingDone = Promise.resolve(null);
      this.log.error({ err }, 'starting the recording failed');
    }
  }

  private async stopRecording(): Promise<void> {
    const rec = this.recording;
    if (!rec || rec.stopped) return;
    rec.stopped = true;
    await this.deps.ari.stopRecording(rec.name);
  }

  /**
   * No agent within the connect timeout: the information message (the campaign's recording
   * naming the caller, or a stock one), then the number to call back (the caller id shown), then
   * the call ends, counted as abandoned.
   */
  private async abandon(): Promise<void> {
    this.abandoned = true;
    this.log.warn({ waitedMs: this.deps.connectTimeoutMs }, 'no agent ready: abandoning with the information message');
    const media = [...(this.ctx.campaign.informationMessage ?? this.deps.abandonMedia)];
    if (this.callerIdShown) media.push(`digits:${this.callerIdShown.replace(/\D/g, '')}`);
    this.lastPlayback = randomUUID();
    try {
      for (const [i, m] of media.entries()) {
        await this.deps.ari.playOnChannel(this.channelId, m, i === media.length - 1 ? this.lastPlayback : undefined);
      }
      // Should the playback never report back, the call still ends.
      setTimeout(() => void this.deps.ari.hangup(this.channelId).catch(() => undefined), 20_000).unref();
    } catch {
      await this.deps.ari.hangup(this.channelId).catch(() => undefined);
    }
  }

  /** Asterisk no longer has the channel (it restarted, or the channel ended while the event
   * websocket was down): close the call out with what is known. */
  async closeOutLost(reason: string): Promise<void> {
    const at = new Date();
    this.events = this.events.then(() => this.ended(at, null, `lost: ${reason}`));
    await this.events;
  }

  private async ended(at: Date, cause: number | null, causeText: string): Promise<void> {
    if (this.endedAt) return;
    this.endedAt = at;
    this.deps.router.offChannel(this.channelId);
    await this.stopRecording().catch((err: unknown) => this.log.warn({ err }, 'stopping the recording failed'));
    if (this.agent) {
      if (this.bridgedAt) this.deps.agents.callEnded(this.agent.agentId);
      else this.deps.agents.release(this.agent.agentId);
    } else if (this.assignedAgentId) {
      // Never answered: the agent held for it is free again.
      this.deps.agents.release(this.assignedAgentId);
    }
    const ringFrom = this.ringingAt ?? this.startedAt;
    const outcome = outcomeOf({
      answered: this.answeredAt !== null, abandoned: this.abandoned, machine: this.machine, dialStatus: this.dialStatus, cause,
      ringSeconds: (at.getTime() - ringFrom.getTime()) / 1000,
    });
    const d = callDurations({ ringingAt: this.ringingAt, answeredAt: this.answeredAt, bridgedAt: this.bridgedAt, endedAt: at, holds: this.holds.holds });
    const closed = await this.deps.calls.close({
      callId: this.callId, attemptId: this.ctx.attempt.id, endedAt: at, ringingAt: this.ringingAt, hangupCause: cause, hangupCauseText: causeText,
      outcome, attemptState: 'completed', ringMs: d.ringMs, talkMs: d.talkMs, holdMs: d.holdMs,
    });
    if (!closed) this.log.warn('the call was already closed from Asterisk\'s record: that CDR stands');
    const recordingId = await this.recordingDone;
    if (recordingId) await updateCall(this.deps.db, this.callId, { recording_id: recordingId });
    this.log.info({ outcome, cause, recordingId }, 'call ended');
    this.resolveDone({
      callId: this.callId,
      attemptId: this.ctx.attempt.id,
      campaignId: this.ctx.campaign.id,
      startedAt: this.startedAt,
      outcome,
      agentId: this.agent?.agentId ?? null,
      answeredAt: this.answeredAt,
      bridgedAt: this.bridgedAt,
      endedAt: at,
      hangupCause: cause,
      recordingId,
      connectMs: this.answeredAt && this.bridgedAt ? this.bridgedAt.getTime() - this.answeredAt.getTime() : null,
    });
  }

  /** The originate itself failed: close the call row so no CDR is left open. */
  async originateFailed(err: Error): Promise<void> {
    this.deps.router.offChannel(this.channelId);
    if (this.assignedAgentId) this.deps.agents.release(this.assignedAgentId);
    const at = new Date();
    this.endedAt = at;
    await this.deps.calls.close({
      callId: this.callId, attemptId: this.ctx.attempt.id, endedAt: at, ringingAt: null, hangupCause: null, hangupCauseText: err.message.slice(0, 500),
      outcome: 'failed', attemptState: 'failed', ringMs: null, talkMs: null, holdMs: null,
    });
    this.resolveDone({
      callId: this.callId, attemptId: this.ctx.attempt.id, campaignId: this.ctx.campaign.id, startedAt: this.startedAt, outcome: 'failed', agentId: null, answeredAt: null,
      bridgedAt: null, endedAt: at, hangupCause: null, recordingId: null, connectMs: null,
    });
  }
}
