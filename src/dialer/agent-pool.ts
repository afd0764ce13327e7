// Logged-in agents and their states. An agent's softphone is called once at login and kept in the
// agent's own mixing bridge for the whole session, so an answered customer is joined with a
// single bridge operation and the agent's phone never rings again.
import { randomUUID } from 'node:crypto';
import type { AriGateway } from '../pbx/ari.js';
import type { Logger } from '../log.js';
import type { EventRouter } from './event-router.js';

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
  /** 'webrtc': the phone is the agent's browser, called again when it goes away (a page reload). */
  phoneType: PhoneType;
}

export type PhoneType = 'sip' | 'webrtc';

/** The pause reason while a browser phone that went away is being called again. */
export const PHONE_RECONNECTING = 'phone-reconnecting';

export interface AgentPoolOptions {
  /** Wrap-up time before an agent is ready again; null waits for a disposition. */
  autoReadyAfterMs: number | null;
  loginTimeoutSeconds: number;
  /** How long a browser phone that went away (a page reload) is called again before the agent is
   * logged out; default 60 s. */
  phoneRecallSeconds?: number;
  /** How long a customer waits in the agent's bridge for the agent's browser phone to come back
   * (a reload mid-call takes about a second) before the call is ended; default 10 s. */
  phoneRecallCustomerSeconds?: number;
}

export class AgentLoginError extends Error {
  override readonly name = 'AgentLoginError';
}

export class AgentPool {
  private readonly sessions = new Map<string, AgentSession>();
  /** Calls waiting for an agent, oldest first, each for its campaign. */
  private readonly waiters: { campaignId: string | undefined; take: (s: AgentSession | null) => void }[] = [];
  private assignments: ReadonlyMap<string, ReadonlySet<string>> = new Map();
  private listedCampaigns: ReadonlySet<string> = new Set();
  /** Agents whose browser phone went away and is being called again (see recallPhone). */
  private readonly recalling = new Set<string>();
  /** Called when an agent's softphone hangs up while a customer is with them. */
  onAgentLost: (s: AgentSession, callId: string) => void = () => {};
  /** Called after every state change (reports keep each agent's history); must not throw. */
  onStateChange: (s: AgentSession) => void = () => {};

  constructor(
    private readonly ari: AriGateway,
    private readonly router: EventRouter,
    private readonly log: Logger,
    private readonly opts: AgentPoolOptions,
  ) {}

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

