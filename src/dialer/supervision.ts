// A supervisor listens to, or whispers to, an agent's live call from their own phone. The sound
// model: the supervisor's user is linked to an agent row (users.agent_id) whose endpoint is their
// phone (pushed to Asterisk like any agent's, src/admin/pbx-sync.ts). Dialwell calls that phone
// and puts it, with an ARI snoop channel on the agent's softphone channel, into a mixing bridge of
// their own. Listen: the snoop hears both directions of the agent's channel (spy=both) and speaks
// nowhere. Whisper: the same, and its audio goes to the agent's phone alone (whisper=out, mixed
// into what Asterisk sends the agent after the agent's bridge): the customer never hears it and
// the call's recording (the agent bridge's mix) never holds it. Nothing here touches the call, its
// bridge or its CDR. The session ends when its call leaves the agent (the call's end, a transfer,
// the agent's logout), when the supervisor stops it or their phone hangs up; each start, switch
// and end is audited (who, which call, when).
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import type { Db } from '../db/database.js';
import { ClientError } from '../errors.js';
import type { Logger } from '../log.js';
import { AriError, type AriGateway, type SnoopDirection } from '../pbx/ari.js';
import type { AriEvent } from '../pbx/ari-types.js';
import type { AgentPool, AgentSession } from './agent-pool.js';
import type { CallSession } from './call-session.js';
import type { EventRouter } from './event-router.js';

export type SupervisionMode = 'listen' | 'whisper';

/** Why a supervision ended: the supervisor stopped it, the call left the agent (its end, a
 * transfer, a logout), the supervisor's phone hung up, Asterisk lost a leg, the engine stopped;
 * `moved`: the supervisor went on to another call with the same phone call (audited on the call left). */
export type SupervisionEndReason = 'stopped' | 'call-ended' | 'phone-hung-up' | 'lost' | 'shutdown' | 'moved';

/** A live supervision, as the API shows it. */
export interface SupervisionView {
  id: string;
  supervisorUserId: string;
  supervisor: string;
  agentId: string;
  callId: string;
  mode: SupervisionMode;
  /** The supervisor's phone (PJSIP endpoint) Dialwell called. */
  phoneEndpoint: string;
  bridgeId: string;
  phoneChannelId: string;
  snoopChannelId: string;
  startedAt: string;
  /** Since when the current mode holds (a switch between listen and whisper resets it). */
  modeSince: string;
}

export interface SupervisionEvents {
  started: [SupervisionView];
  /** The mode changed, or the supervisor moved to another agent's call, with the same phone call. */
  changed: [SupervisionView];
  ended: [SupervisionView, SupervisionEndReason];
}

/** A supervision request that cannot be carried out: no such agent (404), no call or no phone (409),
 * Asterisk refused or failed (502). */
export class SupervisionError extends ClientError {
  override readonly name = 'SupervisionError';
}

export interface SupervisionOptions {
  /** How long the supervisor's phone may ring before the request fails. */
  phoneRingSeconds: number;
  /** How long a new channel (the answered phone, the snoop) may take to enter Stasis past its own timeout. */
  stasisWaitMs: number;
}

export const defaultSupervisionOptions: SupervisionOptions = { phoneRingSeconds: 20, stasisWaitMs: 5_000 };

export interface SupervisionDeps {
  db: Db;
  ari: AriGateway;
  router: EventRouter;
  agents: AgentPool;
  /** The live call the agent is with (Dialer.callOfAgent). */
  callOfAgent: (agentId: string) => CallSession | undefined;
  log: Logger;
}

/** How each mode snoops on the agent's channel. */
const SNOOP: Record<SupervisionMode, { spy: SnoopDirection; whisper: SnoopDirection }> = {
  listen: { spy: 'both', whisper: 'none' },
  whisper: { spy: 'both', whisper: 'out' },
};

/** Supervision bridges are named so that ones a dead process left can be found. */
export const SUPERVISION_BRIDGE_PREFIX = 'supervision-';

interface Live {
  id: string;
  actor: Actor & { userId: string };
  phone: { agentRowId: string; endpoint: string; phoneType: string; channelId: string };
  bridgeId: string;
  snoopChannelId: string;
  agentId: string;
  callId: string;
  mode: SupervisionMode;
  startedAt: Date;
  modeSince: Date;
  ended: boolean;
}

