// Taking a node over from an engine that died (kill -9, a crash) or from this process's own
// previous life: before anything is dialed, what the previous engine left up in Asterisk is
// rebuilt from what Asterisk still holds for the node's application (GET /applications/{app},
// /channels, /bridges) and from the record (call rows, agents, their last published states):
//  - an agent whose softphone channel is still up keeps their session (state, pause reason, the
//    call they are on), in the same bridge; their phone does not ring again;
//  - a call up with an agent (the customer in the agent's bridge, or on hold) gets its session
//    back, bridged, with the recording Asterisk is still writing adopted: it ends as any other
//    call, with one CDR closed by this engine and its recording stored whole;
//  - an answered customer no session holds (answered while no engine listened) is taken over as
//    Dialer.adoptChannel does: joined within the connect rule of the answer (its time read from
//    Asterisk's CEL record when there is one), else the information message and abandoned;
//  - calls whose channels are gone are the CDR reconciler's (closed from Asterisk's record), and
//    softphone channels, agent bridges and supervision channels nobody owns any more are ended.
// Events that arrive while this runs reach no session yet: they are kept and handed over once
// each session listens, so a hang-up in the middle is not lost.
import { randomUUID } from 'node:crypto';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import { eventChannelId, type AriBridge, type AriChannel, type AriEvent } from '../pbx/ari-types.js';
import { scanCelFile } from '../pbx/cel-records.js';
import { agentOfBridgeName, type AgentSession, type AgentState } from './agent-pool.js';
import type { AgentView } from './agent-commands.js';
import type { Dialer } from './dialer.js';
import { agentAssignments } from './dial.repository.js';
import { agentOfChannel, roleOfChannel } from './stasis-channels.js';
import { agentsByIds, callsOfChannels, lastAgentStates, type CallOnChannel } from './takeover.repository.js';

/** The pause reason of an agent kept whose previous state is known nowhere (no board, no history). */
export const STATE_UNKNOWN_AFTER_TAKEOVER = 'taken-over';

export interface TakeoverDeps {
  db: Db;
  ari: AriGateway;
  log: Logger;
  /** The sessions the previous engine last published for the node (the shared board), if any. */
  lastSessions: (() => Promise<Map<string, AgentView>>) | null;
  /** Asterisk's CEL record (answer times of customers no engine saw answer); null without one. */
  celFile: string | null;
}

export interface TakeoverReport {
  /** Agents whose sessions were kept. */
  agentsKept: number;
  /** Calls up with an agent, kept (their sessions rebuilt). */
  callsKept: number;
  /** Answered customers with no session, taken over (joined to an agent or abandoned). */
  callsAdopted: number;
  /** Calls whose agent's phone was gone: ended (ended_by agent). */
  callsEnded: number;
  /** Softphone and supervision channels nobody owns any more, hung up. */
  staleChannels: number;
  ms: number;
}

const AGENT_STATES: ReadonlySet<string> = new Set<AgentState>(['ready', 'reserved', 'on-call', 'wrap-up', 'paused']);

interface CallUp {
  row: CallOnChannel;
  channel: AriChannel;
  agentId: string;
  bridge: AriBridge | null;
  held: boolean;
}

