// The dial worker's engine: claims an attempt exactly once, writes the call row, originates through
// ARI over the campaign's trunk, and hands the call to its session. Owns the event router and the
// agent pool for this process.
import { randomUUID } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Fence } from '../cluster/leases.repository.js';
import { healthOf, type Db } from '../db/database.js';
import { isConnectionError, type DatabaseHealth } from '../db/health.js';
import type { Logger } from '../log.js';
import { AriError, type AriGateway } from '../pbx/ari.js';
import type { AriChannel, AriEvent } from '../pbx/ari-types.js';
import { trunkDialString, trunkObjectId } from '../pbx/pjsip-config.js';
import type { RecordingStore } from '../recordings/store.js';
import { AgentPool, type AgentPoolOptions, type LogoutReason, type PendingCall } from './agent-pool.js';
import { CallControlError, CallSession, type CallEndReason, type CallSummary, type ConsultEnd, type ConsultView } from './call-session.js';
import type { RecordingSettleOptions } from '../recordings/settle.js';
import { DialGate } from '../compliance/store/dial-gate.js';
import { minRingSecondsOf, type Policy } from '../compliance/policy.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import { callOfChannel, DialContextLoader, DialSetupError, finishAttempt, putBackForTrunk, releaseReservation, releaseUndialed, type DialContext } from './dial.repository.js';
import { CallWriter, defaultCallWriterOptions, type CallWriterOptions } from '../cdr/cdr.repository.js';
import { EventRouter } from './event-router.js';
import { answeredBeforeStasis, isCustomerInStasis } from './stasis-channels.js';
import { defaultSupervisionOptions, Supervision, type SupervisionOptions } from './supervision.js';
import type { DialJob } from './queue.js';
import { UnavailableError } from '../errors.js';
import type { TrunkLimiter } from './trunk-limiter.js';

export interface DialerOptions {
  connectTimeoutMs: number;
  abandonMedia: string[];
  /** What a customer hears before Dialwell ends the call (a campaign's closingMessage replaces it). */
  closingMedia: string[];
  /** The longest a recording runs (a disk guard); a campaign's maxCallSeconds ends the call itself. */
  maxCallSeconds: number;
  ringTimeoutSeconds: number;
  agents: AgentPoolOptions;
  /** How a recording is fetched from Asterisk after the call's end (deadline, backoff). */
  recordingSettle?: RecordingSettleOptions;
  /** The supervisor's phone's ring time and the waits of a supervision's start. */
  supervision?: SupervisionOptions;
  /**
   * The node this dialer places calls on, when it owns it by a lease: its reservations and call
   * rows are fenced by that lease (a stale owner writes nothing), and call rows name the node.
   */
  node?: { id: string; fence: () => Fence; holds?: () => boolean };
  /** Holds each trunk's calls per second and concurrent calls across every engine (Redis); none: unlimited here. */
  trunkLimiter?: TrunkLimiter;
  /** Attended transfers: how long a target agent has to accept, an outside number to answer (s). */
  transfer?: { agentAnswerSeconds: number; numberRingSeconds: number };
  /** The call-row writer's batching (its gather window for joins and ends). */
  callWrites?: CallWriterOptions;
}

const defaultTransferOptions = { agentAnswerSeconds: 20, numberRingSeconds: 25 };

export const defaultDialerOptions: DialerOptions = {
  connectTimeoutMs: 2000,
  // "I'm sorry ... telephone number" and then the caller id's digits (added per call).
  abandonMedia: ['sound:im-sorry', 'sound:telephone-number'],
  closingMedia: ['sound:goodbye'],
  maxCallSeconds: 3600,
  ringTimeoutSeconds: 30,
  agents: { autoReadyAfterMs: null, loginTimeoutSeconds: 20 },
};

/** Asterisk is not reachable: nothing was reserved or dialed; the job is retried later. */
export class PbxUnavailableError extends UnavailableError {
  override readonly name = 'PbxUnavailableError';
}

/**
 * Asterisk's own record of a channel (the CDR reconciler, src/cdr/reconciler.ts): settles a call
 * whose channel is gone and whose end this process did not see, from what Asterisk recorded.
 */
export interface ChannelRecords {
  /** 'live' when Asterisk still has the channel; else its call is closed from the record (or as
   * never placed / lost when there is none) and 'closed'. */
  settleChannel(channelId: string): Promise<'live' | 'closed'>;
}

/** How long a dial job waits in the worker for ARI to come back before it is put off. */
const HOLD_WAIT_MS = 10_000;
/** How far a held dial job is put off (it is not a failed try: BullMQ's attempts are untouched). */
const HOLD_DELAY_MS = 2_000;
/** Asterisk works off what it queued while frozen (a buffered originate, say) before a timed-out
 * originate is looked up. */
const UNKNOWN_SETTLE_AFTER_MS = 3_000;
/** An originate whose outcome is still unknown after this long is closed out as lost. */
const UNKNOWN_SETTLE_MAX_MS = 10 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Where an originated customer goes once answered (asterisk-config/extensions.conf). */
const CUSTOMER_DIALPLAN = { context: 'dialwell-customer', extension: 's', priority: 1 } as const;
/** What that dialplan plays by itself when no engine comes back (the default abandonMedia). */
const DIALPLAN_DEFAULT_INFO = 'im-sorry&telephone-number';

/**
 * The information message as Playback()'s argument for the dialplan's own fallback, or null for
 * its default: the default itself (nothing to send with every call), or media Playback cannot
 * play (anything but `sound:`).
 */