/** A supervision request as the agent bus carries it to the engine that holds the agent's session. */
export interface SupervisionCommand {
  kind: 'supervise';
  action: SupervisionMode | 'stop';
  actor: Actor;
}

/** Carries a supervision request out on this engine (from the API in this process, or from the agent bus). */
export function runSupervision(supervision: Supervision, agentId: string, c: SupervisionCommand): Promise<SupervisionView> {
  return c.action === 'stop' ? supervision.stop(c.actor, agentId) : supervision.start(c.actor, agentId, c.action);
}

export class Supervision extends EventEmitter<SupervisionEvents> {
  /** Live supervisions by the supervisor's user id: one phone, one supervision each. */
  private readonly live = new Map<string, Live>();
  /** Requests of one supervisor run one at a time (a listen and a stop never interleave). */
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly onAgentState = (s: AgentSession) => this.agentChanged(s);
  /** Channels of supervisions being set up that ended after entering Stasis, before `watch` took them. */
  private readonly goneEarly = new Set<string>();

  constructor(
    private readonly deps: SupervisionDeps,
    private readonly opts: SupervisionOptions = defaultSupervisionOptions,
  ) {
    super();
    deps.agents.on('state', this.onAgentState);
  }

  list(): SupervisionView[] {
    return [...this.live.values()].map(view);
  }

  /**
   * Starts listening or whispering to the agent's current call. A supervisor already on a call
   * keeps their phone call: the snoop is replaced (listen ↔ whisper, or another agent's call).
   */
  start(actor: Actor, agentId: string, mode: SupervisionMode): Promise<SupervisionView> {
    const userId = actor.userId;
    if (!userId) return Promise.reject(new SupervisionError('supervision needs a signed-in user with a phone; this request has none', 403));
    return this.serially(userId, () => this.startNow({ ...actor, userId }, agentId, mode));
  }

  /** Ends the supervisor's supervision of this agent's call. */
  stop(actor: Actor, agentId: string): Promise<SupervisionView> {
    const userId = actor.userId ?? '';
    return this.serially(userId, async () => {
      const s = this.live.get(userId);
      if (!s || s.agentId !== agentId) throw new SupervisionError(`${actor.name} is not listening to agent ${this.agentName(agentId)}`, 409);
      const v = view(s);
      await this.end(s, 'stopped');
      return v;
    });
  }

  /** Ends every supervision (the engine stops). */
  async close(): Promise<void> {
    this.deps.agents.off('state', this.onAgentState);
    await Promise.all([...this.live.values()].map((s) => this.end(s, 'shutdown')));
  }

  /**
   * After the ARI connection comes back: a supervision whose phone or snoop channel Asterisk no
   * longer has ends, and supervision bridges no supervision holds (a process that died) go.
   */
  async reconcile(channelIds: ReadonlySet<string>, bridges: { id: string; name?: string }[]): Promise<number> {
    let ended = 0;
    for (const s of [...this.live.values()]) {
      if (channelIds.has(s.phone.channelId) && channelIds.has(s.snoopChannelId)) continue;
      await this.end(s, 'lost');
      ended++;
    }
    const owned = new Set([...this.live.values()].map((s) => s.bridgeId));
    for (const b of bridges) {
      if (b.name?.startsWith(SUPERVISION_BRIDGE_PREFIX) && !owned.has(b.id)) await this.deps.ari.destroyBridge(b.id).catch(() => undefined);
    }
    return ended;
  }

  private serially<T>(userId: string, run: () => Promise<T>): Promise<T> {
    const next = (this.queues.get(userId) ?? Promise.resolve()).then(run, run);
    const settled = next.catch(() => undefined);
    this.queues.set(userId, settled);
    void settled.then(() => {
      if (this.queues.get(userId) === settled) this.queues.delete(userId);
    });
    return next;
  }

  private agentName(agentId: string): string {
    return this.deps.agents.get(agentId)?.name ?? agentId;
  }

