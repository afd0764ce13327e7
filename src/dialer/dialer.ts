// The dial worker's engine: claims an attempt exactly once, writes the call row, originates through
// ARI over the campaign's trunk, and hands the call to its session. Owns the event router and the
// agent pool for this process.
import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Fence } from '../cluster/leases.repository.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import { trunkDialString } from '../pbx/pjsip-config.js';
import type { RecordingStore } from '../recordings/store.js';
import { AgentPool, type AgentPoolOptions, type PendingCall } from './agent-pool.js';
import { CallSession, type CallSummary } from './call-session.js';
import { DialGate } from '../compliance/store/dial-gate.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import { CallWriter, DialContextLoader, DialSetupError, finishAttempt, releaseReservation } from './dial.repository.js';
import { EventRouter } from './event-router.js';
import type { DialJob } from './queue.js';

export interface DialerOptions {
  connectTimeoutMs: number;
  abandonMedia: string[];
  maxCallSeconds: number;
  ringTimeoutSeconds: number;
  agents: AgentPoolOptions;
  /**
   * The node this dialer places calls on, when it owns it by a lease: its reservations and call
   * rows are fenced by that lease (a stale owner writes nothing), and call rows name the node.
   */
  node?: { id: string; fence: () => Fence };
}

export const defaultDialerOptions: DialerOptions = {
  connectTimeoutMs: 2000,
  // "I'm sorry ... telephone number" and then the caller id's digits (added per call).
  abandonMedia: ['sound:im-sorry', 'sound:telephone-number'],
  maxCallSeconds: 3600,
  ringTimeoutSeconds: 30,
  agents: { autoReadyAfterMs: null, loginTimeoutSeconds: 20 },
};

/** Asterisk is not reachable: nothing was reserved or dialed; the job is retried later. */
export class PbxUnavailableError extends Error {
  override readonly name = 'PbxUnavailableError';
}

export type DialResult =
  | { status: 'dialing'; callId: string; channelId: string; decisionId: string }
  | { status: 'already-claimed' }
  | { status: 'denied'; decisionId: string; reasons: string[]; rescheduledTo: Date | null }
  | { status: 'not-dialed'; reason: string };

export class Dialer {
  readonly router = new EventRouter();
  readonly agents: AgentPool;
  private readonly sessions = new Map<string, CallSession>();
  private readonly finished = new Map<string, CallSummary>();
  private readonly doneWaiters = new Map<string, Array<(s: CallSummary) => void>>();
  private readonly gate: DialGate;
  private readonly contexts: DialContextLoader;
  private readonly calls: CallWriter;

  /** Listeners for calls placed and calls over (pacing statistics, supervisors' figures). */
  readonly callPlaced: Array<(campaignId: string, at: Date) => void> = [];
  /** Every dialAttempt's end, dialed or not (the runner stops counting it as on its way). */
  readonly dialFinished: Array<(attemptId: string) => void> = [];
  readonly callEnded: Array<(summary: CallSummary) => void> = [];

  /** Called when a denied attempt was rescheduled to its next allowed instant (re-enqueue it). */
  onRescheduled: (attemptId: string, at: Date) => void | Promise<void> = () => {};

  constructor(
    private readonly db: Db,
    private readonly ari: AriGateway,
    private readonly policies: PolicyResolver,
    private readonly store: RecordingStore,
    private readonly log: Logger,
    private readonly opts: DialerOptions = defaultDialerOptions,
  ) {
    this.agents = new AgentPool(ari, this.router, log, opts.agents, () => this.callsNeedingAgent());
    this.gate = new DialGate({ db, policies, ...(opts.node ? { fence: opts.node.fence } : {}) });
    this.contexts = new DialContextLoader(db);
    this.calls = new CallWriter(db, opts.node ?? null);
    this.agents.on('agent-lost', (_s, callId) => {
      for (const session of this.sessions.values()) {
        if (session.callId === callId) void ari.hangup(session.channelId).catch(() => undefined);
      }
    });
    this.router.unrouted = (e) => {
      if (e.type === 'StasisStart') log.warn({ channel: e.channel.id, args: e.args }, 'channel entered Stasis with no session');
    };
    ari.on('event', (e) => this.router.dispatch(e));
    ari.on('reconnected', () => {
      void this.reconcileWithAsterisk().catch((err: unknown) => log.error({ err }, 'reconciling with Asterisk failed'));
    });
  }

  /** Run after Asterisk comes back (e.g. to push trunks and agent endpoints again). */
  onPbxReconnected: () => Promise<void> = async () => {};

  /** False while Asterisk is away: dialing is held. */
  get available(): boolean {
    return this.ari.connected;
  }

