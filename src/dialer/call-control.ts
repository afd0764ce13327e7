// Call control by people: an agent (their own call) or a supervisor hangs up, holds, resumes or
// transfers a live call — blind or attended (a consultation first), to another agent or to an
// outside number. Each action waits for its result from Asterisk, then leaves two traces in one
// transaction: a call_events row beside the CDR (its effect on the call's record) and an
// audit_log entry (who did it). `runCallCommand` is the one entry: the API calls it in the process
// holding the agent's session, or through the agent bus (src/cluster/agent-bus.ts) on the engine
// that does.
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import { recordCallEvent, type CallEventKind } from '../cdr/cdr.repository.js';
import { checkTransferNumber } from '../compliance/store/transfer-number.js';
import type { Db } from '../db/database.js';
import { AriError } from '../pbx/ari.js';
import { CallControlError, type CallSession, type ConsultEnd, type ConsultView } from './call-session.js';
import type { Dialer } from './dialer.js';

/** What an agent (or a supervisor for them) asks of the agent's current call. */
export type CallAction =
  | { do: 'hangup'; by: 'agent' | 'supervisor' }
  | { do: 'hold' }
  | { do: 'resume' }
  /** Blind: to a ready agent, or to an outside number (E.164). */
  | { do: 'transfer'; toAgentId?: string; number?: string }
  /** Attended, first step: a consultation with a ready agent or an outside number. */
  | { do: 'consult'; toAgentId?: string; number?: string }
  /** The consulted agent takes the consultation (their own id in the route). */
  | { do: 'consult-accept' }
  | { do: 'consult-complete' }
  /** By the consulting agent: cancelled; by the consulted agent: refused. */
  | { do: 'consult-cancel' }
  /** No action: what the agent's screen shows of the call (hold, consultation, whom to transfer to). */
  | { do: 'screen' };

export interface CallControlResult {
  callId: string;
  agentId: string | null;
  action: 'hangup' | 'hold' | 'resume' | 'transfer' | 'consult' | 'consult-accept' | 'consult-complete' | 'consult-cancel';
  onHold: boolean;
  /** Set after a hang-up: the closed CDR's end. */
  ended?: { endedAt: string; endedBy: string; outcome: string };
  /** Set after a transfer: the agent id or the number the customer is with now. */
  transferredTo?: string;
  /** The consultation in progress after the action (null once it is over). */
  consult?: ConsultView | null;
  /** Set after a cancel: cancelled (the consulting agent) or refused (the consulted one). */
  consultEnded?: ConsultEnd;
}

/** The call-control part of an agent's screen. */
export interface CallScreen {
  onHold: boolean;
  /** The consultation the agent is in: as the one consulting (from) or the one consulted (target). */
  consult: (ConsultView & { role: 'from' | 'target' }) | null;
  /** Ready agents of the engine holding the call (a transfer stays on the node: media never crosses nodes). */
  transferTargets: { agentId: string; name: string }[];
}

async function trace(db: Db, actor: Actor, call: CallSession, agentId: string | null, kind: CallEventKind, action: string, details: Record<string, unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await recordCallEvent(trx, { callId: call.callId, kind, actor: actor.name, agentId, details });
    await writeAudit(trx, actor, { action: `call.${action}`, resource: 'call', resourceId: call.callId, details: { agentId, ...details } });
  });
}

/** Asterisk refusing or not answering is the PBX's failure, said as such (502), not a crash. */
async function viaAsterisk<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof AriError) throw new CallControlError(`Asterisk did not do it: ${err.message}`, 502);
    throw err;
  }
}

function agentsCall(dialer: Dialer, agentId: string): CallSession {
  const call = dialer.callOfAgent(agentId);
  if (call) return call;
  const s = dialer.agents.get(agentId);
  throw new CallControlError(`agent ${s?.name ?? agentId} has no call in progress (${s?.state ?? 'logged-out'})`, 409);
}

/** Exactly one of toAgentId and number, the number checked (E.164, not DNC, not protected). */
async function targetOf(dialer: Dialer, call: CallSession, a: { toAgentId?: string; number?: string }): Promise<{ agentId: string } | { number: string }> {
  if ((a.toAgentId === undefined) === (a.number === undefined)) throw new CallControlError('name either toAgentId (an agent) or number (an outside number), not both or neither', 400);
  if (a.toAgentId !== undefined) return { agentId: a.toAgentId };
  const check = await checkTransferNumber(dialer.db, a.number!, call.ctx.campaign.id);
  if (!check.ok) throw new CallControlError(check.reason, 400, 'number');
  return { number: check.e164 };
}