  private async startNow(actor: Actor & { userId: string }, agentId: string, mode: SupervisionMode): Promise<SupervisionView> {
    const agentRow = await this.deps.db.selectFrom('agents').where('id', '=', agentId).select(['id', 'name']).executeTakeFirst();
    if (!agentRow) throw new SupervisionError(`agent ${agentId} does not exist`, 404);
    const agent = this.deps.agents.get(agentId);
    const call = this.deps.callOfAgent(agentId);
    if (!agent || !call) throw new SupervisionError(`agent ${agentRow.name} has no call in progress (${agent?.state ?? 'logged-out'}); listen or whisper during a call`, 409);
    const current = this.live.get(actor.userId);
    if (current) {
      if (current.agentId === agentId && current.callId === call.callId && current.mode === mode) return view(current);
      return this.replaceSnoop(current, agent, call.callId, mode);
    }
    const phone = await this.phoneOf(actor, agentId);
    const id = randomUUID();
    const s: Live = {
      id, actor, phone: { ...phone, channelId: randomUUID() }, bridgeId: randomUUID(), snoopChannelId: randomUUID(),
      agentId, callId: call.callId, mode, startedAt: new Date(), modeSince: new Date(), ended: false,
    };
    const log = this.deps.log.child({ supervisionId: id, agentId, callId: call.callId, supervisor: actor.name });
    try {
      await viaAsterisk('creating the supervision bridge', () => this.deps.ari.createBridge(s.bridgeId, 'mixing', `${SUPERVISION_BRIDGE_PREFIX}${id}`));
      await this.callPhone(s);
      await this.snoopOn(s, agent, s.snoopChannelId, mode);
    } catch (err) {
      await this.teardown(s, log);
      throw err;
    }
    this.live.set(actor.userId, s);
    this.watch(s);
    const phoneGone = this.goneEarly.delete(s.phone.channelId);
    const snoopGone = this.goneEarly.delete(s.snoopChannelId);
    await this.audit(s, `call.${mode}`, { phoneEndpoint: s.phone.endpoint });
    log.info({ mode, phone: s.phone.endpoint }, 'supervision started');
    this.emit('started', view(s));
    // The phone or the snoop ended while the supervision was set up; or the call left the agent
    // while the phone rang: nothing to listen to any more.
    if (phoneGone) await this.end(s, 'phone-hung-up');
    else if (snoopGone || this.deps.callOfAgent(agentId)?.callId !== s.callId) await this.end(s, 'call-ended');
    return view(s);
  }

  /** The supervisor's phone: the endpoint of the agent row their user is linked to. */
  private async phoneOf(actor: Actor & { userId: string }, agentId: string): Promise<{ agentRowId: string; endpoint: string; phoneType: string }> {
    const row = await this.deps.db
      .selectFrom('users')
      .leftJoin('agents', 'agents.id', 'users.agent_id')
      .where('users.id', '=', actor.userId)
      .select(['agents.id as agentRowId', 'agents.endpoint as endpoint', 'agents.phone_type as phoneType'])
      .executeTakeFirst();
    if (!row?.agentRowId || !row.endpoint) {
      throw new SupervisionError(
        `user ${actor.name} has no phone to listen on: a supervisor's phone is the agent row (an endpoint) their user is created with (agentId)`, 409,
      );
    }
    if (row.agentRowId === agentId) throw new SupervisionError(`${actor.name} cannot listen to their own call`, 409);
    const own = this.deps.agents.get(row.agentRowId);
    if (own && own.state !== 'logged-out') {
      throw new SupervisionError(`the phone ${row.endpoint} of ${actor.name} is logged in as an agent (${own.state}); log that agent out to listen on it`, 409);
    }
    // A browser phone is reachable only while its page holds a registration with this node's
    // Asterisk: said plainly rather than as the originate's "did not answer" 20 s later.
    if (row.phoneType === 'webrtc') {
      const state = await viaAsterisk(`reading the phone ${row.endpoint}`, () => this.deps.ari.endpointState('PJSIP', row.endpoint!));
      if (state !== 'online') {
        throw new SupervisionError(
          `the browser phone ${row.endpoint} of ${actor.name} is not registered with Asterisk (${state ?? 'no such endpoint'}): open Dialwell's console in your browser and wait until your phone shows "registered", then try again`, 409,
        );
      }
    }
    return { agentRowId: row.agentRowId, endpoint: row.endpoint, phoneType: row.phoneType ?? 'sip' };
  }

