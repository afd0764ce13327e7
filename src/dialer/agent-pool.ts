// Logged-in agents and their states. An agent's softphone is called once at login and kept in the
// agent's own mixing bridge for the whole session, so an answered customer is joined with a
// single bridge operation and the agent's phone never rings again.
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { AriGateway } from '../pbx/ari.js';
import type { AriBridge, AriChannel } from '../pbx/ari-types.js';
import type { Logger } from '../log.js';
import type { EventRouter } from './event-router.js';
import { agentOfChannel } from './stasis-channels.js';
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
  /** Why the session ended (see LogoutReason); null while logged in. */
  logoutReason: LogoutReason | null;
  /** 'webrtc': the phone is the agent's browser, called again when it goes away (a page reload). */
  phoneType: PhoneType;
}

/** Why an agent was logged out: their own request (or a supervisor's), the softphone hung up or
 * never answered the login call, Asterisk lost the channel, or the engine stopped. */
/** 'node-down': the node's Asterisk stopped answering (its softphone channels went with it); 'drain': the node is being drained. */
export type LogoutReason = 'requested' | 'softphone-hung-up' | 'login-failed' | 'lost' | 'shutdown' | 'node-down' | 'drain';

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

/** A call in progress that will need a ready agent of its campaign. */
export interface PendingCall {
  callId: string;
  campaignId: string;
}

export interface AgentPoolEvents {
  /** After every state change (reports keep each agent's history, the live stream pushes it, the shared board mirrors it); listeners must not throw. */
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
  /** Agents whose browser phone went away and is being called again (see recallPhone). */
  private readonly recalling = new Set<string>();

