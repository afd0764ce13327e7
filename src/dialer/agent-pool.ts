// Logged-in agents and their states. An agent's softphone is called once at login and kept in the
// agent's own mixing bridge for the whole session, so an answered customer is joined with a
// single bridge operation and the agent's phone never rings again.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AriGateway } from '../pbx/ari.js';
import type { Logger } from '../log.js';
import type { EventRouter } from './event-router.js';
import { AgentCoverage } from './pacing/agent-coverage.js';

export type AgentState = 'logging-in' | 'ready' | 'reserved' | 'on-call' | 'wrap-up' | 'paused' | 'logged-out';

export interface AgentSession {
  agentId: string;
  name: string;
  endpoint: string;
  channelId: string;
  bridgeId: string;
  state: AgentState;
  stateSince: number;
  callId: string | null;
  /** The call the agent is wrapping up (or last took). */
  lastCallId: string | null;
  pauseReason: string | null;
}

export interface AgentPoolOptions {
  /** Wrap-up time before an agent is ready again; null waits for a disposition. */
  autoReadyAfterMs: number | null;
  loginTimeoutSeconds: number;
}

/** A call in progress that will need a ready agent of its campaign. */
export interface PendingCall {
  callId: string;
  campaignId: string;
}

export interface AgentPoolEvents {
  /** After every state change (reports keep each agent's history; the shared board mirrors it). */
  state: [session: AgentSession];
  /** The agent's softphone hung up while a customer was with them. */
  'agent-lost': [session: AgentSession, callId: string];
}

export class AgentLoginError extends Error {
  override readonly name = 'AgentLoginError';
}

export class AgentPool extends EventEmitter<AgentPoolEvents> {
  private readonly sessions = new Map<string, AgentSession>();
  /** Calls waiting for an agent, oldest first, each for its campaign. */
  private readonly waiters: { campaignId: string | undefined; take: (s: AgentSession | null) => void }[] = [];
  private assignments: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  /** Per listed agent, its campaigns as one string: agents with equal keys are interchangeable. */
  private servesKey: ReadonlyMap<string, string> = new Map();
  private listedCampaigns: ReadonlySet<string> = new Set();

  constructor(
    private readonly ari: AriGateway,
    private readonly router: EventRouter,
    private readonly log: Logger,
    private readonly opts: AgentPoolOptions,
    /** The calls in progress still needing an agent (an agent one of them needs is not given away lightly). */
    private readonly pendingCalls: () => readonly PendingCall[] = () => [],
  ) {
    super();
  }

  get(agentId: string): AgentSession | undefined {
    return this.sessions.get(agentId);
  }

  list(): AgentSession[] {
    return [...this.sessions.values()];
  }