  /** Calls the supervisor's phone into the supervision bridge; resolves once it answered and joined. */
  private async callPhone(s: Live): Promise<void> {
    const answered = this.untilStasis(s.phone.channelId, (this.opts.phoneRingSeconds * 1000) + this.opts.stasisWaitMs, `the phone ${s.phone.endpoint}`);
    answered.catch(() => undefined);
    try {
      await viaAsterisk(`calling the phone ${s.phone.endpoint}`, () => this.deps.ari.originate({
        endpoint: `PJSIP/${s.phone.endpoint}`, channelId: s.phone.channelId, app: this.deps.ari.app, appArgs: `supervisor,${s.id}`,
        callerId: '"Dialwell supervision" <supervision>', timeout: this.opts.phoneRingSeconds,
        // A browser phone (WebRTC) speaks opus or ulaw: offered first, as for an agent's phone.
        ...(s.phone.phoneType === 'webrtc' ? { formats: 'opus,ulaw' } : {}),
      }));
    } catch (err) {
      this.deps.router.offChannel(s.phone.channelId);
      throw err;
    }
    await answered;
    await viaAsterisk('joining the phone to the supervision bridge', () => this.deps.ari.addToBridge(s.bridgeId, s.phone.channelId));
  }

  /** A snoop on the agent's softphone channel for `mode`, joined to the supervision bridge. */
  private async snoopOn(s: Live, agent: AgentSession, snoopId: string, mode: SupervisionMode): Promise<void> {
    const inStasis = this.untilStasis(snoopId, this.opts.stasisWaitMs, 'the snoop channel');
    inStasis.catch(() => undefined);
    try {
      await viaAsterisk(`snooping on agent ${agent.name}'s channel`, () => this.deps.ari.snoop(agent.channelId, snoopId, SNOOP[mode].spy, SNOOP[mode].whisper, `snoop,${s.id}`));
    } catch (err) {
      this.deps.router.offChannel(snoopId);
      throw err;
    }
    await inStasis;
    await viaAsterisk('joining the snoop to the supervision bridge', () => this.deps.ari.addToBridge(s.bridgeId, snoopId));
  }