/** Carries the action out on this dialer (the one holding the agent's session). */
export async function runCallCommand(dialer: Dialer, actor: Actor, agentId: string, a: CallAction): Promise<CallControlResult | CallScreen> {
  const db = dialer.db;
  switch (a.do) {
    case 'screen':
      return callScreen(dialer, agentId);
    case 'hangup':
      return hangup(db, actor, agentsCall(dialer, agentId), a.by);
    case 'hold':
    case 'resume': {
      const call = agentsCall(dialer, agentId);
      await viaAsterisk(() => (a.do === 'hold' ? call.hold() : call.resume()));
      await trace(db, actor, call, agentId, a.do, a.do, {});
      return { callId: call.callId, agentId, action: a.do, onHold: call.onHold };
    }
    case 'transfer': {
      const target = await targetOf(dialer, agentsCall(dialer, agentId), a);
      if ('agentId' in target) {
        const { call, from, to } = await viaAsterisk(() => dialer.transferCall(agentId, target.agentId));
        await trace(db, actor, call, from, 'transfer', 'transfer', { from, to, kind: 'blind', target: 'agent' });
        return { callId: call.callId, agentId: to, action: 'transfer', onHold: false, transferredTo: to };
      }
      const { call } = await viaAsterisk(() => dialer.transferToNumber(agentId, target.number, 'blind'));
      // `leg`: the number's channel, so the CDR reconciler knows it as this call's (not an orphan).
      await trace(db, actor, call, agentId, 'transfer', 'transfer', { from: agentId, to: target.number, kind: 'blind', target: 'number', leg: call.transferLegChannelId });
      return { callId: call.callId, agentId: null, action: 'transfer', onHold: false, transferredTo: target.number };
    }
    case 'consult': {
      const target = await targetOf(dialer, agentsCall(dialer, agentId), a);
      const { call, consult } = await viaAsterisk(() => ('agentId' in target ? dialer.consultAgent(agentId, target.agentId) : dialer.transferToNumber(agentId, target.number, 'attended')));
      await trace(db, actor, call, agentId, 'consult', 'consult', { step: 'started', to: consult.to, target: consult.target, kind: 'attended', ...(consult.target === 'number' ? { leg: call.transferLegChannelId } : {}) });
      return { callId: call.callId, agentId, action: 'consult', onHold: call.onHold, consult };
    }
    case 'consult-accept': {
      const call = dialer.consultOfTarget(agentId);
      if (!call) throw new CallControlError(`no consultation is offered to agent ${dialer.agents.get(agentId)?.name ?? agentId}`, 409);
      const consult = await viaAsterisk(() => call.acceptConsult(agentId));
      await trace(db, actor, call, agentId, 'consult', 'consult-accept', { step: 'accepted', from: consult.from, to: agentId, target: 'agent' });
      return { callId: call.callId, agentId, action: 'consult-accept', onHold: call.onHold, consult };
    }
    case 'consult-complete': {
      const call = agentsCall(dialer, agentId);
      const r = await viaAsterisk(() => call.completeConsult());
      await trace(db, actor, call, agentId, 'transfer', 'transfer', { from: r.from, to: r.to, kind: 'attended', target: r.target });
      return { callId: call.callId, agentId: r.target === 'agent' ? r.to : null, action: 'consult-complete', onHold: false, transferredTo: r.to, consult: null };
    }
    case 'consult-cancel': {
      // The consulting agent cancels; the consulted agent refuses (before or after accepting).
      const asTarget = dialer.consultOfTarget(agentId);
      const call = asTarget ?? agentsCall(dialer, agentId);
      const r = await viaAsterisk(() => call.cancelConsult(asTarget ? 'refused' : 'cancelled'));
      await trace(db, actor, call, agentId, 'consult', asTarget ? 'consult-refuse' : 'consult-cancel', { step: r.reason, to: r.to });
      return { callId: call.callId, agentId, action: 'consult-cancel', onHold: call.onHold, consult: null, consultEnded: r.reason };
    }
  }
}

export function callScreen(dialer: Dialer, agentId: string): CallScreen {
  const mine = dialer.callOfAgent(agentId);
  const offered = mine ? undefined : dialer.consultOfTarget(agentId);
  const c = mine?.consultView ?? offered?.consultView ?? null;
  return {
    onHold: mine?.onHold ?? false,
    consult: c ? { ...c, role: mine ? 'from' : 'target' } : null,
    transferTargets: mine && !c ? dialer.agents.list().filter((o) => o.state === 'ready' && o.agentId !== agentId).map((o) => ({ agentId: o.agentId, name: o.name })) : [],
  };
}

/**
 * A supervisor hangs up any live call by its id: on this dialer when it holds the call (`dialer`
 * undefined: this process runs none), else through `elsewhere`, which carries it to the engine
 * driving the call's node (`node`: the node that placed it, null before nodes existed).
 */
export async function hangupCall(
  db: Db, dialer: Dialer | undefined, actor: Actor, callId: string,
  elsewhere?: (node: string | null) => Promise<CallControlResult>,
): Promise<CallControlResult> {
  const call = dialer?.call(callId);
  if (call && call.phase !== 'ended') return hangup(db, actor, call, 'supervisor');
  const row = await db.selectFrom('calls as k').leftJoin('nodes as n', 'n.id', 'k.node_id').where('k.id', '=', callId).select(['k.ended_at', 'n.name as node']).executeTakeFirst();
  if (!row) throw new CallControlError(`call ${callId} does not exist`, 404);
  if (row.ended_at) throw new CallControlError(`call ${callId} has already ended`, 409);
  if (elsewhere) return elsewhere(row.node);
  if (!dialer) throw new CallControlError('the dialer engine does not run in this process; live calls are controlled there', 503);
  throw new CallControlError(`call ${callId} is not in progress on this engine (it may be ending, or be closed from Asterisk's record)`, 409);
}

async function hangup(db: Db, actor: Actor, call: CallSession, by: 'agent' | 'supervisor'): Promise<CallControlResult> {
  const agentId = call.currentAgentId;
  const s = await viaAsterisk(() => call.hangup(by));
  await trace(db, actor, call, agentId, 'hangup', 'hangup', { endedBy: s.endedBy });
  return {
    callId: call.callId, agentId, action: 'hangup', onHold: false,
    ended: { endedAt: s.endedAt.toISOString(), endedBy: s.endedBy, outcome: s.outcome },
  };
}