  constructor(
    private readonly ari: AriGateway,
    private readonly router: EventRouter,
    private readonly log: Logger,
    private readonly opts: AgentPoolOptions,
    /** The calls in progress still needing an agent (an agent one of them needs is not given away lightly). */
    private readonly pendingCalls: () => readonly PendingCall[] = () => [],
  ) {
    super();
    // Reports, the live stream's connections, the shared board and tests each listen; none is a leak.
    this.setMaxListeners(0);
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
      logoutReason: null,
      phoneType: agent.phoneType ?? 'sip',
    };
    this.sessions.set(agent.id, session);
    const log = this.log.child({ agentId: agent.id, endpoint: agent.endpoint });
    let timer: NodeJS.Timeout | undefined;
    const answered = new Promise<void>((resolve, reject) => {
      this.router.onChannel(session.channelId, (e) => {
        if (e.type === 'StasisStart') resolve();
        else if (e.type === 'ChannelDestroyed') {
          reject(new AgentLoginError(`softphone ${agent.endpoint} did not answer: ${e.cause_txt} (cause ${e.cause})`));
          this.ended(session, log, 'login-failed');
        }
      });
      // Should neither event come (lost while the ARI connection was down), the login still ends.
      timer = setTimeout(() => reject(new AgentLoginError(`softphone ${agent.endpoint} did not answer within ${this.opts.loginTimeoutSeconds + LOGIN_SLACK_S} s`)), (this.opts.loginTimeoutSeconds + LOGIN_SLACK_S) * 1000);
    });
    answered.catch(() => undefined);
    try {
      if (!this.ari.connected) throw new AgentLoginError('Asterisk (ARI) is not reachable: log in again once it is back');
      // A softphone channel and bridge left from before (a login whose answer came after Asterisk
      // froze, a process that died) would give the agent two calls: end them first.
      await this.clearStale(agent.id, session).catch((err: unknown) => log.warn({ err: (err as Error).message }, 'clearing the agent\'s stale softphone channels failed'));
      await this.ari.createBridge(session.bridgeId, 'mixing', agentBridgeName(agent.id));
      await this.ari.originate(this.phoneOriginate(session, this.opts.loginTimeoutSeconds));
      await answered;
      await this.ari.addToBridge(session.bridgeId, session.channelId);
    } catch (err) {
      this.ended(session, log, 'login-failed');
      // Hung up even if the originate timed out: Asterisk may place it later (the StasisStart of
      // such a channel, held by no login, is hung up too: Dialer.unrouted).
      await this.ari.hangup(session.channelId).catch(() => undefined);
      throw err instanceof AgentLoginError ? err : new AgentLoginError(`login of ${agent.endpoint} failed: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
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
      else this.ended(s, log, 'softphone-hung-up');
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
        if (this.recalling.has(s.agentId) && s.callId) this.emit('agent-lost', s, s.callId);
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
    this.ended(s, log, 'softphone-hung-up');
  }

  private ended(s: AgentSession, log: Logger, reason: LogoutReason): void {
    this.recalling.delete(s.agentId);
    if (s.state === 'logged-out') return;
    const callId = s.callId;
    // A logout in progress set its reason already; the hangup's own event must not replace it.
    s.logoutReason ??= reason;
    this.setState(s, 'logged-out');
    this.router.offChannel(s.channelId);
    void this.ari.destroyBridge(s.bridgeId).catch((err: unknown) => log.warn({ err }, 'destroying agent bridge failed'));
    log.info({ reason: s.logoutReason }, 'agent logged out');
    if (callId) this.emit('agent-lost', s, callId);
  }

  /** The softphone's channel is gone without an event (Asterisk restarted): the agent is logged out.
   * Should the channel in fact still exist, it is hung up, never left to ring on as a second one. */
  lost(agentId: string): void {
    const s = this.sessions.get(agentId);
    if (!s) return;
    this.ended(s, this.log.child({ agentId }), 'lost');
    void this.ari.hangup(s.channelId).catch(() => undefined);
  }

  /** Hangs up this application's softphone channels and agent bridges of the agent other than `keep`'s. */
  private async clearStale(agentId: string, keep: AgentSession | null): Promise<number> {
    const [app, channels] = await Promise.all([this.ari.application(), this.ari.listChannels()]);
    const held = new Set(app.channel_ids);
    const stale = channels.filter((c) => held.has(c.id) && agentOfChannel(c, this.ari.app) === agentId && c.id !== keep?.channelId);
    for (const c of stale) await this.ari.hangup(c.id);
    if (stale.length) this.log.warn({ agentId, channels: stale.map((c) => c.id) }, 'stale softphone channels of the agent hung up');
    return stale.length;
  }

  /**
   * After the ARI connection comes back (Asterisk froze or restarted, events were lost): every
   * agent keeps exactly one softphone channel, in its own bridge. What Asterisk still holds for the
   * application (GET /applications/{app}, GET /channels, GET /bridges) decides: an agent whose
   * channel is gone is logged out; a live channel out of its bridge is put back (the bridge made
   * again if need be); softphone channels and agent bridges nobody owns are ended.
   */
  async reconcile(held: { channelIds: ReadonlySet<string>; bridgeIds: ReadonlySet<string>; channels: AriChannel[]; bridges: AriBridge[] }): Promise<{ lost: number; rejoined: number; staleChannels: number; staleBridges: number }> {
    const r = { lost: 0, rejoined: 0, staleChannels: 0, staleBridges: 0 };
    const bridges = new Map(held.bridges.map((b) => [b.id, b]));
    const current = new Set<string>();
    for (const a of this.list()) {
      if (a.state === 'logged-out' || a.state === 'logging-in') continue;
      if (!held.channelIds.has(a.channelId)) {
        this.lost(a.agentId);
        r.lost++;
        continue;
      }
      current.add(a.channelId);
      const bridge = bridges.get(a.bridgeId);
      if (bridge?.channels.includes(a.channelId)) continue;
      try {
        if (!bridge) await this.ari.createBridge(a.bridgeId, 'mixing', agentBridgeName(a.agentId));
        await this.ari.addToBridge(a.bridgeId, a.channelId);
        r.rejoined++;
      } catch (err) {
        this.log.warn({ agentId: a.agentId, err: (err as Error).message }, 'putting the agent back into their bridge failed: logging them out');
        this.lost(a.agentId);
        r.lost++;
      }
    }
    for (const c of held.channels) {
      if (!held.channelIds.has(c.id) || current.has(c.id) || agentOfChannel(c, this.ari.app) === null) continue;
      if (this.isLoggingIn(c.id)) continue;
      await this.ari.hangup(c.id);
      r.staleChannels++;
    }
    const owned = new Set(this.list().filter((a) => a.state !== 'logged-out').map((a) => a.bridgeId));
    for (const b of held.bridges) {
      if (!held.bridgeIds.has(b.id) || owned.has(b.id) || !b.name?.startsWith(AGENT_BRIDGE_PREFIX)) continue;
      await this.ari.destroyBridge(b.id);
      r.staleBridges++;
    }
    if (r.lost || r.rejoined || r.staleChannels || r.staleBridges) this.log.warn(r, 'agents reconciled with Asterisk');
    return r;
  }

  /**
   * Keeps the session of an agent whose softphone channel this engine found in Asterisk when it
   * took the node over (src/dialer/takeover.ts): same channel, same bridge, the state the previous
   * engine last published (its timer going on from then); the phone does not ring again. A
   * reservation of the previous engine is void (ready again).
   */
  restore(
    agent: { id: string; name: string; endpoint: string; phoneType: PhoneType },
    phone: { channelId: string; bridgeId: string },
    was: { state: AgentState; since: number; callId: string | null; lastCallId: string | null; pauseReason: string | null },
  ): AgentSession {
    const existing = this.sessions.get(agent.id);
    if (existing && existing.state !== 'logged-out') return existing;
    const state = was.state === 'reserved' || was.state === 'logging-in' || was.state === 'logged-out' ? 'ready' : was.state;
    const s: AgentSession = {
      agentId: agent.id, name: agent.name, endpoint: agent.endpoint, channelId: phone.channelId, bridgeId: phone.bridgeId,
      state, stateSince: state === was.state ? was.since : Date.now(), callId: state === 'on-call' ? was.callId : null,
      lastCallId: was.lastCallId, pauseReason: state === 'paused' ? was.pauseReason : null, logoutReason: null, phoneType: agent.phoneType,
    };
    this.sessions.set(agent.id, s);
    const log = this.log.child({ agentId: agent.id, endpoint: agent.endpoint });
    this.watchPhone(s, log);
    log.info({ state }, 'agent session kept from the previous engine');
    this.emit('state', s);
    if (state === 'ready') this.serveWaiter(s);
    const after = this.opts.autoReadyAfterMs;
    if (state === 'wrap-up' && after !== null) {
      setTimeout(() => {
        if (s.state === 'wrap-up') this.setState(s, 'ready');
      }, Math.max(0, s.stateSince + after - Date.now()));
    }
    return s;
  }

  private isLoggingIn(channelId: string): boolean {
    for (const s of this.sessions.values()) if (s.channelId === channelId && s.state === 'logging-in') return true;
    return false;
  }

  async logout(agentId: string, reason: LogoutReason = 'requested'): Promise<void> {
    const s = this.sessions.get(agentId);
    if (!s || s.state === 'logged-out') return;
    // The reason is set before the hangup: the softphone's ChannelDestroyed may arrive first.
    s.logoutReason = reason;
    // A logout's own hang-up is not a browser phone going away.
    this.recalling.delete(agentId);
    this.router.offChannel(s.channelId);
    // With the node down there is no channel left to hang up.
    await this.ari.hangup(s.channelId).catch((err: unknown) => {
      if (reason !== 'node-down') throw err;
    });
    this.ended(s, this.log.child({ agentId }), reason);
  }

  private setState(s: AgentSession, state: AgentState): void {
    // No call for an agent whose browser phone is away: ready waits until it is back.
    if (state === 'ready' && this.recalling.has(s.agentId)) {
      s.pauseReason = PHONE_RECONNECTING;
      state = 'paused';
    }
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

  /**
   * Sessions whose softphone hang-up ended them since `since` were in fact ended by their node
   * going down (a stopping Asterisk hangs every channel up before its websocket closes): their
   * reason becomes `reason`, reported again (board, state history). Returns how many.
   */
  relabelLogouts(since: number, reason: LogoutReason): number {
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.state !== 'logged-out' || s.stateSince < since || (s.logoutReason !== 'softphone-hung-up' && s.logoutReason !== 'lost')) continue;
      s.logoutReason = reason;
      this.emit('state', s);
      n++;
    }
    return n;
  }

  async logoutAll(reason: LogoutReason = 'requested'): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.logout(id, reason)));
    for (const w of this.waiters.splice(0)) w.take(null);
  }
}

const AGENT_BRIDGE_PREFIX = 'agent-';
/** A login waits this much past the originate's own timeout for the softphone's answer or end. */
const LOGIN_SLACK_S = 5;

/** Agent bridges are named after their agent, so that ones a dead process left can be found. */
function agentBridgeName(agentId: string): string {
  return `${AGENT_BRIDGE_PREFIX}${agentId}`;
}


/** The agent whose bridge this is, by its name (null for any other bridge). */
export function agentOfBridgeName(name: string | undefined): string | null {
  return name?.startsWith(AGENT_BRIDGE_PREFIX) ? name.slice(AGENT_BRIDGE_PREFIX.length) || null : null;
}