  /**
   * Resolves at the channel's StasisStart; rejects at its ChannelDestroyed (the phone refused or
   * did not answer) or past `ms` (the event never came). The route stays, for `watch`.
   */
  private untilStasis(channelId: string, ms: number, what: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SupervisionError(`${what} did not answer within ${Math.round(ms / 1000)} s`, 409)), ms);
      this.deps.router.onChannel(channelId, (e) => {
        if (e.type === 'StasisStart') {
          clearTimeout(timer);
          resolve();
        } else if (e.type === 'ChannelDestroyed') {
          clearTimeout(timer);
          // After an answer this is the channel's end, noted for the supervision being set up.
          this.goneEarly.add(channelId);
          reject(new SupervisionError(`${what} did not answer: ${e.cause_txt} (cause ${e.cause})`, 409));
        }
      });
    });
  }

  /** Listen ↔ whisper, or another agent's call: a new snoop joins the bridge before the old one leaves, the phone call stays. */
  private async replaceSnoop(s: Live, agent: AgentSession, callId: string, mode: SupervisionMode): Promise<SupervisionView> {
    const old = s.snoopChannelId;
    const next = randomUUID();
    try {
      await this.snoopOn(s, agent, next, mode);
      // Ended meanwhile (the call, the phone): its teardown did not know this snoop.
      if (s.ended) throw new SupervisionError(`the supervision of agent ${agent.name}'s call ended while switching to ${mode}`, 409);
    } catch (err) {
      this.deps.router.offChannel(next);
      this.goneEarly.delete(next);
      await this.deps.ari.hangup(next).catch(() => undefined);
      throw err;
    }
    if (this.goneEarly.delete(next)) {
      await this.end(s, 'call-ended');
      throw new SupervisionError(`the snoop on agent ${agent.name}'s channel ended at once: the agent's phone left`, 409);
    }
    const switched = s.agentId !== agent.agentId || s.callId !== callId;
    if (switched) {
      // The call left behind has its end of supervision in the audit too.
      await this.audit(s, 'call.supervision-end', { reason: 'moved', toCallId: callId })
        .catch((err: unknown) => this.deps.log.error({ err, supervisionId: s.id }, 'auditing the end of a supervision failed'));
    }
    s.snoopChannelId = next;
    s.agentId = agent.agentId;
    s.callId = callId;
    s.mode = mode;
    s.modeSince = new Date();
    this.watchSnoop(s);
    this.deps.router.offChannel(old);
    await this.deps.ari.hangup(old).catch((err: unknown) => this.deps.log.warn({ err: (err as Error).message, supervisionId: s.id }, 'hanging up the previous snoop failed'));
    await this.audit(s, `call.${mode}`, { phoneEndpoint: s.phone.endpoint, switched: switched ? 'call' : 'mode' });
    this.emit('changed', view(s));
    return view(s);
  }

  /** The phone or the snoop going away ends the supervision. */
  private watch(s: Live): void {
    this.deps.router.onChannel(s.phone.channelId, (e) => {
      if (e.type === 'ChannelDestroyed') void this.end(s, 'phone-hung-up');
    });
    this.watchSnoop(s);
  }

  private watchSnoop(s: Live): void {
    const id = s.snoopChannelId;
    this.deps.router.onChannel(id, (e: AriEvent) => {
      // Asterisk ends a snoop with the channel it snoops on (the agent's phone left).
      if (e.type === 'ChannelDestroyed' && s.snoopChannelId === id) void this.end(s, 'call-ended');
    });
  }

  /** The agent's call ended or moved (wrap-up, a transfer, a logout): their supervisions end. */
  private agentChanged(a: AgentSession): void {
    for (const s of this.live.values()) {
      if (s.agentId === a.agentId && a.callId !== s.callId) void this.end(s, 'call-ended');
    }
  }

  private async end(s: Live, reason: SupervisionEndReason): Promise<void> {
    if (s.ended) return;
    s.ended = true;
    if (this.live.get(s.actor.userId) === s) this.live.delete(s.actor.userId);
    const log = this.deps.log.child({ supervisionId: s.id, agentId: s.agentId, callId: s.callId });
    await this.teardown(s, log);
    await this.audit(s, 'call.supervision-end', { reason, mode: s.mode, seconds: Math.round((Date.now() - s.startedAt.getTime()) / 1000) })
      .catch((err: unknown) => log.error({ err }, 'auditing the end of a supervision failed'));
    log.info({ reason }, 'supervision ended');
    this.emit('ended', view(s), reason);
  }

  /** Hangs up the snoop and the phone and destroys the bridge; each step is tried whatever the others did. */
  private async teardown(s: Live, log: Logger): Promise<void> {
    this.deps.router.offChannel(s.snoopChannelId);
    this.deps.router.offChannel(s.phone.channelId);
    this.goneEarly.delete(s.snoopChannelId);
    this.goneEarly.delete(s.phone.channelId);
    const steps: [string, () => Promise<void>][] = [
      ['hanging up the snoop', () => this.deps.ari.hangup(s.snoopChannelId)],
      ['hanging up the supervisor\'s phone', () => this.deps.ari.hangup(s.phone.channelId)],
      ['destroying the supervision bridge', () => this.deps.ari.destroyBridge(s.bridgeId)],
    ];
    for (const [what, run] of steps) await run().catch((err: unknown) => log.warn({ err: (err as Error).message }, `${what} failed`));
  }

  private async audit(s: Live, action: string, details: Record<string, unknown>): Promise<void> {
    await writeAudit(this.deps.db, s.actor, {
      action, resource: 'call', resourceId: s.callId, details: { supervisionId: s.id, agentId: s.agentId, mode: s.mode, ...details },
    });
  }
}

function view(s: Live): SupervisionView {
  return {
    id: s.id, supervisorUserId: s.actor.userId, supervisor: s.actor.name, agentId: s.agentId, callId: s.callId, mode: s.mode,
    phoneEndpoint: s.phone.endpoint, bridgeId: s.bridgeId, phoneChannelId: s.phone.channelId, snoopChannelId: s.snoopChannelId,
    startedAt: s.startedAt.toISOString(), modeSince: s.modeSince.toISOString(),
  };
}

/** Asterisk refusing or not answering is the PBX's failure, said as such (502). */
async function viaAsterisk<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AriError) throw new SupervisionError(`${what} failed in Asterisk: ${err.message}`, 502);
    throw err;
  }
}
