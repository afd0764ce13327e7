// One outbound call, from originate to its CDR: ringing → answered → joined to an agent (or
// abandoned after the connect timeout) → recorded → ended. Listeners are registered before the
// originate, so no early event is lost. The end has two steps that never wait on each other:
// `closed` (the CDR is closed, the call is off the live view) as soon as the channel is gone, then
// `done` once the recording is stored or flagged (src/recordings/settle.ts, with a deadline).
import { randomUUID } from 'node:crypto';
import { healthOf, type Db } from '../db/database.js';
import { retryWhileUnreachable } from '../db/health.js';
import type { RecordingStatus } from '../db/schema.js';
import { ClientError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import type { AriEvent } from '../pbx/ari-types.js';
import type { RecordingStore } from '../recordings/store.js';
import { storeRecording } from '../recordings/recorder.js';
import { defaultSettleOptions, settleRecording, type RecordingSettleOptions } from '../recordings/settle.js';
import type { AgentPool, AgentSession } from './agent-pool.js';
import type { EventRouter } from './event-router.js';
import { callDurations, HoldTracker } from '../cdr/durations.js';
import { recordCallEvent, settleCallRecording, type CallWriter } from '../cdr/cdr.repository.js';
import { trunkDialString } from '../pbx/pjsip-config.js';
import type { DialContext } from './dial.repository.js';
import { outcomeOf, type CallOutcome } from './outcome.js';
import { answeredBeforeStasis } from './stasis-channels.js';

/** The longest a join waits for the recording announcement to report its end. */
const ANNOUNCEMENT_MAX_MS = 30_000;
/** The longest a closing message may play before the call is hung up all the same. */
const CLOSING_MAX_MS = 15_000;
/** How long a hangup waits for Asterisk's ChannelDestroyed before asking whether the channel is gone. */
const HANGUP_CONFIRM_MS = 8_000;

/** Why Dialwell itself ends a call (the hang-up API, a logout, the campaign's limit, a stop). */
export type CallEndReason = 'agent' | 'supervisor' | 'logout' | 'max-duration' | 'shutdown';

/**
 * Who or what ended the call, as the CDR says (calls.ended_by): a CallEndReason when Dialwell
 * asked; `customer` when the far end hung up (or refused, or was busy); `ring-timeout` when the
 * originate's ring timeout ran out; `abandoned` (no agent: the information message), `machine`
 * (answering machine), `lost` (Asterisk no longer had the channel), `originate-failed`.
 */
export type CallEndedBy = CallEndReason | 'customer' | 'ring-timeout' | 'abandoned' | 'machine' | 'lost' | 'originate-failed' | 'transfer-party';

/** Why a consultation ended without a transfer. */
export type ConsultEnd = 'cancelled' | 'refused' | 'no-answer' | 'target-lost' | 'failed';

/** A consultation as the agents' screens and the API show it. */
export interface ConsultView {
  from: string;
  fromName: string;
  target: 'agent' | 'number';
  /** The target agent's id, or the number. */
  to: string;
  toName: string;
  /** offered: the target agent has not accepted yet, or the number rings; talking: they talk. */
  phase: 'offered' | 'talking';
  mode: 'attended' | 'blind';
  since: string;
}

interface Consultation {
  from: AgentSession;
  target: { kind: 'agent'; agent: AgentSession } | { kind: 'number'; number: string; channelId: string; inBridge: boolean };
  phase: 'offered' | 'talking';
  mode: 'attended' | 'blind';
  since: Date;
  wasHeld: boolean;
  timer: NodeJS.Timeout;
  unwatch: () => void;
  decided: Promise<'talking' | ConsultEnd>;
  decide: (r: 'talking' | ConsultEnd) => void;
}

/** A call-control request that does not fit the call's state (no agent yet, already on hold...). */
export class CallControlError extends ClientError {
  override readonly name = 'CallControlError';
}

const sleep = (ms: number) => new Promise<null>((r) => setTimeout(() => r(null), ms).unref());

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
  /** What a customer hears before Dialwell ends the call (max duration, stop), unless the campaign names its own. */
  closingMedia: string[];
  /** The longest a recording runs (a guard for the recordings disk; a campaign limit above it raises it). */
  maxCallSeconds: number;
  recordingSettle?: RecordingSettleOptions;
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
  endedBy: CallEndedBy;
  /** Set in `done` (null in `closed`): the stored recording. */
  recordingId: string | null;
  /** Set in `done`: stored, or flagged missing/failed; null when the call was not recorded. */
  recordingStatus: RecordingStatus | null;
  /** Answer → both legs in one bridge, in ms. */
  connectMs: number | null;
}