  countIn(state: AgentState): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.state === state) n++;
    return n;
  }

  async login(agent: { id: string; name: string; endpoint: string }): Promise<AgentSession> {
    const existing = this.sessions.get(agent.id);
    if (existing && existing.state !== 'logged-out') return existing;
    const session: AgentSession = {
      agentId: agent.id,
      name: agent.name,
      endpoint: agent.endpoint,
      channelId: randomUUID(),
      bridgeId: randomUUID(),
      state: 'logging-in',
      stateSince: Date.now(),
      callId: null,
      lastCallId: null,
      pauseReason: null,
    };
    this.sessions.set(agent.id, session);
    const log = this.log.child({ agentId: agent.id, endpoint: agent.endpoint });
    await this.ari.createBridge(session.bridgeId, 'mixing');

    const answered = new Promise<void>((resolve, reject) => {
      this.router.onChannel(session.channelId, (e) => {
        if (e.type === 'StasisStart') resolve();
        else if (e.type === 'ChannelDestroyed') {
          reject(new AgentLoginError(`softphone ${agent.endpoint} did not answer: ${e.cause_txt} (cause ${e.cause})`));
          this.ended(session, log);
        }
      });
    });
    try {
      await this.ari.originate({
        endpoint: `PJSIP/${agent.endpoint}`,
        channelId: session.channelId,
        app: this.ari.app,
        appArgs: `agent,${agent.id}`,
        callerId: '"Dialwell" <dialwell>',
        timeout: this.opts.loginTimeoutSeconds,
      });
      await answered;
      await this.ari.addToBridge(session.bridgeId, session.channelId);
    } catch (err) {
      this.ended(session, log);
      await this.ari.hangup(session.channelId).catch(() => undefined);
      throw err instanceof AgentLoginError ? err : new AgentLoginError(`login of ${agent.endpoint} failed: ${(err as Error).message}`);
    }
    this.router.onChannel(session.channelId, (e) => {
      if (e.type === 'ChannelDestroyed') this.ended(session, log);
    });
    log.info('agent logged in');
    this.setState(session, 'ready');
    return session;
  }

  private ended(s: AgentSession, log: Logger): void {
    if (s.state === 'logged-out') return;
    const callId = s.callId;
    this.setState(s, 'logged-out');
    this.router.offChannel(s.channelId);
    void this.ari.destroyBridge(s.bridgeId).catch((err: unknown) => log.warn({ err }, 'destroying agent bridge failed'));
    log.info('agent logged out');
    if (callId) this.emit('agent-lost', s, callId);
  }

  /** The softphone's channel is gone without an event (Asterisk restarted): the agent is logged out. */
  lost(agentId: string): void {
    const s = this.sessions.get(agentId);
    if (s) this.ended(s, this.log.child({ agentId }));
  }

  async logout(agentId: string): Promise<void> {
    const s = this.sessions.get(agentId);
    if (!s || s.state === 'logged-out') return;
    await this.ari.hangup(s.channelId);
    this.ended(s, this.log.child({ agentId }));
  }

  private setState(s: AgentSession, state: AgentState): void {
    s.state = state;
    s.stateSince = Date.now();
    this.emit('state', s);
    if (state === 'ready') this.serveWaiter(s);
  }

  /** Which campaigns each agent is listed on (campaign_agents); the campaign runner refreshes it every tick. */
  setAssignments(assignments: ReadonlyMap<string, ReadonlySet<string>>): void {
    this.assignments = assignments;
    this.listedCampaigns = new Set([...assignments.values()].flatMap((s) => [...s]));
    this.servesKey = new Map([...assignments].map(([agent, set]) => [agent, [...set].sort().join(',')]));
  }

  /**
   * Whether this agent takes this campaign's calls: a campaign that lists agents is served by
   * them alone; one that lists none, by every agent not listed elsewhere (no campaign: anyone).
   */
  serves(agentId: string, campaignId: string | undefined): boolean {
    if (!campaignId) return true;
    const set = this.assignments.get(agentId);
    return this.listedCampaigns.has(campaignId) ? !!set?.has(campaignId) : !set;
  }

  private serveWaiter(s: AgentSession): void {
    const i = this.waiters.findIndex((w) => this.serves(s.agentId, w.campaignId));
    if (i < 0) return;
    const [w] = this.waiters.splice(i, 1);
    s.state = 'reserved';
    s.stateSince = Date.now();
    this.emit('state', s);
    w!.take(s);
  }

  /**
   * Reserves the agent (serving the campaign, if one is named) who has been ready longest, or
   * null. When agents serve different sets of campaigns, an agent another call in progress needs
   * (no other ready agent could take that call) is passed over for one who is spare, so a shared
   * agent is not taken from under a call that has no one else. `forCall` is the call reserving.
   */
  reserve(campaignId?: string, forCall?: string): AgentSession | null {
    const candidates: AgentSession[] = [];
    let best: AgentSession | null = null;
    let interchangeable = true;
    for (const s of this.sessions.values()) {
      if (s.state !== 'ready' || !this.serves(s.agentId, campaignId)) continue;
      if (best && this.servesKey.get(s.agentId) !== this.servesKey.get(best.agentId)) interchangeable = false;
      if (!best || s.stateSince < best.stateSince) best = s;
      candidates.push(s);
    }
    if (!best) return null;
    // Agents who serve different campaigns: keep the ones other calls in progress need.
    if (campaignId && !interchangeable) {
      candidates.sort((a, b) => a.stateSince - b.stateSince);
      const ready = this.list().filter((s) => s.state === 'ready').map((s) => s.agentId);
      const coverage = new AgentCoverage(ready, (a, c) => this.serves(a, c));
      for (const p of this.pendingCalls()) if (p.callId !== forCall) coverage.add(p.campaignId);
      best = candidates.find((c) => coverage.spare(c.agentId)) ?? best;
    }
    this.setState(best, 'reserved');
    return best;
  }

  /** Reserves a ready agent now, or the first to become ready within timeoutMs, else null. */
  reserveWithin(timeoutMs: number, campaignId?: string, forCall?: string): Promise<AgentSession | null> {
    const now = this.reserve(campaignId, forCall);
    if (now || timeoutMs <= 0) return Promise.resolve(now);
    return new Promise((resolve) => {
      const waiter = {
        campaignId,
        take: (s: AgentSession | null) => {
          clearTimeout(timer);
          resolve(s);
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(null);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Reserves this agent if ready (a preview or a callback meant for them). */
  reserveAgent(agentId: string): AgentSession | null {
    const s = this.sessions.get(agentId);
    if (!s || s.state !== 'ready') return null;
    this.setState(s, 'reserved');
    return s;
  }

  /** Gives a reserved agent back (the customer left before being joined). */
  release(agentId: string): void {
    const s = this.sessions.get(agentId);
    if (s && s.state === 'reserved') this.setState(s, 'ready');
  }

  connected(agentId: string, callId: string): void {
    const s = this.sessions.get(agentId);
    if (!s) return;
    s.callId = callId;
    this.setState(s, 'on-call');
  }

  callEnded(agentId: string): void {
    const s = this.sessions.get(agentId);
    if (!s || s.state === 'logged-out') return;
    s.lastCallId = s.callId;
    s.callId = null;
    this.setState(s, 'wrap-up');
    const after = this.opts.autoReadyAfterMs;
    if (after !== null) {
      setTimeout(() => {
        if (s.state === 'wrap-up') this.setState(s, 'ready');
      }, after);
    }
  }

  setReady(agentId: string): void {
    const s = this.sessions.get(agentId);
    if (s && (s.state === 'wrap-up' || s.state === 'paused')) {
      s.pauseReason = null;
      this.setState(s, 'ready');
    }
  }

  pause(agentId: string, reason: string): void {
    const s = this.sessions.get(agentId);
    if (s && (s.state === 'ready' || s.state === 'wrap-up')) {
      s.pauseReason = reason;
      this.setState(s, 'paused');
    }
  }

  async logoutAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.logout(id)));
    for (const w of this.waiters.splice(0)) w.take(null);
  }
}
