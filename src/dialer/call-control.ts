// Call control by people: an agent (their own call) or a supervisor hangs up, holds, resumes or
// transfers a live call. Each action waits for its result from Asterisk, then leaves two traces
// in one transaction: a call_events row beside the CDR (its effect on the call's record) and an
// audit_log entry (who did it).
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import { recordCallEvent } from '../cdr/cdr.repository.js';
import type { Db } from '../db/database.js';
import { AriError } from '../pbx/ari.js';
import { CallControlError, type CallSession } from './call-session.js';
import type { Dialer } from './dialer.js';

export interface CallControlResult {
  callId: string;
  agentId: string | null;
  action: 'hangup' | 'hold' | 'resume' | 'transfer';
  onHold: boolean;
  /** Set after a hang-up: the closed CDR's end. */
  ended?: { endedAt: string; endedBy: string; outcome: string };
  /** Set after a transfer. */
  transferredTo?: string;
}

async function trace(db: Db, actor: Actor, call: CallSession, agentId: string | null, action: CallControlResult['action'], details: Record<string, unknown>): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await recordCallEvent(trx, { callId: call.callId, kind: action, actor: actor.name, agentId, details });
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

/** Hangs up the agent's current call; `by` says whether the agent or a supervisor asked (the CDR's ended_by). */
export async function hangupAgentCall(db: Db, dialer: Dialer, actor: Actor, agentId: string, by: 'agent' | 'supervisor'): Promise<CallControlResult> {
  return hangup(db, actor, agentsCall(dialer, agentId), by);
}

/** A supervisor hangs up any live call (`dialer` undefined: this process runs none). */
export async function hangupCall(db: Db, dialer: Dialer | undefined, actor: Actor, callId: string): Promise<CallControlResult> {
  const call = dialer?.call(callId);
  if (!call || call.phase === 'ended') {
    const row = await db.selectFrom('calls').where('id', '=', callId).select(['ended_at']).executeTakeFirst();
    if (!row) throw new CallControlError(`call ${callId} does not exist`, 404);
    if (row.ended_at) throw new CallControlError(`call ${callId} has already ended`, 409);
    if (!dialer) throw new CallControlError('the dialer engine does not run in this process; live calls are controlled there', 503);
    throw new CallControlError(`call ${callId} is not handled by this dialer process`, 409);
  }
  return hangup(db, actor, call, 'supervisor');
}

async function hangup(db: Db, actor: Actor, call: CallSession, by: 'agent' | 'supervisor'): Promise<CallControlResult> {
  const agentId = call.currentAgentId;
  const s = await viaAsterisk(() => call.hangup(by));
  await trace(db, actor, call, agentId, 'hangup', { endedBy: s.endedBy });
  return {
    callId: call.callId, agentId, action: 'hangup', onHold: false,
    ended: { endedAt: s.endedAt.toISOString(), endedBy: s.endedBy, outcome: s.outcome },
  };
}

export async function holdAgentCall(db: Db, dialer: Dialer, actor: Actor, agentId: string, hold: boolean): Promise<CallControlResult> {
  const call = agentsCall(dialer, agentId);
  await viaAsterisk(() => (hold ? call.hold() : call.resume()));
  const action = hold ? 'hold' : 'resume';
  await trace(db, actor, call, agentId, action, {});
  return { callId: call.callId, agentId, action, onHold: call.onHold };
}

export async function transferAgentCall(db: Db, dialer: Dialer, actor: Actor, agentId: string, toAgentId: string): Promise<CallControlResult> {
  const { call, from, to } = await viaAsterisk(() => dialer.transferCall(agentId, toAgentId));
  await trace(db, actor, call, from, 'transfer', { from, to, kind: 'blind' });
  return { callId: call.callId, agentId: to, action: 'transfer', onHold: false, transferredTo: to };
}