interface LiveRecording {
  name: string;
  startedAt: Date;
  stopped: boolean;
  /** Asterisk's report of this segment's end; may never come. */
  reported: Promise<'finished' | 'failed'>;
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
  private recording: LiveRecording | null = null;
  private recordingStartFailed = false;
  private announcement: { ids: string[]; lastId: string; done: Promise<void>; finish: () => void } | null = null;
  /** Set by the first of Dialwell's own reasons to end the call; the CDR's ended_by. */
  private endRequested: CallEndedBy | null = null;
  private closing = false;
  private held = false;
  private consultation: Consultation | null = null;
  /** Set once the call was transferred to an outside number: its channel and bridge. */
  private outside: { number: string; channelId: string; bridgeId: string } | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private resolveClosed!: (s: CallSummary) => void;
  /** The CDR is closed (or its close was tried) and the call is over: the live view drops it. */
  readonly closed: Promise<CallSummary>;
  private resolveDone!: (s: CallSummary) => void;
  /** The recording too is stored or flagged. */
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
    this.closed = new Promise((r) => (this.resolveClosed = r));
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
      case 'StasisStart': {
        if (e.args[0] === 'customer-amd') return this.amdVerdict(e.args[2] ?? 'NOTSURE', e.args[3] ?? '');
        // Already taken over as answered (adoptAnswered): its StasisStart came late.
        if (this.answeredAt || this.endedAt) return;
        const waited = answeredBeforeStasis(e);
        if (waited) return this.answeredWhileUnheard(waited);
        if (this.ctx.campaign.amd) return this.detectMachine(new Date(e.timestamp));
        return this.answered(new Date(e.timestamp));
      }
      case 'PlaybackFinished':
        if (e.playback.id === this.lastPlayback) await this.finishCall();
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