export async function takeOverNode(dialer: Dialer, deps: TakeoverDeps): Promise<TakeoverReport> {
  const t0 = Date.now();
  const { ari, db, log } = deps;
  const app = ari.app;
  const report: TakeoverReport = { agentsKept: 0, callsKept: 0, callsAdopted: 0, callsEnded: 0, staleChannels: 0, ms: 0 };
  // Every event from now on, in order: those that came before the session of their channel (or
  // recording) listened are handed to it at the end (a few may reach it twice: its handlers
  // take an end or a report once).
  const seen: AriEvent[] = [];
  const tap = (e: AriEvent) => void seen.push(e);
  ari.on('event', tap);
  const listensFrom = new Map<string, number>();
  const listening = (key: string) => listensFrom.set(key, seen.length);
  try {
    // Which campaigns each agent serves, before any customer is joined to one (in this process
    // the campaign runner has not loaded them yet: every agent would serve every campaign).
    dialer.agents.setAssignments(await agentAssignments(db));
    const [application, channels, bridges] = await Promise.all([ari.application(), ari.listChannels(), ari.listBridges()]);
    const held = new Set(application.channel_ids);
    const mine = channels.filter((c) => held.has(c.id));
    if (mine.length === 0) return report;
    const bridgeOf = new Map<string, AriBridge>();
    for (const b of bridges) for (const id of b.channels) bridgeOf.set(id, b);

    // Softphones: one channel per agent, the one in its own bridge first.
    const phones = new Map<string, { channelId: string; bridgeId: string | null }>();
    for (const c of mine) {
      const agentId = agentOfChannel(c, app);
      if (!agentId) continue;
      const b = bridgeOf.get(c.id);
      const inOwn = b !== undefined && agentOfBridgeName(b.name) === agentId;
      const prev = phones.get(agentId);
      if (!prev || (inOwn && !prev.bridgeId)) phones.set(agentId, { channelId: c.id, bridgeId: inOwn ? b.id : null });
    }
    for (const [agentId, p] of phones) p.bridgeId ??= bridges.find((b) => agentOfBridgeName(b.name) === agentId)?.id ?? null;

    // Customers: with an agent (in their bridge, or on hold), or answered and waiting for one.
    const customers = mine.filter((c) => {
      const role = roleOfChannel(c, app);
      return role === 'customer' || role === 'customer-amd';
    });
    const rows = await callsOfChannels(db, customers.map((c) => c.id));
    const callsUp: CallUp[] = [];
    const waiting: AriChannel[] = [];
    for (const c of customers) {
      const row = rows.get(c.id);
      const b = bridgeOf.get(c.id) ?? null;
      const bridgeAgent = b ? agentOfBridgeName(b.name) : null;
      if (row && !row.endedAt && bridgeAgent) callsUp.push({ row, channel: c, agentId: bridgeAgent, bridge: b, held: false });
      else if (row && !row.endedAt && !b && row.bridgedAt && row.agentId && phones.has(row.agentId)) {
        callsUp.push({ row, channel: c, agentId: row.agentId, bridge: null, held: true });
      } else waiting.push(c);
    }
    const callOfAgent = new Map(callsUp.map((u) => [u.agentId, u]));

    // Agents keep their sessions, in the state last published (or recorded).
    const agentIds = [...phones.keys()];
    const board = deps.lastSessions
      ? await deps.lastSessions().catch((err: unknown) => {
        log.warn({ err: (err as Error).message }, 'reading the agents\' last published sessions failed: their recorded states are used');
        return null;
      })
      : null;
    const [agents, recorded] = await Promise.all([agentsByIds(db, agentIds), lastAgentStates(db, agentIds.filter((id) => !board?.has(id)))]);
    for (const [agentId, p] of phones) {
      const agent = agents.get(agentId);
      if (!agent) continue; // an agent deleted since: their channel is ended below
      const up = callOfAgent.get(agentId);
      const was = previousState(board?.get(agentId), recorded.get(agentId), up?.row ?? null);
      dialer.agents.restore(agent, { channelId: p.channelId, bridgeId: p.bridgeId ?? randomUUID() }, was);
      listening(p.channelId);
      report.agentsKept++;
    }

    // Calls up with an agent: their sessions, bridged, the live recording adopted.
    for (const u of callsUp) {
      const name = `call-${u.row.callId}`;
      const live = await ari.liveRecording(name).catch(() => null);
      const restored = dialer.agents.get(u.agentId);
      const agent: AgentSession = restored && restored.state !== 'logged-out' && restored.channelId === phones.get(u.agentId)?.channelId
        ? restored
        : standIn(u.agentId, u.bridge?.id ?? u.row.agentId ?? '');
      const answeredAt = u.row.answeredAt ?? u.row.bridgedAt ?? new Date(u.channel.creationtime);
      try {
        const session = await dialer.resumeCall(u.row, {
          answeredAt,
          bridgedAt: u.row.bridgedAt ?? new Date(),
          agent,
          recording: live ? { name, startedAt: u.row.bridgedAt ?? answeredAt } : null,
          held: u.held,
          writeJoin: u.row.bridgedAt === null,
        });
        listening(u.channel.id);
        listening(`recording:${name}`);
        if (agent === restored) {
          report.callsKept++;
        } else {
          // The agent's phone is gone (hung up while no engine listened): the customer is not left alone.
          report.callsEnded++;
          void session.hangup('agent').catch((err: unknown) => log.warn({ err, callId: u.row.callId }, 'ending a call whose agent is gone failed'));
        }
      } catch (err) {
        // Left up: the CDR reconciler closes it from Asterisk's record once it ends.
        log.error({ err, callId: u.row.callId }, 'rebuilding a call up at the takeover failed');
      }
    }

    // Supervision does not survive a takeover: its channels and bridges are ended.
    for (const c of mine) {
      const role = roleOfChannel(c, app);
      if (role !== 'supervisor' && role !== 'snoop') continue;
      await ari.hangup(c.id).catch(() => undefined);
      report.staleChannels++;
    }
    await dialer.supervision.reconcile(held, bridges.filter((b) => application.bridge_ids.includes(b.id)));
    // Phones out of their bridge are put back; softphones and agent bridges nobody owns, ended.
    const fixed = await dialer.agents.reconcile({ channelIds: held, bridgeIds: new Set(application.bridge_ids), channels, bridges });
    report.staleChannels += fixed.staleChannels;

    // Answered customers no session holds: joined within the connect rule of their answer, else told and abandoned.
    const answers = await answerTimes(deps.celFile, waiting, log);
    for (const c of waiting) {
      listening(c.id);
      const r = await dialer.adoptChannel(c, answers.get(c.id) ?? null, 'answered while no engine drove the node: taken over');
      if (r === 'joining' || r === 'abandoning') report.callsAdopted++;
    }
    return report;
  } finally {
    ari.off('event', tap);
    for (const [i, e] of seen.entries()) {
      const recording = e.type === 'RecordingStarted' || e.type === 'RecordingFinished' || e.type === 'RecordingFailed';
      const key = recording ? `recording:${e.recording.name}` : eventChannelId(e);
      const from = key === undefined ? undefined : listensFrom.get(key);
      if (from !== undefined && i < from) dialer.router.dispatch(e);
    }
    report.ms = Date.now() - t0;
    if (listensFrom.size > 0 || report.staleChannels > 0) log.warn({ ...report }, 'node taken over: sessions rebuilt from Asterisk and the record');
  }
}