  async login(agent: { id: string; name: string; endpoint: string; phoneType?: PhoneType }): Promise<AgentSession> {
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
      phoneType: agent.phoneType ?? 'sip',
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
      await this.ari.originate(this.phoneOriginate(session, this.opts.loginTimeoutSeconds));
      await answered;
      await this.ari.addToBridge(session.bridgeId, session.channelId);
    } catch (err) {
      this.ended(session, log);
      await this.ari.hangup(session.channelId).catch(() => undefined);
      throw err instanceof AgentLoginError ? err : new AgentLoginError(`login of ${agent.endpoint} failed: ${(err as Error).message}`);
    }
    this.watchPhone(session, log);
    log.info('agent logged in');
    this.setState(session, 'ready');
    return session;
  }

  /** The call to the agent's phone; a browser gets opus first (ARI would offer PCMU first). */
  private phoneOriginate(s: AgentSession, timeout: number) {
    return {
      endpoint: `PJSIP/${s.endpoint}`,
      channelId: s.channelId,
      app: this.ari.app,
      appArgs: `agent,${s.agentId}`,
      callerId: '"Dialwell" <dialwell>',
      timeout,
      ...(s.phoneType === 'webrtc' ? { formats: 'opus,ulaw' } : {}),
    };
  }

  /** A SIP phone that hangs up logs the agent out; a browser phone that goes away is called again. */
  private watchPhone(s: AgentSession, log: Logger): void {
    this.router.onChannel(s.channelId, (e) => {
      if (e.type !== 'ChannelDestroyed') return;
      if (s.phoneType === 'webrtc' && s.state !== 'logged-out') void this.recallPhone(s, log);
      else this.ended(s, log);
    });
  }

  /**
   * The browser phone went away (a page reload, a lost network): the session, its bridge and its
   * state are kept, the agent is paused (no call is given to a phone that is not there), and the
   * phone is called again every second or so until it answers; past phoneRecallSeconds the agent
   * is logged out as a SIP phone's hang-up would. A customer on the line stays in the bridge (the
   * phone rejoins the same bridge) for phoneRecallCustomerSeconds, then the call is ended.
   */
  private async recallPhone(s: AgentSession, log: Logger): Promise<void> {
    this.router.offChannel(s.channelId);
    this.recalling.add(s.agentId);
    const customerTimer = s.callId
      ? setTimeout(() => {
        if (this.recalling.has(s.agentId) && s.callId) this.onAgentLost(s, s.callId);
      }, (this.opts.phoneRecallCustomerSeconds ?? 10) * 1000)
      : null;
    if (s.state === 'ready' || s.state === 'reserved') {
      s.pauseReason = PHONE_RECONNECTING;
      this.setState(s, 'paused');
    }
    log.warn('browser phone went away: calling it again');
    const deadline = Date.now() + (this.opts.phoneRecallSeconds ?? 60) * 1000;
    // Read afresh after every await: a logout may end the recall meanwhile.
    const stillRecalling = (): boolean => s.state !== 'logged-out' && this.recalling.has(s.agentId);
    // The page that left may still hold its websocket for a moment: a call sent at once would ring there.
    await new Promise((r) => setTimeout(r, 500));
    while (Date.now() < deadline && stillRecalling()) {
      s.channelId = randomUUID();
      const attemptEnd = Date.now() + 1000;
      // A browser answers by itself within a moment; a call still ringing after a few seconds went to
      // the page that left (Asterisk keeps its contact until the new page registers): try again.
      const ringFor = Math.max(1, Math.min(3, Math.ceil((deadline - Date.now()) / 1000)));
      const answered = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), (ringFor + 2) * 1000);
        this.router.onChannel(s.channelId, (e) => {
          if (e.type === 'StasisStart' || e.type === 'ChannelDestroyed') {
            clearTimeout(timer);
            resolve(e.type === 'StasisStart');
          }
        });
        // Not registered yet: Asterisk refuses the originate at once.
        this.ari.originate(this.phoneOriginate(s, ringFor)).catch(() => {
          clearTimeout(timer);
          resolve(false);
        });
      });
      this.router.offChannel(s.channelId);
      if (answered && stillRecalling()) {
        try {
          await this.ari.addToBridge(s.bridgeId, s.channelId);
        } catch (err) {
          log.warn({ err }, 'the recalled phone could not join its bridge');
          await this.ari.hangup(s.channelId).catch(() => undefined);
          continue;
        }
        this.recalling.delete(s.agentId);
        if (customerTimer) clearTimeout(customerTimer);
        this.watchPhone(s, log);
        log.info('browser phone is back');
        // Paused by the recall alone (ready before, or asked to be ready meanwhile): ready again.
        if (s.state === 'paused' && s.pauseReason === PHONE_RECONNECTING) this.setReady(s.agentId);
        return;
      }
      if (answered) await this.ari.hangup(s.channelId).catch(() => undefined);
      await new Promise((r) => setTimeout(r, Math.max(0, attemptEnd - Date.now())));
    }
    if (customerTimer) clearTimeout(customerTimer);
    if (!this.recalling.delete(s.agentId)) return;
    log.warn('browser phone did not come back: logging the agent out');
    this.ended(s, log);
  }

  private ended(s: AgentSession, log: Logger): void {
    this.recalling.delete(s.agentId);
    if (s.state === 'logged-out') return;
    const callId = s.callId;
    this.setState(s, 'logged-out');
    this.router.offChannel(s.channelId);
    void this.ari.destroyBridge(s.bridgeId).catch((err: unknown) => log.warn({ err }, 'destroying agent bridge failed'));
    log.info('agent logged out');
    if (callId) this.onAgentLost(s, callId);
  }

  /** The softphone's channel is gone without an event (Asterisk restarted): the agent is logged out. */
  lost(agentId: string): void {
    const s = this.sessions.get(agentId);
    if (s) this.ended(s, this.log.child({ agentId }));
  }

  async logout(agentId: string): Promise<void> {
    const s = this.sessions.get(agentId);
    if (!s || s.state === 'logged-out') return;
    // A logout's own hang-up is not a browser phone going away.
    this.recalling.delete(agentId);
    this.router.offChannel(s.channelId);
    await this.ari.hangup(s.channelId);
    this.ended(s, this.log.child({ agentId }));
  }

  private setState(s: AgentSession, state: AgentState): void {
    // No call for an agent whose browser phone is away: ready waits until it is back.
    if (state === 'ready' && this.recalling.has(s.agentId)) {
      s.pauseReason = PHONE_RECONNECTING;
      state = 'paused';
    }
    s.state = state;
    s.stateSince = Date.now();
    this.onStateChange(s);
    if (state === 'ready') this.serveWaiter(s);
  }

  /** Which campaigns each agent is listed on (campaign_agents); the campaign runner refreshes it every tick. */
  setAssignments(assignments: ReadonlyMap<string, ReadonlySet<string>>): void {
    this.assignments = assignments;
    this.listedCampaigns = new Set([...assignments.values()].flatMap((s) => [...s]));
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
    this.onStateChange(s);
    w!.take(s);
  }

  /** Reserves the agent (serving the campaign, if one is named) who has been ready longest, or null. */
  reserve(campaignId?: string): AgentSession | null {
    let best: AgentSession | null = null;
    for (const s of this.sessions.values()) {
      if (s.state === 'ready' && this.serves(s.agentId, campaignId) && (!best || s.stateSince < best.stateSince)) best = s;
    }
    if (best) this.setState(best, 'reserved');
    return best;
  }

  /** Reserves a ready agent now, or the first to become ready within timeoutMs, else null. */
  reserveWithin(timeoutMs: number, campaignId?: string): Promise<AgentSession | null> {
    const now = this.reserve(campaignId);
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