  /**
   * Answered at `at` while no engine listened on the application (the dialplan kept the customer
   * up until this one did): joined within what is left of the connect rule, else the
   * information message and abandoned.
   */
  private async answeredWhileUnheard(at: Date): Promise<void> {
    const left = this.deps.connectTimeoutMs - (Date.now() - at.getTime());
    if (left <= 0) {
      this.answeredAt = at;
      this.log.warn({ answeredAt: at }, 'the customer answered while no engine listened, past the connect rule: information message');
      await this.deps.calls.update(this.callId, { answered_at: at });
      return this.abandon();
    }
    if (this.ctx.campaign.amd) return this.detectMachine(at);
    return this.answered(at, left);
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
      this.endRequested ??= 'machine';
      await this.deps.calls.update(this.callId, { answered_at: at });
      await this.deps.ari.hangup(this.channelId);
      return;
    }
    // HUMAN, or NOTSURE (treated as a person: an unsure call is never dropped).
    return this.answered(at);
  }

  private async answered(at: Date, joinWithinMs = this.deps.connectTimeoutMs): Promise<void> {
    this.answeredAt = at;
    this.armMaxDuration(at);
    // A recorded call may first tell the customer so. The announcement counts as connecting: the
    // agent is still found within the connect timeout (2 s) of the answer, while it plays, or
    // the call is abandoned as before; the join itself waits for the announcement's end.
    const media = this.ctx.campaign.recordCalls ? this.ctx.campaign.recordingAnnouncement : null;
    const announcement = media?.length ? this.announce(media) : null;
    // A call for one agent (preview, callback) goes to that agent, reserved before the dial.
    const mine = this.assignedAgentId ? this.deps.agents.get(this.assignedAgentId) : undefined;
    const agent = mine && mine.state === 'reserved' ? mine : await this.deps.agents.reserveWithin(joinWithinMs, this.ctx.campaign.id, this.callId);
    if (!agent) {
      if (announcement) await this.stopAnnouncement(announcement);
      await this.deps.calls.update(this.callId, { answered_at: at });
      return this.abandon();
    }
    if (announcement) {
      // Should the playback never report back, the join still happens.
      await Promise.race([announcement.done, sleep(ANNOUNCEMENT_MAX_MS)]);
      this.announcement = null;
    }
    if (this.endRequested) {
      // Ended meanwhile (a stop, the limit): the customer is not joined to anyone.
      this.deps.agents.release(agent.agentId);
      await this.deps.calls.update(this.callId, { answered_at: at });
      return;
    }
    // Join first, write after: the customer is waiting; the database is not.
    try {
      await this.deps.ari.addToBridge(agent.bridgeId, this.channelId);
    } catch (err) {
      // Most often the customer hung up meanwhile (their ChannelDestroyed is next in line).
      this.deps.agents.release(agent.agentId);
      this.log.warn({ err: (err as Error).message, agentId: agent.agentId }, 'joining the customer to the agent failed');
      await this.deps.calls.update(this.callId, { answered_at: at });
      return;
    }
    this.agent = agent;
    this.bridgedAt = new Date();
    this.deps.agents.connected(agent.agentId, this.callId);
    this.log.info({ agentId: agent.agentId, connectMs: this.bridgedAt.getTime() - at.getTime() }, 'customer joined to agent');
    // The join's write may wait the call writer's gather window (CallWriter): nothing the customer
    // or the agent notices waits on it. The recording starts meanwhile, and the channel's next
    // events (its end above all) are not held behind it; the end, written after the join (one
    // batch at a time, in order), carries it if it has not gone yet.
    void this.deps.calls.bridged({ callId: this.callId, answeredAt: at, agentId: agent.agentId, bridgeId: agent.bridgeId, bridgedAt: this.bridgedAt })
      .catch((err: unknown) => this.log.error({ err }, 'writing the join to the agent on the call row failed'));
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

  /**
   * Records the agent's bridge. `append` continues the call's file after a transfer to another
   * agent's bridge, so a call keeps one recording.
   */
  private async startRecording(bridgeId: string, append = false): Promise<void> {
    const name = `call-${this.callId}`;
    let report!: (r: 'finished' | 'failed') => void;
    const reported = new Promise<'finished' | 'failed'>((r) => (report = r));
    const previous = this.recording;
    const rec: LiveRecording = { name, startedAt: previous?.startedAt ?? new Date(), stopped: false, reported };
    this.deps.router.onRecording(name, (e) => {
      if (e.type === 'RecordingFinished') report('finished');
      else if (e.type === 'RecordingFailed') {
        this.log.error({ recording: e.recording }, 'recording failed');
        report('failed');
      }
    });
    this.recording = rec;
    try {
      // A campaign limit above the global one raises the recording's own, so the whole call is recorded.
      const limit = Math.max(this.deps.maxCallSeconds, (this.ctx.campaign.maxCallSeconds ?? 0) + 60);
      await this.deps.ari.recordBridge(bridgeId, name, limit, append ? 'append' : 'fail');
    } catch (err) {
      this.deps.router.offRecording(name);
      // After a transfer the first part is still Asterisk's to store; a first start has nothing.
      this.recording = append ? previous : null;
      // Flagged on the CDR (recording_status failed), never silently absent.
      if (!append) this.recordingStartFailed = true;
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
   * Stores the recording from what Asterisk has, whether or not it reports the end, or flags it
   * missing/failed on the call after the settle deadline; the call row gets its recording_id.
   */
  private async settleRecording(rec: LiveRecording, stopping: Promise<void>): Promise<{ id: string | null; status: RecordingStatus }> {
    await stopping;
    const { ari } = this.deps;
    const result = await settleRecording({
      reported: rec.reported,
      fileReady: async () => (await ari.liveRecording(rec.name)) === null && (await ari.storedRecordingExists(rec.name)),
      store: async () => (await storeRecording(this.deps, { callId: this.callId, name: rec.name, startedAt: rec.startedAt })).id,
    }, this.deps.recordingSettle ?? defaultSettleOptions);
    this.deps.router.offRecording(rec.name);
    const outcome = result.status === 'stored' ? { id: result.value, status: 'stored' as const } : { id: null, status: result.status };
    if (result.status === 'stored') this.log.info({ recording: rec.name, via: result.via, polls: result.tries }, 'recording stored');
    else this.log.error({ recording: rec.name, status: result.status, reason: result.reason }, 'recording not stored: flagged on the call');
    // A flag never overwrites a recording the reconciler stored meanwhile (src/recordings/recovery.ts);
    // the write waits out a database outage like the rest of the call's end.
    await retryWhileUnreachable(healthOf(this.deps.db), () => settleCallRecording(this.deps.db, this.callId, { recordingId: outcome.id, status: outcome.status }));
    return outcome;
  }

  /**
   * No agent within the connect timeout: the information message (the campaign's recording
   * naming the caller, or a stock one), then the number to call back (the caller id shown), then
   * the call ends, counted as abandoned.
   */
  private async abandon(): Promise<void> {
    this.abandoned = true;
    this.endRequested ??= 'abandoned';
    this.log.warn({ waitedMs: this.deps.connectTimeoutMs }, 'no agent ready: abandoning with the information message');
    const media = [...(this.ctx.campaign.informationMessage ?? this.deps.abandonMedia)];
    if (this.callerIdShown) media.push(`digits:${this.callerIdShown.replace(/\D/g, '')}`);
    await this.playThenEnd(media, 20_000);
  }

  /** Plays media to the customer, then ends the call at the last one's PlaybackFinished (or after
   * maxMs, should the playback never report back). */
  private async playThenEnd(media: string[], maxMs: number): Promise<void> {
    this.lastPlayback = randomUUID();
    try {
      for (const [i, m] of media.entries()) {
        await this.deps.ari.playOnChannel(this.channelId, m, i === media.length - 1 ? this.lastPlayback : undefined);
      }
      this.timers.push(setTimeout(() => void this.finishCall().catch(() => undefined), maxMs).unref());
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'playing to the customer failed: ending the call now');
      await this.finishCall().catch(() => undefined);
    }
  }

  /** Stops the recording first (Asterisk finishes the file while the bridge still exists), then hangs up. */
  private async finishCall(): Promise<void> {
    await this.stopRecording().catch((err: unknown) => this.log.warn({ err }, 'stopping the recording failed'));
    await this.deps.ari.hangup(this.channelId);
  }

  /** The campaign's maximum call duration (seed rule 12), counted from the answer. */
  private armMaxDuration(answeredAt: Date): void {
    const limit = this.ctx.campaign.maxCallSeconds;
    if (!limit) return;
    const left = Math.max(0, answeredAt.getTime() + limit * 1000 - Date.now());
    this.timers.push(setTimeout(() => {
      this.log.info({ maxCallSeconds: limit }, 'maximum call duration reached: closing message, then the call ends');
      void this.endWithClosingMessage('max-duration').catch((err: unknown) => this.log.error({ err }, 'ending the call at its maximum duration failed'));
    }, left).unref());
  }

  /**
   * Ends the call for `reason`, the customer hearing a short closing message first when answered
   * (the campaign's closingMessage, else the dialer's closingMedia, e.g. sound:goodbye). Resolves
   * once the CDR is closed (the recording settles after, see `done`).
   */
  async endWithClosingMessage(reason: CallEndReason): Promise<void> {
    this.endRequested ??= reason;
    if (this.endedAt) {
      await this.closed;
      return;
    }
    if (!this.closing && !this.abandoned) {
      this.closing = true;
      if (this.answeredAt) {
        if (this.held) await this.deps.ari.stopMoh(this.channelId).catch(() => undefined);
        const media = this.ctx.campaign.closingMessage?.length ? this.ctx.campaign.closingMessage : this.deps.closingMedia;
        await this.playThenEnd(media, CLOSING_MAX_MS);
      } else {
        await this.finishCall();
      }
    }
    await this.untilClosed(CLOSING_MAX_MS + HANGUP_CONFIRM_MS);
  }

  /** Hangs the call up now for `reason`; resolves with the closed call. */
  async hangup(reason: CallEndReason): Promise<CallSummary> {
    this.endRequested ??= reason;
    if (!this.endedAt) await this.finishCall();
    return this.untilClosed(HANGUP_CONFIRM_MS);
  }

  /**
   * Waits for the call's close; should Asterisk's ChannelDestroyed not come within `ms`, asks it
   * whether the channel still exists and closes the call out when it does not.
   */
  private async untilClosed(ms: number): Promise<CallSummary> {
    const closed = await Promise.race([this.closed, sleep(ms)]);
    if (closed) return closed;
    const live = await this.deps.ari.channelIds();
    if (live.includes(this.channelId)) throw new CallControlError(`Asterisk has not ended call ${this.callId} ${ms} ms after its hangup; try again`, 502);
    await this.closeOutLost('no ChannelDestroyed came after the hangup');
    return this.closed;
  }

  /** Call-control requests run one at a time (a hold and a transfer never interleave). */
  private control: Promise<unknown> = Promise.resolve();

  private serially<T>(run: () => Promise<T>): Promise<T> {
    const next = this.control.then(run, run);
    this.control = next.catch(() => undefined);
    return next;
  }

  private requireAgent(action: string): AgentSession {
    if (this.endedAt) throw new CallControlError(`call ${this.callId} has already ended`, 409);
    if (this.closing || this.endRequested) throw new CallControlError(`call ${this.callId} is ending; cannot ${action}`, 409);
    if (!this.agent || !this.bridgedAt) throw new CallControlError(`call ${this.callId} is not with an agent yet; cannot ${action}`, 409);
    if (this.outside) throw new CallControlError(`call ${this.callId} was transferred to ${this.outside.number}; cannot ${action}`, 409);
    return this.agent;
  }

  get onHold(): boolean {
    return this.held;
  }

  /**
   * Puts the customer on hold: out of the agent's bridge (the recording goes on, with the agent
   * alone), hearing music on hold. The CDR's hold_ms counts it (HoldTracker, with the customer's
   * own holds).
   */
  hold(): Promise<void> {
    return this.serially(async () => {
      const agent = this.requireAgent('hold');
      if (this.held) throw new CallControlError(`call ${this.callId} is already on hold`, 409);
      await this.putOnHold(agent);
    });
  }

  /** Takes the customer off hold, back into the agent's bridge. */
  resume(): Promise<void> {
    return this.serially(async () => {
      const agent = this.requireAgent('resume');
      if (!this.held) throw new CallControlError(`call ${this.callId} is not on hold`, 409);
      if (this.consultation) throw new CallControlError(`call ${this.callId} has a consultation in progress; complete or cancel it`, 409);
      await this.deps.ari.stopMoh(this.channelId);
      await this.deps.ari.addToBridge(agent.bridgeId, this.channelId);
      this.held = false;
      this.holds.unhold(new Date());
    });
  }

  /**
   * Blind transfer: the customer leaves this agent's bridge for `to`'s (reserved by the caller).
   * The recording stops on the first bridge and goes on in the same file on the second
   * (ifExists append), so the call keeps one recording. The first agent goes to wrap-up.
   */
  transfer(to: AgentSession): Promise<{ from: string; to: string }> {
    return this.serially(async () => {
      const from = this.requireAgent('transfer');
      if (this.consultation) throw new CallControlError(`call ${this.callId} has a consultation in progress; complete or cancel it first`, 409);
      if (from.agentId === to.agentId) throw new CallControlError(`call ${this.callId} is already with agent ${to.name}`, 409);
      await this.moveCustomerTo(from, to);
      return { from: from.agentId, to: to.agentId };
    });
  }

  /** The customer (held or in `from`'s bridge) joins `to`'s bridge; the recording follows (append). */
  private async moveCustomerTo(from: AgentSession, to: AgentSession): Promise<void> {
    const rec = this.recording;
    if (rec && !rec.stopped) {
      await this.stopRecording();
      await this.segmentWritten(rec);
    }
    if (this.held) await this.deps.ari.stopMoh(this.channelId);
    else await this.deps.ari.removeFromBridge(from.bridgeId, this.channelId);
    try {
      await this.deps.ari.addToBridge(to.bridgeId, this.channelId);
    } catch (err) {
      // The customer goes back to the first agent (held or not, as before), recorded again.
      await this.deps.ari.addToBridge(from.bridgeId, this.channelId).catch(() => undefined);
      if (rec) await this.startRecording(from.bridgeId, true);
      this.held = false;
      this.holds.unhold(new Date());
      throw new CallControlError(`transferring call ${this.callId} to agent ${to.name} failed: ${(err as Error).message}`, 502);
    }
    if (this.held) {
      this.held = false;
      this.holds.unhold(new Date());
    }
    this.agent = to;
    this.deps.agents.callEnded(from.agentId);
    this.deps.agents.connected(to.agentId, this.callId);
    if (rec) await this.startRecording(to.bridgeId, true);
    this.log.info({ from: from.agentId, to: to.agentId }, 'call transferred');
  }

  // ── Attended transfer (consultation) and transfer to an outside number ─────────────────────
  // The customer waits on hold (music) while the agent consults the target: another agent (their
  // softphone, nailed up in their own bridge, joins this agent's bridge once they accept) or an
  // outside number (a channel originated over the call's trunk, joined once it answers). Then
  // complete (the customer goes to the target; the recording follows) or cancel (the target goes
  // back, the customer resumes with the agent). A target that refuses, does not answer within the
  // deadline or goes away ends the consultation the same way as a cancel. Every step runs in the
  // call-control queue (serially), events and deadlines too.

  /** The consultation in progress, as the agents' screens show it. */
  get consultView(): ConsultView | null {
    const c = this.consultation;
    if (!c) return null;
    const t = c.target;
    return {
      from: c.from.agentId, fromName: c.from.name, target: t.kind, to: t.kind === 'agent' ? t.agent.agentId : t.number,
      toName: t.kind === 'agent' ? t.agent.name : t.number, phase: c.phase, mode: c.mode, since: c.since.toISOString(),
    };
  }

  /** The agent a consultation of this call waits on or talks with, if any. */
  get consultTargetAgentId(): string | null {
    const t = this.consultation?.target;
    return t?.kind === 'agent' ? t.agent.agentId : null;
  }

  /** The channel of the outside number being consulted or transferred to (a leg of this call). */
  get transferLegChannelId(): string | null {
    const t = this.consultation?.target;
    return t?.kind === 'number' ? t.channelId : (this.outside?.channelId ?? null);
  }

  /** The outside number the call was transferred to (the customer is with it, no agent is). */
  get transferredOutTo(): string | null {
    return this.outside?.number ?? null;
  }

  /**
   * Starts a consultation: the customer on hold, the target offered the call (an agent reserved
   * by the caller must accept within `answerMs`; a number rings for as long). `blind` (numbers
   * only): once the number answers the customer is joined to it at once, without the agent.
   */
  startConsult(target: { kind: 'agent'; agent: AgentSession } | { kind: 'number'; number: string; trunkName: string }, mode: 'attended' | 'blind', answerMs: number): Promise<{ view: ConsultView; decided: Promise<'talking' | ConsultEnd> }> {
    return this.serially(async () => {
      const from = this.requireAgent('consult');
      if (this.consultation) throw new CallControlError(`call ${this.callId} already has a consultation in progress`, 409);
      if (target.kind === 'agent' && target.agent.agentId === from.agentId) throw new CallControlError('an agent cannot consult themselves', 409);
      const wasHeld = this.held;
      if (!this.held) await this.putOnHold(from);
      let decide!: (r: 'talking' | ConsultEnd) => void;
      const decided = new Promise<'talking' | ConsultEnd>((r) => (decide = r));
      const c: Consultation = {
        from, mode, phase: 'offered', since: new Date(), decided, decide, wasHeld, unwatch: () => {},
        target: target.kind === 'agent' ? target : { kind: 'number', number: target.number, channelId: randomUUID(), inBridge: false },
        timer: setTimeout(() => void this.serially(() => this.endConsult(c, 'no-answer', true)).catch(() => undefined), answerMs),
      };
      c.timer.unref();
      this.consultation = c;
      const t = c.target;
      if (t.kind === 'agent') {
        // The target stays reserved for the whole consultation; any other state (logged out, the
        // browser phone gone and paused) ends it.
        const watch = (s: AgentSession) => {
          if (s.agentId === t.agent.agentId && s.state !== 'reserved' && this.consultation === c) void this.serially(() => this.endConsult(c, 'target-lost', true)).catch(() => undefined);
        };
        this.deps.agents.on('state', watch);
        c.unwatch = () => this.deps.agents.off('state', watch);
      } else {
        this.deps.router.onChannel(t.channelId, (e) => this.outsideEvent(c, e));
        c.unwatch = () => this.deps.router.offChannel(t.channelId);
        try {
          await this.deps.ari.originate({
            endpoint: trunkDialString(t.number, target.kind === 'number' ? target.trunkName : ''),
            channelId: t.channelId,
            app: this.deps.ari.app,
            appArgs: `transfer,${this.callId}`,
            ...(this.callerIdShown ? { callerId: `"${this.ctx.campaign.name.replace(/["\\]/g, '')}" <${this.callerIdShown}>` } : {}),
            timeout: Math.max(1, Math.round(answerMs / 1000)),
          });
        } catch (err) {
          await this.endConsult(c, 'failed', false);
          throw new CallControlError(`calling ${t.number} failed: ${(err as Error).message}`, 502);
        }
      }
      this.log.info({ to: this.consultView?.to, mode }, 'consultation started');
      return { view: this.consultView!, decided };
    });
  }

  /** The target agent accepts: their softphone joins the consulting agent's bridge. */
  acceptConsult(agentId: string): Promise<ConsultView> {
    return this.serially(async () => {
      const c = this.consultation;
      if (!c || c.target.kind !== 'agent' || c.target.agent.agentId !== agentId) throw new CallControlError(`no consultation is offered to agent ${agentId} on call ${this.callId}`, 409);
      if (c.phase !== 'offered') throw new CallControlError('the consultation was already accepted', 409);
      const b = c.target.agent;
      try {
        await this.deps.ari.removeFromBridge(b.bridgeId, b.channelId);
        await this.deps.ari.addToBridge(c.from.bridgeId, b.channelId);
      } catch (err) {
        await this.endConsult(c, 'failed', true);
        throw new CallControlError(`joining agent ${b.name} to the consultation failed: ${(err as Error).message}`, 502);
      }
      this.talking(c);
      return this.consultView!;
    });
  }

  private talking(c: Consultation): void {
    clearTimeout(c.timer);
    c.phase = 'talking';
    c.decide('talking');
  }

  /** Events of the outside number's channel: its answer, its end. */
  private outsideEvent(c: Consultation, e: AriEvent): void {
    if (c.target.kind !== 'number') return;
    const t = c.target;
    if (e.type === 'StasisStart') {
      void this.serially(async () => {
        if (this.consultation !== c || c.phase !== 'offered') return;
        // Attended: the agent talks to the number first. Blind: straight on to the customer.
        if (c.mode === 'attended') {
          await this.deps.ari.addToBridge(c.from.bridgeId, t.channelId);
          t.inBridge = true;
        }
        this.talking(c);
      }).catch((err: unknown) => {
        this.log.warn({ err: (err as Error).message }, 'joining the answered number failed');
        void this.serially(() => this.endConsult(c, 'failed', true)).catch(() => undefined);
      });
    } else if (e.type === 'ChannelDestroyed') {
      const reason: ConsultEnd = c.phase === 'talking' ? 'target-lost' : e.cause === 17 || e.cause === 21 ? 'refused' : e.cause === 19 || e.cause === 18 ? 'no-answer' : 'failed';
      void this.serially(() => this.endConsult(c, reason, true, `${e.cause_txt} (cause ${e.cause})`)).catch(() => undefined);
    }
  }

  /** Cancels the consultation (`refused`: the target agent declined); the customer resumes with the agent. */
  cancelConsult(reason: 'cancelled' | 'refused'): Promise<{ to: string; reason: ConsultEnd }> {
    return this.serially(async () => {
      const c = this.consultation;
      if (!c) throw new CallControlError(`call ${this.callId} has no consultation in progress`, 409);
      const to = this.consultView!.to;
      await this.endConsult(c, reason, false);
      return { to, reason };
    });
  }

  /**
   * Ends a consultation without a transfer: the target agent goes back to their bridge and to
   * ready, an outside number is hung up, the customer resumes with the agent. `auto`: not asked
   * through the API (a deadline, a refusal by the far end, a target gone), noted on the CDR here.
   */
  private async endConsult(c: Consultation, reason: ConsultEnd, auto: boolean, detail?: string): Promise<void> {
    if (this.consultation !== c) return;
    this.consultation = null;
    clearTimeout(c.timer);
    c.unwatch();
    const t = c.target;
    if (t.kind === 'agent') {
      if (c.phase === 'talking') await this.sendHome(c.from, t.agent);
      this.deps.agents.release(t.agent.agentId);
    } else {
      await this.deps.ari.hangup(t.channelId).catch(() => undefined);
    }
    if (!this.endedAt && !this.endRequested) {
      await this.deps.ari.stopMoh(this.channelId).catch(() => undefined);
      try {
        await this.deps.ari.addToBridge(c.from.bridgeId, this.channelId);
        this.held = false;
        this.holds.unhold(new Date());
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'resuming the customer after the consultation failed');
      }
    }
    c.decide(reason);
    this.log.info({ reason, detail }, 'consultation ended without a transfer');
    if (auto) {
      const to = t.kind === 'agent' ? t.agent.agentId : t.number;
      await recordCallEvent(this.deps.db, { callId: this.callId, kind: 'consult', actor: 'system', agentId: c.from.agentId, details: { step: reason, to, target: t.kind, ...(detail ? { detail } : {}) } })
        .catch((err: unknown) => this.log.warn({ err }, 'noting the consultation\'s end failed'));
    }
  }

  /** A target agent's softphone back from the consultation into their own bridge. */
  private async sendHome(from: AgentSession, b: AgentSession): Promise<void> {
    await this.deps.ari.removeFromBridge(from.bridgeId, b.channelId).catch(() => undefined);
    await this.deps.ari.addToBridge(b.bridgeId, b.channelId).catch((err: unknown) => this.log.warn({ err: (err as Error).message, agentId: b.agentId }, 'putting the consulted agent back into their bridge failed'));
  }

  /**
   * Completes the consultation: the customer joins the target (an agent's bridge; for a number, a
   * bridge of its own with the number's channel), the recording goes on in the same file there,
   * and the consulting agent goes to wrap-up.
   */
  completeConsult(): Promise<{ from: string; to: string; target: 'agent' | 'number'; mode: 'attended' | 'blind' }> {
    return this.serially(async () => {
      const c = this.consultation;
      if (!c) throw new CallControlError(`call ${this.callId} has no consultation in progress`, 409);
      if (c.phase !== 'talking') throw new CallControlError(`${this.consultView!.toName} has not answered yet; wait or cancel`, 409);
      const t = c.target;
      this.consultation = null;
      clearTimeout(c.timer);
      c.unwatch();
      if (t.kind === 'agent') {
        await this.sendHome(c.from, t.agent);
        try {
          await this.moveCustomerTo(c.from, t.agent);
        } catch (err) {
          this.deps.agents.release(t.agent.agentId);
          throw err;
        }
        return { from: c.from.agentId, to: t.agent.agentId, target: 'agent' as const, mode: c.mode };
      }
      await this.joinOutside(c.from, t);
      return { from: c.from.agentId, to: t.number, target: 'number' as const, mode: c.mode };
    });
  }

  /** The customer and the answered number in a bridge of their own; the agent leaves for wrap-up. */
  private async joinOutside(from: AgentSession, t: { number: string; channelId: string; inBridge: boolean }): Promise<void> {
    const bridgeId = randomUUID();
    const rec = this.recording;
    try {
      await this.deps.ari.createBridge(bridgeId, 'mixing', `transfer-${this.callId}`);
      if (rec && !rec.stopped) {
        await this.stopRecording();
        await this.segmentWritten(rec);
      }
      if (t.inBridge) await this.deps.ari.removeFromBridge(from.bridgeId, t.channelId);
      if (this.held) await this.deps.ari.stopMoh(this.channelId);
      await this.deps.ari.addToBridge(bridgeId, this.channelId);
      await this.deps.ari.addToBridge(bridgeId, t.channelId);
    } catch (err) {
      // The number is let go, the customer goes back to the agent, recorded again.
      this.deps.router.offChannel(t.channelId);
      await this.deps.ari.hangup(t.channelId).catch(() => undefined);
      await this.deps.ari.destroyBridge(bridgeId).catch(() => undefined);
      await this.deps.ari.addToBridge(from.bridgeId, this.channelId).catch(() => undefined);
      if (rec) await this.startRecording(from.bridgeId, true);
      this.held = false;
      this.holds.unhold(new Date());
      throw new CallControlError(`transferring call ${this.callId} to ${t.number} failed: ${(err as Error).message}`, 502);
    }
    this.outside = { number: t.number, channelId: t.channelId, bridgeId };
    // From now on the number's hang-up ends the call (the customer is left with nobody).
    this.deps.router.onChannel(t.channelId, (e) => {
      if (e.type !== 'ChannelDestroyed') return;
      this.endRequested ??= 'transfer-party';
      void this.finishCall().catch((err: unknown) => this.log.warn({ err }, 'ending the call after the transferred-to party hung up failed'));
    });
    if (this.held) {
      this.held = false;
      this.holds.unhold(new Date());
    }
    this.deps.agents.callEnded(from.agentId);
    if (rec) await this.startRecording(bridgeId, true);
    this.log.info({ from: from.agentId, to: t.number }, 'call transferred to an outside number');
  }

  /** Takes the customer out of the agent's bridge onto music on hold (HoldTracker counts it). */
  private async putOnHold(agent: AgentSession): Promise<void> {
    await this.deps.ari.removeFromBridge(agent.bridgeId, this.channelId);
    this.held = true;
    this.holds.hold(new Date());
    await this.deps.ari.startMoh(this.channelId);
  }

  /** At the call's end: a consultation or an outside party still up is let go. */
  private releaseTransferLegs(): void {
    const c = this.consultation;
    if (c) {
      this.consultation = null;
      clearTimeout(c.timer);
      c.unwatch();
      const t = c.target;
      if (t.kind === 'agent') {
        void (c.phase === 'talking' ? this.sendHome(c.from, t.agent) : Promise.resolve()).then(() => this.deps.agents.release(t.agent.agentId));
      } else {
        void this.deps.ari.hangup(t.channelId).catch(() => undefined);
      }
      c.decide('failed');
    }
    const o = this.outside;
    if (o) {
      this.deps.router.offChannel(o.channelId);
      void this.deps.ari.hangup(o.channelId).catch(() => undefined);
      void this.deps.ari.destroyBridge(o.bridgeId).catch(() => undefined);
    }
  }

  /** Waits (up to 3 s) until Asterisk no longer writes a stopped segment, before appending to it. */
  private async segmentWritten(rec: LiveRecording): Promise<void> {
    const end = Date.now() + 3000;
    let reported = false;
    void rec.reported.then(() => (reported = true));
    while (!reported && Date.now() < end) {
      if ((await this.deps.ari.liveRecording(rec.name).catch(() => null)) === null) return;
      await Promise.race([rec.reported, sleep(100)]);
    }
  }

  /** The agent the customer is with; a call-control request needs one. */
  get currentAgentId(): string | null {
    return this.endedAt || !this.bridgedAt || this.outside ? null : (this.agent?.agentId ?? null);
  }

  /**
   * The customer answered and is in Stasis, but this session never saw its StasisStart (sent while
   * the ARI websocket was down, or the call was placed by a process now gone): within the connect
   * rule of the answer the customer is joined to an agent as usual, past it they hear the
   * information message and the call is abandoned. Queued with the channel's events; a no-op if
   * the answer was already seen.
   */
  adoptAnswered(at: Date, canJoin: boolean): Promise<void> {
    this.events = this.events.then(async () => {
      if (this.answeredAt || this.endedAt) return;
      if (canJoin) return this.answered(at);
      this.answeredAt = at;
      await this.deps.calls.update(this.callId, { answered_at: at });
      return this.abandon();
    }).catch((err: unknown) => this.log.error({ err }, 'taking over the answered call failed'));
    return this.events;
  }

  /**
   * The call was up with an agent when this engine took its node over from one that died
   * (src/dialer/takeover.ts): the session starts bridged (or on hold), listening to the channel,
   * with the recording Asterisk is still writing adopted, so the call ends as any other (either
   * side hangs up, the API) with its one CDR and its recording whole. A recorded call whose
   * recording had not started yet is recorded from now on, into the same file.
   */
  async resumeBridged(p: {
    answeredAt: Date; bridgedAt: Date; agent: AgentSession; recording: { name: string; startedAt: Date } | null; held: boolean;
    /** The previous engine died before writing the join on the call row: written now. */
    writeJoin: boolean;
  }): Promise<void> {
    this.answeredAt = p.answeredAt;
    this.bridgedAt = p.bridgedAt;
    this.agent = p.agent;
    if (p.held) {
      this.held = true;
      this.holds.hold(new Date());
    }
    this.listen();
    this.armMaxDuration(p.answeredAt);
    if (p.writeJoin) await this.deps.calls.bridged({ callId: this.callId, answeredAt: p.answeredAt, agentId: p.agent.agentId, bridgeId: p.agent.bridgeId, bridgedAt: p.bridgedAt });
    if (p.recording) {
      const rec = p.recording;
      let report!: (r: 'finished' | 'failed') => void;
      const reported = new Promise<'finished' | 'failed'>((r) => (report = r));
      this.deps.router.onRecording(rec.name, (e) => {
        if (e.type === 'RecordingFinished') report('finished');
        else if (e.type === 'RecordingFailed') report('failed');
      });
      this.recording = { name: rec.name, startedAt: rec.startedAt, stopped: false, reported };
    } else if (this.ctx.campaign.recordCalls) {
      this.recording = { name: `call-${this.callId}`, startedAt: p.bridgedAt, stopped: true, reported: new Promise(() => {}) };
      await this.startRecording(p.agent.bridgeId, true);
    }
  }

  /** Asterisk no longer has the channel (it restarted, or the channel ended while the event
   * websocket was down): close the call out with what is known. */
  async closeOutLost(reason: string): Promise<void> {
    const at = new Date();
    this.events = this.events.then(() => this.ended(at, null, `lost: ${reason}`, true));
    await this.events;
  }

  private async ended(at: Date, cause: number | null, causeText: string, lost = false): Promise<void> {
    if (this.endedAt) return;
    this.endedAt = at;
    for (const t of this.timers.splice(0)) clearTimeout(t);
    this.deps.router.offChannel(this.channelId);
    const rec = this.recording;
    // Not awaited before the CDR: the close never waits on Asterisk.
    const stopping = this.stopRecording().catch((err: unknown) => this.log.warn({ err }, 'stopping the recording failed'));
    this.releaseTransferLegs();
    if (this.agent) {
      // Transferred to a number: the agent went to wrap-up then.
      if (this.bridgedAt && !this.outside) this.deps.agents.callEnded(this.agent.agentId);
      else if (!this.bridgedAt) this.deps.agents.release(this.agent.agentId);
    } else if (this.assignedAgentId) {
      // Never answered: the agent held for it is free again.
      this.deps.agents.release(this.assignedAgentId);
    }
    const ringFrom = this.ringingAt ?? this.startedAt;
    const outcome = outcomeOf({
      answered: this.answeredAt !== null, abandoned: this.abandoned, machine: this.machine, dialStatus: this.dialStatus, cause,
      ringSeconds: (at.getTime() - ringFrom.getTime()) / 1000,
    });
    const endedBy: CallEndedBy = this.endRequested ?? (lost ? 'lost' : !this.answeredAt && cause === 19 ? 'ring-timeout' : 'customer');
    const recordingStatus: RecordingStatus | null = rec ? 'pending' : this.recordingStartFailed ? 'failed' : null;
    const d = callDurations({ ringingAt: this.ringingAt, answeredAt: this.answeredAt, bridgedAt: this.bridgedAt, endedAt: at, holds: this.holds.holds });
    const summary: CallSummary = {
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
      endedBy,
      recordingId: null,
      recordingStatus,
      connectMs: this.answeredAt && this.bridgedAt ? this.bridgedAt.getTime() - this.answeredAt.getTime() : null,
    };
    try {
      const closed = await this.deps.calls.close({
        callId: this.callId, attemptId: this.ctx.attempt.id, endedAt: at, ringingAt: this.ringingAt, hangupCause: cause, hangupCauseText: causeText,
        outcome, attemptState: 'completed', ringMs: d.ringMs, talkMs: d.talkMs, holdMs: d.holdMs, endedBy, recordingStatus,
      });
      if (!closed) this.log.warn('the call was already closed from Asterisk\'s record: that CDR stands');
    } catch (err) {
      // The CDR reconciler closes it from Asterisk's record later; the call is over all the same.
      this.log.error({ err }, 'closing the CDR failed');
    } finally {
      this.resolveClosed(summary);
    }
    this.log.info({ outcome, cause, endedBy }, 'call ended');
    if (!rec) {
      this.resolveDone(summary);
      return;
    }
    // The recording settles on its own: nothing waits on it but `done`.
    void this.settleRecording(rec, stopping)
      .catch((err: unknown) => {
        this.log.error({ err, recording: rec.name }, 'settling the recording failed');
        return { id: null, status: 'pending' as const };
      })
      .then((r) => this.resolveDone({ ...summary, recordingId: r.id, recordingStatus: r.status }));
  }

  /** The originate itself failed: close the call row so no CDR is left open. */
  async originateFailed(err: Error): Promise<void> {
    this.deps.router.offChannel(this.channelId);
    if (this.assignedAgentId) this.deps.agents.release(this.assignedAgentId);
    const at = new Date();
    this.endedAt = at;
    const summary: CallSummary = {
      callId: this.callId, attemptId: this.ctx.attempt.id, campaignId: this.ctx.campaign.id, startedAt: this.startedAt, outcome: 'failed', agentId: null, answeredAt: null,
      bridgedAt: null, endedAt: at, hangupCause: null, endedBy: 'originate-failed', recordingId: null, recordingStatus: null, connectMs: null,
    };
    try {
      await this.deps.calls.close({
        callId: this.callId, attemptId: this.ctx.attempt.id, endedAt: at, ringingAt: null, hangupCause: null, hangupCauseText: err.message.slice(0, 500),
        outcome: 'failed', attemptState: 'failed', ringMs: null, talkMs: null, holdMs: null, endedBy: 'originate-failed', recordingStatus: null,
      });
    } finally {
      this.resolveClosed(summary);
      this.resolveDone(summary);
    }
  }
}