/**
 * The state an agent kept had: on the call they are still on; else as the previous engine last
 * published it (a call that ended meanwhile: wrap-up); else as last recorded; else paused.
 */
export function previousState(
  published: AgentView | undefined,
  recorded: { state: string; at: Date; reason: string | null } | undefined,
  call: CallOnChannel | null,
): Parameters<Dialer['agents']['restore']>[2] {
  const since = published?.since ? Date.parse(published.since) : (recorded?.at.getTime() ?? Date.now());
  if (call) {
    const same = published?.state === 'on-call' && published.callId === call.callId;
    return { state: 'on-call', since: same ? since : (call.bridgedAt ?? new Date()).getTime(), callId: call.callId, lastCallId: published?.lastCallId ?? null, pauseReason: null };
  }
  if (published) {
    if (published.state === 'on-call') return { state: 'wrap-up', since: Date.now(), callId: null, lastCallId: published.callId, pauseReason: null };
    return { state: published.state, since, callId: null, lastCallId: published.lastCallId, pauseReason: published.pauseReason };
  }
  if (recorded && AGENT_STATES.has(recorded.state)) {
    const state = recorded.state as AgentState;
    if (state === 'on-call') return { state: 'wrap-up', since: Date.now(), callId: null, lastCallId: null, pauseReason: null };
    return { state, since, callId: null, lastCallId: null, pauseReason: state === 'paused' ? recorded.reason : null };
  }
  return { state: 'paused', since: Date.now(), callId: null, lastCallId: null, pauseReason: STATE_UNKNOWN_AFTER_TAKEOVER };
}

/** When each of these customers answered, from Asterisk's CEL record (none without one). */
async function answerTimes(celFile: string | null, channels: AriChannel[], log: Logger): Promise<Map<string, Date>> {
  const out = new Map<string, Date>();
  if (!celFile || channels.length === 0) return out;
  const wanted = new Set(channels.map((c) => c.id));
  const since = new Date(Math.min(...channels.map((c) => Date.parse(c.creationtime))));
  try {
    const scan = await scanCelFile(celFile, since, (id) => wanted.has(id));
    for (const [id, r] of scan.records) if (r.answeredAt) out.set(id, r.answeredAt);
  } catch (err) {
    // The channel's creation bounds the answer instead (never joined later than the rule allows).
    log.warn({ err: (err as Error).message }, 'reading answer times from Asterisk\'s CEL record failed');
  }
  return out;
}

/** The agent of a call whose softphone is gone: enough for the session to end the call. */
function standIn(agentId: string, bridgeId: string): AgentSession {
  return {
    agentId, name: agentId, endpoint: '', channelId: '', bridgeId, state: 'on-call', stateSince: Date.now(), callId: null, lastCallId: null,
    pauseReason: null, logoutReason: null, phoneType: 'sip',
  };
}