export function dialplanMedia(media: readonly string[]): string | null {
  if (media.length === 0 || !media.every((m) => /^sound:[A-Za-z0-9_/-]+$/.test(m))) return null;
  const arg = media.map((m) => m.slice(6)).join('&');
  return arg === DIALPLAN_DEFAULT_INFO ? null : arg;
}

/** PostgreSQL is not reachable: the job is retried later (the worker is paused meanwhile). */
export class DatabaseUnavailableError extends UnavailableError {
  override readonly name = 'DatabaseUnavailableError';
}

/** The trunk limiter (Redis) did not answer: nothing was dialed; the job is retried. */
export class TrunkLimiterUnavailableError extends UnavailableError {
  override readonly name = 'TrunkLimiterUnavailableError';
}

/** The engine is stopping: no new call is placed. */
export class DialerStoppingError extends UnavailableError {
  override readonly name = 'DialerStoppingError';
}

export type DialResult =
  | { status: 'dialing'; callId: string; channelId: string; decisionId: string }
  | { status: 'already-claimed' }
  | { status: 'denied'; decisionId: string; reasons: string[]; rescheduledTo: Date | null }
  | { status: 'not-dialed'; reason: string };

export class Dialer {
  readonly router: EventRouter = new EventRouter((e) => this.unrouted(e));
  readonly agents: AgentPool;
  /** Supervisors listening or whispering to agents' calls. */
  readonly supervision: Supervision;
  private readonly sessions = new Map<string, CallSession>();
  /** Attempts whose originate timed out: placed or not, Asterisk's answer decides (settleUnknown). */
  private readonly unknown = new Set<string>();
  /** Attempts whose calls were taken over from a channel (adoptChannel): when the call row was made. */
  private readonly adopted = new Map<string, Date>();
  /** Channels being taken over right now. */
  private readonly adopting = new Set<string>();
  private readonly finished = new Map<string, CallSummary>();
  private readonly doneWaiters = new Map<string, Array<(s: CallSummary) => void>>();
  /** Calls ended whose recording is still being stored. */
  private readonly settling = new Set<Promise<void>>();
  /** Channels of calls closed whose recording their session is still storing or flagging. */
  private readonly finishing = new Set<string>();
  private readonly gate: DialGate;
  private readonly contexts: DialContextLoader;
  private readonly calls: CallWriter;
  private readonly dbHealth: DatabaseHealth;
  private stopping = false;

  /** Listeners for calls placed and calls over (pacing statistics, supervisors' figures). */
  readonly callPlaced: Array<(campaignId: string, at: Date, callId: string) => void> = [];
  /** Every dialAttempt's end, dialed or not (the runner stops counting it as on its way). */
  readonly dialFinished: Array<(attemptId: string) => void> = [];
  readonly callEnded: Array<(summary: CallSummary) => void> = [];

  /** Called when a denied attempt was rescheduled to its next allowed instant (re-enqueue it). */
  onRescheduled: (attemptId: string, at: Date) => void | Promise<void> = () => {};

  constructor(
    /** Also what call control done through the agent bus writes its traces with. */
    readonly db: Db,
    private readonly ari: AriGateway,
    private readonly policies: PolicyResolver,
    private readonly store: RecordingStore,
    private readonly log: Logger,
    private readonly opts: DialerOptions = defaultDialerOptions,
    /** Settles calls from Asterisk's record; without it a call whose end was missed closes as lost. */
    private readonly records: ChannelRecords | null = null,
  ) {
    this.agents = new AgentPool(ari, this.router, log, opts.agents, () => this.callsNeedingAgent());
    this.supervision = new Supervision({ db, ari, router: this.router, agents: this.agents, callOfAgent: (id) => this.callOfAgent(id), log }, opts.supervision ?? defaultSupervisionOptions);
    this.gate = new DialGate({ db, policies, ...(opts.node ? { fence: opts.node.fence } : {}) });
    this.contexts = new DialContextLoader(db);
    this.calls = new CallWriter(db, opts.node ?? null, opts.callWrites ?? defaultCallWriterOptions);
    this.dbHealth = healthOf(db);
    this.agents.on('agent-lost', (_s, callId) => {
      // The agent's softphone left while a customer was with them (their own hang-up, a lost phone).
      void this.call(callId)?.hangup('agent').catch((err: unknown) => log.warn({ err, callId }, 'ending the call of a lost agent failed'));
    });
    ari.on('event', (e) => this.router.dispatch(e));
    ari.on('reconnected', () => {
      // An owner that wakes up past its node's lease (stopped, starved) must not touch what
      // Asterisk holds: another engine may drive the node now. Taken back, it reconciles then.
      if (opts.node?.holds && !opts.node.holds()) {
        log.warn('ARI is back but the node lease is not held: not reconciling with Asterisk');
        return;
      }
      void this.reconcileWithAsterisk().catch((err: unknown) => log.error({ err }, 'reconciling with Asterisk failed'));
    });
  }

  /** Run after Asterisk comes back (e.g. to push trunks and agent endpoints again). */
  onPbxReconnected: () => Promise<void> = async () => {};

  /** False while Asterisk or PostgreSQL is away, or the engine is stopping: dialing is held. */
  get available(): boolean {
    return this.ari.connected && this.dbHealth.up && !this.stopping;
  }