  /**
   * After the event websocket comes back, events may have been missed: Asterisk's application
   * state (GET /applications/{app}) says which channels still exist. Calls and agents whose
   * channels are gone are closed out (a CDR for every call) and logged out.
   */
  async reconcileWithAsterisk(): Promise<{ callsClosed: number; agentsLost: number }> {
    await this.onPbxReconnected();
    const app = await this.ari.application();
    const live = new Set(app.channel_ids);
    let callsClosed = 0;
    for (const session of [...this.sessions.values()]) {
      if (live.has(session.channelId)) continue;
      await session.closeOutLost('Asterisk no longer had the channel after the ARI connection came back');
      callsClosed++;
    }
    let agentsLost = 0;
    for (const a of this.agents.list()) {
      if (a.state === 'logged-out' || live.has(a.channelId)) continue;
      this.agents.lost(a.agentId);
      agentsLost++;
    }
    this.log.warn({ callsClosed, agentsLost, liveChannels: live.size }, 'reconciled with Asterisk');
    return { callsClosed, agentsLost };
  }

  /** Whether a call session of this process holds the channel (its own events will close it). */
  hasChannel(channelId: string): boolean {
    for (const s of this.sessions.values()) if (s.channelId === channelId) return true;
    return false;
  }

  get activeCalls(): number {
    return this.sessions.size;
  }

  /** The calls in progress, with their phase and start, for the pacer's snapshot. */
  liveCalls(): { campaignId: string; phase: CallSession['phase']; startedAt: Date; needsAgent: boolean }[] {
    return [...this.sessions.values()].map((s) => ({ campaignId: s.ctx.campaign.id, phase: s.phase, startedAt: s.startedAt, needsAgent: s.needsAgent }));
  }

  /** Calls that will still need a ready agent of their campaign, oldest first (the pool keeps agents for them). */
  private callsNeedingAgent(): PendingCall[] {
    const out: PendingCall[] = [];
    for (const s of this.sessions.values()) if (s.needsAgent) out.push({ callId: s.callId, campaignId: s.ctx.campaign.id });
    return out;
  }

  /** BullMQ processor: one job per attempt. */
  process = async (job: Job<DialJob>): Promise<DialResult> => this.dialAttempt(job.data.attemptId);

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
    if (!this.available) throw new PbxUnavailableError('Asterisk (ARI) is not reachable: dialing is held');
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
    const channelId = randomUUID();
    const callId = await this.calls.insert({
      attemptId: attempt.id,
      campaignId: ctx.campaign.id,
      contactId: attempt.contactId,
      phone: attempt.phone,
      callerId,
      trunkId: ctx.trunk.id,
      channelId,
    });
    const session = new CallSession(
      {
        db: this.db, calls: this.calls, ari: this.ari, router: this.router, agents: this.agents, store: this.store, log: this.log,
        connectTimeoutMs: this.opts.connectTimeoutMs, abandonMedia: this.opts.abandonMedia, maxCallSeconds: this.opts.maxCallSeconds,
      },
      ctx,
      callId,
      channelId,
      agentId,
      callerId,
    );
    this.sessions.set(attempt.id, session);
    void session.done.then((summary) => this.settle(summary));
    session.listen();
    try {
      await this.ari.originate({
        endpoint: trunkDialString(attempt.phone, ctx.trunk.name),
        channelId,
        app: this.ari.app,
        appArgs: `customer,${callId}`,
        callerId: `"${ctx.campaign.name.replace(/["\\]/g, '')}" <${callerId}>`,
        timeout: this.opts.ringTimeoutSeconds,
        // For answering-machine detection the answered call runs AMD() in the dialplan and
        // comes back to this application with the verdict.
        ...(ctx.campaign.amd ? { variables: { DIALWELL_APP: this.ari.app, DIALWELL_CALL: callId } } : {}),
      });
      if (ctx.campaign.amd) await this.ari.subscribeChannel(channelId);
    } catch (err) {
      await session.originateFailed(err as Error);
      return { status: 'not-dialed', reason: (err as Error).message };
    }
    for (const l of this.callPlaced) l(ctx.campaign.id, session.startedAt);
    return { status: 'dialing', callId, channelId, decisionId: gate.decisionId };
  }

  private settle(summary: CallSummary): void {
    this.sessions.delete(summary.attemptId);
    for (const l of this.callEnded) l(summary);
    this.finished.set(summary.attemptId, summary);
    if (this.finished.size > 10_000) this.finished.delete(this.finished.keys().next().value as string);
    for (const w of this.doneWaiters.get(summary.attemptId) ?? []) w(summary);
    this.doneWaiters.delete(summary.attemptId);
  }

  /** Resolves when the attempt's call has ended and its CDR and recording are written. */
  callDone(attemptId: string): Promise<CallSummary> {
    const done = this.finished.get(attemptId);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => {
      const list = this.doneWaiters.get(attemptId) ?? [];
      list.push(resolve);
      this.doneWaiters.set(attemptId, list);
    });
  }

  async close(): Promise<void> {
    await this.agents.logoutAll();
  }
}