  /**
   * After the event websocket comes back, events may have been missed: what Asterisk still holds
   * for the application (GET /applications/{app}, /channels, /bridges) is the truth. Calls whose
   * channels are gone are closed out (a CDR for every call); answered customers whose StasisStart
   * was lost are taken over (joined or told and abandoned, never left talking to nobody); agents
   * keep exactly one softphone channel in their bridge, or are logged out.
   */
  async reconcileWithAsterisk(): Promise<{ callsClosed: number; callsAdopted: number; agentsLost: number; staleAgentChannels: number }> {
    await this.onPbxReconnected();
    const [app, channels, bridges] = await Promise.all([this.ari.application(), this.ari.listChannels(), this.ari.listBridges()]);
    const live = new Set(app.channel_ids);
    const byId = new Map(channels.map((c) => [c.id, c]));
    let callsClosed = 0;
    let callsAdopted = 0;
    for (const [attemptId, session] of [...this.sessions.entries()]) {
      // A timed-out originate is settled by settleUnknown, which waits for Asterisk to catch up.
      if (this.unknown.has(attemptId)) continue;
      if (!live.has(session.channelId)) {
        await session.closeOutLost('Asterisk no longer had the channel after the ARI connection came back');
        callsClosed++;
        continue;
      }
      const ch = byId.get(session.channelId);
      if (ch && session.phase === 'dialing' && isCustomerInStasis(ch, this.ari.app)) {
        void session.adoptAnswered(new Date(), this.withinConnectRule(new Date(ch.creationtime)));
        callsAdopted++;
      }
    }
    const agents = await this.agents.reconcile({ channelIds: live, bridgeIds: new Set(app.bridge_ids), channels, bridges });
    await this.supervision.reconcile(live, bridges.filter((b) => app.bridge_ids.includes(b.id)));
    // Customers in Stasis with no session here (a process that died placed them): taken over.
    for (const c of channels) {
      if (!live.has(c.id) || this.hasChannel(c.id) || !isCustomerInStasis(c, this.ari.app)) continue;
      const done = await this.adoptChannel(c, null, 'in Stasis with no session when the ARI connection came back');
      if (done === 'joining' || done === 'abandoning') callsAdopted++;
    }
    const report = { callsClosed, callsAdopted, agentsLost: agents.lost, staleAgentChannels: agents.staleChannels };
    this.log.warn({ ...report, liveChannels: live.size }, 'reconciled with Asterisk');
    return report;
  }

  /** Whether an answer at `answeredAt` is still within the connect rule (joined ≤ connect timeout). */
  private withinConnectRule(answeredAt: Date): boolean {
    return Date.now() - answeredAt.getTime() < this.opts.connectTimeoutMs;
  }

  /** Whether a call session of this process holds the channel (its own events will close it),
   * until its recording is settled too (the reconciler leaves that recording to it). */
  hasChannel(channelId: string): boolean {
    if (this.adopting.has(channelId) || this.finishing.has(channelId)) return true;
    for (const s of this.sessions.values()) if (s.channelId === channelId) return true;
    return false;
  }

  /** Whether the channel is a timed-out originate's still being settled with Asterisk. */
  isSettling(channelId: string): boolean {
    for (const attemptId of this.unknown) if (this.sessions.get(attemptId)?.channelId === channelId) return true;
    return false;
  }

  /** Events for channels no session holds: a StasisStart is a call or softphone to take care of. */
  private unrouted(e: AriEvent): void {
    if (e.type !== 'StasisStart') return;
    // Without the node's lease (a stale owner woken up, its ARI connection back) another engine
    // may drive the node: a channel this dialer has no session for is not its to end or take over.
    if (this.opts.node?.holds && !this.opts.node.holds()) {
      this.log.warn({ channel: e.channel.id, args: e.args }, 'a channel entered Stasis while the node lease is not held: left alone');
      return;
    }
    const kind = e.args[0];
    if (kind === 'agent') {
      // A softphone that answered after its login had given up (Asterisk was frozen): a second
      // channel for the agent were it kept.
      this.log.warn({ channel: e.channel.id, args: e.args }, 'a softphone channel no login holds entered Stasis: hung up');
      void this.ari.hangup(e.channel.id).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'hanging up the stale softphone failed'));
    } else if (kind === 'customer' || kind === 'customer-amd') {
      // Back from answering-machine detection, the answer was earlier than this StasisStart and
      // is not known: the channel's creation bounds it.
      // A customer who answered while no engine listened comes with their answer time.
      void this.adoptChannel(e.channel, kind === 'customer' ? (answeredBeforeStasis(e) ?? new Date(e.timestamp)) : null, 'entered Stasis with no session');
    } else if (kind === 'transfer') {
      // An outside number answering after its transfer was given up (cancelled, timed out).
      this.log.warn({ channel: e.channel.id, args: e.args }, 'a transfer leg no call holds entered Stasis: hung up');
      void this.ari.hangup(e.channel.id).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'hanging up the stale transfer leg failed'));
    } else if (kind === 'supervisor' || kind === 'snoop') {
      // A supervisor's phone answering after its supervision gave up, or one a dead process left.
      this.log.warn({ channel: e.channel.id, args: e.args }, 'a supervision channel no supervision holds entered Stasis: hung up');
      void this.ari.hangup(e.channel.id).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'hanging up the stale supervision channel failed'));
    } else {
      this.log.warn({ channel: e.channel.id, args: e.args }, 'channel entered Stasis with no session');
    }
  }

  /**
   * Takes over an answered customer's channel that no session of this process holds: the call was
   * placed before the ARI connection was lost, or by a process that is gone (and, next, by an
   * engine whose node this one takes over). The call row is found by the channel id (ours, chosen
   * at the originate); within the connect rule of the answer (`answeredAt`, or the channel's
   * creation when the answer time is unknown) the customer is joined to a ready agent, past it
   * they hear the information message and the call is abandoned. Its CDR is closed once, by the
   * session, with the channel's end.
   */
  async adoptChannel(channel: AriChannel, answeredAt: Date | null, why: string): Promise<'joining' | 'abandoning' | 'held' | 'not-ours' | 'closed'> {
    const id = channel.id;
    const own = [...this.sessions.values()].find((s) => s.channelId === id);
    if (own) {
      void own.adoptAnswered(answeredAt ?? new Date(), this.withinConnectRule(answeredAt ?? new Date(channel.creationtime)));
      return 'held';
    }
    if (this.adopting.has(id)) return 'held';
    this.adopting.add(id);
    // Events that arrive while the call row is read are kept and handed to the session after.
    const early: AriEvent[] = [];
    this.router.onChannel(id, (e) => early.push(e));
    const log = this.log.child({ channel: id });
    try {
      const row = await callOfChannel(this.db, id);
      if (!row) {
        this.router.offChannel(id);
        log.warn({ why }, 'a customer channel with no call row of ours: hung up');
        await this.ari.hangup(id);
        return 'not-ours';
      }
      if (row.endedAt) {
        // Its CDR was closed already (and stands): the customer must not wait on a dead line.
        this.router.offChannel(id);
        log.error({ callId: row.callId, why }, 'a customer channel whose call was already closed is still up: hung up');
        await this.ari.hangup(id);
        return 'closed';
      }
      if (!isCustomerInStasis(channel, this.ari.app)) {
        // In another engine's application (one that died): moved into ours, so that its playbacks
        // report here (its StasisStart here is one of the early events), and subscribed to, as
        // its ChannelDestroyed still goes only to the applications subscribed to it (measured).
        await this.ari.moveChannel(id, `customer,${row.callId}`);
        await this.ari.subscribeChannel(id);
      }
      const ctx = { ...(await this.contexts.load(row.attempt)), callerId: row.callerId };
      const joinBy = (answeredAt ?? new Date(channel.creationtime)).getTime() + this.opts.connectTimeoutMs;
      const canJoin = joinBy - Date.now() > 0;
      const session = new CallSession(
        {
          db: this.db, calls: this.calls, ari: this.ari, router: this.router, agents: this.agents, store: this.store, log: this.log,
          // Only what is left of the connect rule since the answer.
          connectTimeoutMs: Math.max(1, joinBy - Date.now()), abandonMedia: this.opts.abandonMedia, closingMedia: this.opts.closingMedia,
          maxCallSeconds: this.opts.maxCallSeconds, ...(this.opts.recordingSettle ? { recordingSettle: this.opts.recordingSettle } : {}),
        },
        ctx,
        row.callId,
        id,
        null,
        row.callerId,
      );
      this.sessions.set(row.attempt.id, session);
      this.adopted.set(row.attempt.id, row.createdAt);
      this.track(session);
      session.listen();
      void session.adoptAnswered(answeredAt ?? new Date(), canJoin);
      for (const e of early) this.router.dispatch(e);
      log.warn({ callId: row.callId, attemptId: row.attempt.id, why, canJoin }, canJoin ? 'answered customer taken over: joining an agent' : 'answered customer taken over past the connect rule: information message, abandoned');
      return canJoin ? 'joining' : 'abandoning';
    } catch (err) {
      this.router.offChannel(id);
      log.error({ err, why }, 'taking over the customer channel failed: hung up');
      await this.ari.hangup(id).catch(() => undefined);
      return 'not-ours';
    } finally {
      this.adopting.delete(id);
    }
  }

  /**
   * A call that was up with an agent when this engine took the node over (src/dialer/takeover.ts):
   * its session is rebuilt bridged, its live recording adopted, so it ends as any other call, its
   * CDR closed once, by this engine (fenced by its lease), never by the CDR reconciler.
   */
  async resumeCall(
    call: { callId: string; attempt: DialContext['attempt']; callerId: string; createdAt: Date; channelId: string },
    state: Parameters<CallSession['resumeBridged']>[0],
  ): Promise<CallSession> {
    const loaded: DialContext = { ...(await this.contexts.load(call.attempt)), callerId: call.callerId };
    // The policies the call was allowed under, as the dial asked them (unreadable: the campaign's own limit).
    const policies = await this.policies.forCampaign(loaded.campaign.policyName ?? null).catch(() => []);
    const ctx = this.withPolicyLimit(loaded, policies);
    const session = new CallSession(
      {
        db: this.db, calls: this.calls, ari: this.ari, router: this.router, agents: this.agents, store: this.store, log: this.log,
        connectTimeoutMs: this.opts.connectTimeoutMs, abandonMedia: this.opts.abandonMedia, closingMedia: this.opts.closingMedia,
        maxCallSeconds: this.opts.maxCallSeconds, ...(this.opts.recordingSettle ? { recordingSettle: this.opts.recordingSettle } : {}),
      },
      ctx,
      call.callId,
      call.channelId,
      null,
      call.callerId,
    );
    this.sessions.set(call.attempt.id, session);
    this.adopted.set(call.attempt.id, call.createdAt);
    this.track(session);
    await session.resumeBridged(state);
    return session;
  }

  get activeCalls(): number {
    return this.sessions.size;
  }

  /** Calls ended whose recordings are still being stored (or flagged). */
  get recordingsPending(): number {
    return this.settling.size;
  }

  /** Calls that will still need a ready agent of their campaign, oldest first (the pool keeps agents for them). */
  private callsNeedingAgent(): PendingCall[] {
    const out: PendingCall[] = [];
    for (const s of this.sessions.values()) if (s.needsAgent) out.push({ callId: s.callId, campaignId: s.ctx.campaign.id });
    return out;
  }

  /**
   * The campaign's ring timeout (else the default), never below the minimum ring time of the
   * policies the attempt was just allowed under: a policy may have been tightened after the
   * campaign was saved.
   */
  private ringTimeoutFor(campaign: { ringTimeoutSeconds?: number | null }, policies: readonly Policy[]): number {
    const wanted = campaign.ringTimeoutSeconds ?? this.opts.ringTimeoutSeconds;
    const min = minRingSecondsOf(policies);
    return min !== null && wanted < min ? Math.ceil(min) : wanted;
  }

  /** The calls in progress, with their phase and start, for the pacer's snapshot. */
  liveCalls(): { campaignId: string; phase: CallSession['phase']; startedAt: Date; needsAgent: boolean }[] {
    // A call over whose CDR is still being written is no longer live.
    return [...this.sessions.values()]
      .filter((s) => s.phase !== 'ended')
      .map((s) => ({ campaignId: s.ctx.campaign.id, phase: s.phase, startedAt: s.startedAt, needsAgent: s.needsAgent }));
  }

  /**
   * BullMQ processor: one job per attempt. While Asterisk is away the job waits here (and resumes
   * the moment ARI is back), or is put off: held, never failed, never a used-up retry.
   */
  process = async (job: Job<DialJob>, token?: string): Promise<DialResult> => {
    if (!(await this.waitForPbx(HOLD_WAIT_MS)) && token) return this.putOff(job, token);
    try {
      return await this.dialAttempt(job.data.attemptId);
    } catch (err) {
      if ((err instanceof PbxUnavailableError || err instanceof TrunkLimiterUnavailableError) && token) return this.putOff(job, token);
      // A connection lost mid-dial starts the outage at once (the worker pauses on it).
      this.dbHealth.noteError(err);
      throw err;
    }
  };

  private async putOff(job: Job<DialJob>, token: string): Promise<never> {
    await job.moveToDelayed(Date.now() + HOLD_DELAY_MS, token);
    throw new DelayedError();
  }

  /** Resolves true once ARI is connected (at once if it is), false after `ms` without it. */
  private waitForPbx(ms: number): Promise<boolean> {
    if (this.available) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.ari.off('reconnected', back);
        resolve(ok);
      };
      const back = () => done(true);
      const timer = setTimeout(() => done(this.available), ms);
      this.ari.on('reconnected', back);
    });
  }

  /**
   * Decides and, when allowed, dials the attempt. With `agentId`, the caller has reserved that
   * agent (a preview, a callback): the answered customer goes to them, and if the attempt is not
   * dialed the agent is released.
   */
  async dialAttempt(attemptId: string, opts: { agentId?: string } = {}): Promise<DialResult> {
    let result: DialResult | undefined;
    try {
      result = await this.dial(attemptId, opts.agentId ?? null);
      return result;
    } finally {
      if (opts.agentId && result?.status !== 'dialing') this.agents.release(opts.agentId);
      for (const l of this.dialFinished) l(attemptId);
    }
  }

  private async dial(attemptId: string, agentId: string | null): Promise<DialResult> {
    // Hold dialing while Asterisk is away: nothing is reserved, the job is retried.
    if (this.stopping) throw new DialerStoppingError('the engine is stopping: no new call is placed');
    if (!this.ari.connected) throw new PbxUnavailableError('Asterisk (ARI) is not reachable: dialing is held');
    if (!this.dbHealth.up) throw new DatabaseUnavailableError('PostgreSQL is not reachable: dialing is held');
    // The compliance decision and the reservation, atomically per phone number.
    const gate = await this.gate.decideAndReserve(attemptId);
    if (gate.status === 'not-queued') return { status: 'already-claimed' };
    if (gate.status === 'denied') {
      const reasons = gate.decision.reasons.filter((r) => !r.passed).map((r) => r.detail);
      this.log.info({ attemptId, reasons, rescheduledTo: gate.rescheduledTo }, 'dial denied by compliance');
      if (gate.rescheduledTo) await this.onRescheduled(attemptId, gate.rescheduledTo);
      return { status: 'denied', decisionId: gate.decisionId, reasons, rescheduledTo: gate.rescheduledTo };
    }
    const attempt = gate.attempt;
    let ctx;
    try {
      ctx = await this.contexts.load(attempt);
    } catch (err) {
      if (!(err instanceof DialSetupError)) throw err;
      await finishAttempt(this.db, attempt.id, 'failed', 'setup-error');
      this.log.error({ attemptId, err: err.message }, 'attempt cannot be dialed');
      return { status: 'not-dialed', reason: err.message };
    }
    if (!ctx.callerId) {
      const tomorrow = new Date(new Date().toISOString().slice(0, 10));
      tomorrow.setUTCDate(tomorrow.getUTCDate() + 1);
      await releaseReservation(this.db, attempt.id, tomorrow);
      this.log.warn({ attemptId, campaignId: ctx.campaign.id }, 'every caller id of the campaign is at its daily cap: attempt moved to tomorrow');
      return { status: 'not-dialed', reason: 'every caller id of the campaign is at its daily cap' };
    }
    const callerId = ctx.callerId;
    ctx = this.withPolicyLimit(ctx, gate.policies);
    // The customer is originated into the dialplan (see below): the trunk's channels must report
    // to the application from their creation. Once per trunk per websocket; a resolved promise after.
    try {
      await this.ari.endpointEvents('PJSIP', trunkObjectId(ctx.trunk.name));
    } catch (err) {
      await releaseUndialed(this.db, attempt.id);
      this.log.warn({ attemptId, trunk: ctx.trunk.name, err: (err as Error).message }, 'subscribing to the trunk\'s channels failed: not dialed');
      return { status: 'not-dialed', reason: `the trunk's channels cannot report to the application: ${(err as Error).message}` };
    }
    const channelId = randomUUID();
    const busy = await this.trunkSlot(ctx, attempt.id, channelId);
    if (busy) return busy;
    let callId: string;
    try {
      callId = await this.calls.insert({
        attemptId: attempt.id,
        campaignId: ctx.campaign.id,
        contactId: attempt.contactId,
        phone: attempt.phone,
        callerId,
        trunkId: ctx.trunk.id,
        channelId,
      });
    } catch (err) {
      // The database went away: nothing was dialed, so once it is back the reservation goes back
      // to the pool (unless the row was in fact written: the CDR reconciler then closes it).
      if (isConnectionError(err)) {
        this.dbHealth.noteError(err);
        void releaseUndialed(this.db, attempt.id).catch((e: unknown) => this.log.error({ attemptId, err: e }, 'releasing an undialed reservation failed'));
      }
      void this.opts.trunkLimiter?.release(ctx.trunk.id, channelId).catch(() => undefined);
      throw err;
    }
    const session = new CallSession(
      {
        db: this.db, calls: this.calls, ari: this.ari, router: this.router, agents: this.agents, store: this.store, log: this.log,
        connectTimeoutMs: this.opts.connectTimeoutMs, abandonMedia: this.opts.abandonMedia, closingMedia: this.opts.closingMedia,
        maxCallSeconds: this.opts.maxCallSeconds, ...(this.opts.recordingSettle ? { recordingSettle: this.opts.recordingSettle } : {}),
      },
      ctx,
      callId,
      channelId,
      agentId,
      callerId,
    );
    this.sessions.set(attempt.id, session);
    this.track(session);
    session.listen();
    try {
      // Into the dialplan, not straight into the application: answered, the customer enters
      // Stasis(<app>,customer,<call id>) there; should no engine listen at that moment (the
      // node's owner died, its standby has not taken over yet), the dialplan keeps them up and
      // tries again until one does, then with their answer time (the connect rule applies to it),
      // and with no engine back at all plays the information message itself
      // (asterisk-config/extensions.conf, [dialwell-customer]). Answered straight into an
      // application with no websocket, Asterisk hangs the customer up at once (measured).
      const info = dialplanMedia(ctx.campaign.informationMessage ?? this.opts.abandonMedia);
      await this.ari.originate({
        endpoint: trunkDialString(attempt.phone, ctx.trunk.name),
        channelId,
        dialplan: CUSTOMER_DIALPLAN,
        callerId: `"${ctx.campaign.name.replace(/["\\]/g, '')}" <${callerId}>`,
        timeout: this.ringTimeoutFor(ctx.campaign, gate.policies),
        // For answering-machine detection the answered call runs AMD() in the dialplan and
        // comes back to this application with the verdict (the same two variables).
        variables: { DIALWELL_APP: this.ari.app, DIALWELL_CALL: callId, ...(info === null ? {} : { DIALWELL_INFO: info }) },
      });
    } catch (err) {
      if (!(err instanceof AriError && err.outcomeUnknown)) {
        await session.originateFailed(err as Error);
        return { status: 'not-dialed', reason: (err as Error).message };
      }
      // No answer to the originate is no proof it failed: Asterisk may be placing the call. The
      // session keeps listening and the attempt stays reserved (never dialed again) until
      // Asterisk says what became of the channel.
      this.unknown.add(attempt.id);
      this.log.warn({ callId, attemptId: attempt.id, channelId, err: err.message }, 'originate outcome unknown: settling it from Asterisk');
      void this.settleUnknown(session)
        .catch(async (settleErr: unknown) => {
          this.log.error({ callId, err: settleErr }, 'settling the timed-out originate failed: closing the call as lost');
          await session.closeOutLost('the originate timed out and settling it with Asterisk failed');
        })
        .catch(() => undefined)
        .finally(() => this.unknown.delete(attempt.id));
    }
    for (const l of this.callPlaced) l(ctx.campaign.id, session.startedAt, callId);
    return { status: 'dialing', callId, channelId, decisionId: gate.decisionId };
  }

  /**
   * A timed-out originate: once Asterisk answers again (and has had a moment to work off what it
   * queued), GET /channels/{id} says whether the channel exists. If it does, the call was placed
   * and its own events (or the take-over of an answer whose StasisStart was lost) carry it on. If
   * not, twice in a row, Asterisk's record (CEL, AMI Cdr) settles it: ended calls close from it,
   * calls that never reached Asterisk as such. Never recorded "failed" on a guess.
   */
  private async settleUnknown(session: CallSession): Promise<void> {
    const deadline = Date.now() + UNKNOWN_SETTLE_MAX_MS;
    const notBefore = Date.now() + UNKNOWN_SETTLE_AFTER_MS;
    let missing = 0;
    while (session.phase !== 'ended') {
      if (Date.now() > deadline) {
        await session.closeOutLost(`the originate timed out and Asterisk did not answer for ${UNKNOWN_SETTLE_MAX_MS / 1000} s`);
        return;
      }
      if (!this.ari.connected || Date.now() < notBefore || Date.now() - this.ari.connectedSince < UNKNOWN_SETTLE_AFTER_MS) {
        await sleep(250);
        continue;
      }
      let ch: AriChannel | null;
      try {
        ch = await this.ari.getChannel(session.channelId);
      } catch {
        await sleep(1000);
        continue;
      }
      if (ch) {
        this.log.warn({ callId: session.callId, channelId: session.channelId, state: ch.state }, 'timed-out originate: Asterisk placed the call');
        if (session.phase === 'dialing' && isCustomerInStasis(ch, this.ari.app)) {
          await session.adoptAnswered(new Date(), this.withinConnectRule(new Date(ch.creationtime)));
        }
        return;
      }
      if (++missing < 2) {
        await sleep(UNKNOWN_SETTLE_AFTER_MS);
        continue;
      }
      // Gone, or never made: Asterisk's record says which (the session's close then stands aside).
      if (this.records && (await this.records.settleChannel(session.channelId)) === 'live') {
        missing = 0;
        continue;
      }
      await session.closeOutLost('the originate timed out and Asterisk no longer has the channel');
      return;
    }
  }

  /**
   * A slot on the campaign's trunk for the call (its limits hold across every node), waited for a
   * moment; null when taken. Without one in time the reservation is undone and the attempt is
   * queued again a moment later (not a failure: a delayed job of its own, decided again then).
   */
  private async trunkSlot(ctx: DialContext, attemptId: string, channelId: string): Promise<DialResult | null> {
    const limiter = this.opts.trunkLimiter;
    if (!limiter) return null;
    let slot;
    try {
      slot = await limiter.acquire(ctx.trunk, channelId);
    } catch (err) {
      await releaseUndialed(this.db, attemptId);
      throw new TrunkLimiterUnavailableError(`the trunk limiter (Redis) did not answer: dialing is held (${(err as Error).message})`);
    }
    if (slot.ok) return null;
    const reason = slot.limit === 'cps'
      ? `trunk "${ctx.trunk.name}" is at its ${ctx.trunk.maxCps} calls per second across all nodes`
      : `trunk "${ctx.trunk.name}" has its ${ctx.trunk.maxChannels} concurrent calls up across all nodes`;
    const at = new Date(Date.now() + 1000 + Math.floor(Math.random() * 500));
    await putBackForTrunk(this.db, attemptId, at);
    await this.onRescheduled(attemptId, at);
    this.log.info({ attemptId, trunk: ctx.trunk.name, limit: slot.limit, inUse: slot.inUse }, 'trunk at its limit: attempt put back for a moment');
    return { status: 'not-dialed', reason };
  }

  /** Follows a session to its close (CDR written) and its end (recording stored or flagged). */
  private track(session: CallSession): void {
    const limiter = this.opts.trunkLimiter;
    if (limiter) {
      // A call taken over from another engine keeps its trunk slot: renewed from here on.
      limiter.hold(session.ctx.trunk.id, session.channelId);
      void session.closed.then(() => limiter.release(session.ctx.trunk.id, session.channelId)).catch(() => undefined);
    }
    this.finishing.add(session.channelId);
    void session.closed.then((summary) => this.ended(summary));
    const done = session.done.then((summary) => this.settle(summary));
    this.settling.add(done);
    void done.finally(() => {
      this.settling.delete(done);
      this.finishing.delete(session.channelId);
    });
  }

  /** The CDR is closed: the call leaves the live view and pacing counts it over. */
  private ended(summary: CallSummary): void {
    const createdAt = this.adopted.get(summary.attemptId);
    if (createdAt) {
      // A call taken over started when its row was written, not when this process took it.
      this.adopted.delete(summary.attemptId);
      summary = { ...summary, startedAt: createdAt };
    }
    this.sessions.delete(summary.attemptId);
    for (const l of this.callEnded) l(summary);
  }

  /**
   * The call's maximum duration: the campaign's, or the dialing.maxCallSeconds of the policies the
   * attempt was allowed under when lower or when the campaign sets none.
   */
  private withPolicyLimit(ctx: DialContext, policies: readonly Policy[]): DialContext {
    const limits = policies.map((p) => p.dialing?.maxCallSeconds).filter((n): n is number => n !== undefined);
    if (ctx.campaign.maxCallSeconds) limits.push(ctx.campaign.maxCallSeconds);
    if (limits.length === 0) return ctx;
    const limit = Math.min(...limits);
    // A copy: the loaded campaign is shared by every call of the campaign (DialContextLoader's cache).
    return limit === ctx.campaign.maxCallSeconds ? ctx : { ...ctx, campaign: { ...ctx.campaign, maxCallSeconds: limit } };
  }

  private settle(summary: CallSummary): void {
    this.finished.set(summary.attemptId, summary);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.keys().next().value as string);
    for (const w of this.doneWaiters.get(summary.attemptId) ?? []) w(summary);
    this.doneWaiters.delete(summary.attemptId);
  }

  /** Resolves when the attempt's call has ended and its CDR and recording are written (or the recording flagged). */
  callDone(attemptId: string): Promise<CallSummary> {
    const done = this.finished.get(attemptId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      const list = this.doneWaiters.get(attemptId) ?? [];
      list.push(resolve);
      this.doneWaiters.set(attemptId, list);
    });
  }

  /** Places no new call from now on (the worker and the runner find the dialer unavailable). */
  stopDialing(): void {
    this.stopping = true;
  }

  /**
   * Resolves when every call of this process has ended and its CDR is written, or after
   * `limitMs`; true when none is left.
   */
  async waitForCalls(limitMs: number): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    while (this.sessions.size > 0 && Date.now() < deadline) {
      const all = Promise.all([...this.sessions.values()].map((s) => s.done));
      await Promise.race([all, new Promise((r) => setTimeout(r, Math.min(1000, Math.max(0, deadline - Date.now()))))]);
    }
    return this.sessions.size === 0;
  }

  /** The live call the agent is with, if any. */
  callOfAgent(agentId: string): CallSession | undefined {
    for (const s of this.sessions.values()) if (s.currentAgentId === agentId) return s;
    return undefined;
  }

  /** A live call by its call id. */
  call(callId: string): CallSession | undefined {
    for (const s of this.sessions.values()) if (s.callId === callId) return s;
    return undefined;
  }

  /** Blind transfer of the agent's call to another agent, who must be ready (and is reserved for it). */
  async transferCall(fromAgentId: string, toAgentId: string): Promise<{ call: CallSession; from: string; to: string }> {
    const call = this.callOfAgent(fromAgentId);
    if (!call) throw new CallControlError(`agent ${this.agents.get(fromAgentId)?.name ?? fromAgentId} has no call to transfer`, 409);
    const target = this.agents.get(toAgentId);
    if (toAgentId === fromAgentId) throw new CallControlError('a call cannot be transferred to the agent who has it', 409);
    const to = this.agents.reserveAgent(toAgentId);
    if (!to) throw new CallControlError(`agent ${target?.name ?? toAgentId} is ${target?.state ?? 'logged-out'}; a transfer goes to a ready agent`, 409);
    try {
      return { call, ...(await call.transfer(to)) };
    } catch (err) {
      this.agents.release(toAgentId);
      throw err;
    }
  }

  /** The live call whose consultation offers or holds this agent (the target of an attended transfer). */
  consultOfTarget(agentId: string): CallSession | undefined {
    for (const s of this.sessions.values()) if (s.consultTargetAgentId === agentId && s.phase !== 'ended') return s;
    return undefined;
  }

  private agentsCall(agentId: string, what: string): CallSession {
    const call = this.callOfAgent(agentId);
    if (!call) throw new CallControlError(`agent ${this.agents.get(agentId)?.name ?? agentId} has no call to ${what}`, 409);
    return call;
  }

  /**
   * Attended transfer, first step: the customer on hold, the target agent (ready, reserved for it)
   * offered the consultation until they accept or the deadline passes.
   */
  async consultAgent(fromAgentId: string, toAgentId: string): Promise<{ call: CallSession; consult: ConsultView }> {
    const call = this.agentsCall(fromAgentId, 'consult about');
    if (toAgentId === fromAgentId) throw new CallControlError('an agent cannot consult themselves', 409);
    const target = this.agents.get(toAgentId);
    const to = this.agents.reserveAgent(toAgentId);
    if (!to) throw new CallControlError(`agent ${target?.name ?? toAgentId} is ${target?.state ?? 'not logged in on this node'}; a consultation goes to a ready agent`, 409);
    try {
      const t = { ...defaultTransferOptions, ...this.opts.transfer };
      return { call, consult: (await call.startConsult({ kind: 'agent', agent: to }, 'attended', t.agentAnswerSeconds * 1000)).view };
    } catch (err) {
      this.agents.release(toAgentId);
      throw err;
    }
  }

  /**
   * A transfer to an outside number (E.164, checked by the caller), over the call's own trunk with
   * the caller id the customer was shown. Attended: a consultation that rings the number (answers
   * at once). Blind: answers once the number has answered and the customer is joined to it, or
   * with a 409 saying why not (busy, no answer: the customer is back with the agent).
   */
  async transferToNumber(fromAgentId: string, number: string, mode: 'attended' | 'blind'): Promise<{ call: CallSession; consult: ConsultView; done?: { from: string; to: string } }> {
    const call = this.agentsCall(fromAgentId, 'transfer');
    const t = { ...defaultTransferOptions, ...this.opts.transfer };
    const { view: consult, decided } = await call.startConsult({ kind: 'number', number, trunkName: call.ctx.trunk.name }, mode, t.numberRingSeconds * 1000);
    if (mode === 'attended') return { call, consult };
    const outcome = await decided;
    if (outcome !== 'talking') throw new CallControlError(`${number} ${consultEndText(outcome)}: the customer is back with the agent`, 409);
    const done = await call.completeConsult();
    return { call, consult, done };
  }

  /**
   * Ends every live call for `reason` (a stop, a drain): with `closingMessage`, the answered
   * customers hear it first (CallSession.endWithClosingMessage). Resolves when every CDR is closed;
   * with `recordings`, when every recording is stored or flagged too.
   */
  async endCalls(reason: CallEndReason, opts: { closingMessage?: boolean; recordings?: boolean } = {}): Promise<number> {
    const live = [...this.sessions.values()];
    await Promise.all(live.map((s) => (opts.closingMessage ? s.endWithClosingMessage(reason) : s.hangup(reason)).catch((err: unknown) => {
      this.log.error({ err, callId: s.callId, reason }, 'ending the call failed');
    })));
    if (opts.recordings) await Promise.all([...this.settling]);
    return live.length;
  }

  /** Logs an agent out; a call they are on ends first (ended_by logout) so its recording finishes cleanly. */
  async logoutAgent(agentId: string): Promise<void> {
    const call = this.callOfAgent(agentId);
    if (call) await call.hangup('logout').catch((err: unknown) => this.log.error({ err, agentId }, 'ending the call of an agent logging out failed'));
    await this.agents.logout(agentId);
  }

  /** Ends the calls still up (ended_by shutdown), waits for their recordings, logs every agent out. */
  async close(reason: LogoutReason = 'requested'): Promise<void> {
    this.stopping = true;
    await this.supervision.close();
    await this.endCalls('shutdown', { recordings: true });
    await this.agents.logoutAll(reason);
    await Promise.all([...this.settling]);
  }
}

/** A consultation's end in words, for the client's error. */
export function consultEndText(r: ConsultEnd): string {
  return { cancelled: 'was cancelled', refused: 'refused or was busy', 'no-answer': 'did not answer in time', 'target-lost': 'went away', failed: 'could not be reached' }[r];
}
