// What an agent (or a supervisor for them) asks of their session — log in, log out, ready, pause,
// end of wrap-up, preview (take, dial, skip) — carried out on the dialer that holds the session. The API calls this directly
// when the session is in its own process, and through the agent command bus (src/cluster/) when
// another engine owns the node: either way the same rules and the same answers.
import { ClientError } from '../errors.js';
import { AgentLoginError, type AgentSession, type AgentState } from './agent-pool.js';
import type { Dialer } from './dialer.js';
import type { Actor } from '../auth/audit.repository.js';
import { runCallCommand, type CallAction, type CallControlResult, type CallScreen } from './call-control.js';
import { dialPreview, skipPreview, takePreview, type PreviewContact } from './callbacks.js';
import type { DialResult } from './dialer.js';

export type AgentCommand =
  | { kind: 'login' } | { kind: 'logout' } | { kind: 'ready' } | { kind: 'pause'; reason: string } | { kind: 'wrapped-up' }
  /** Call control of the agent's current call (src/dialer/call-control.ts), audited as `actor`. */
  | { kind: 'call'; action: CallAction; actor: Actor }
  /** Preview dialing (src/dialer/callbacks.ts): hold the next due contact for the agent, dial it, or skip it. */
  | { kind: 'preview-take' } | { kind: 'preview-dial'; attemptId: string } | { kind: 'preview-skip'; attemptId: string };

/** An agent's session as every process may see it. */
export interface AgentView {
  state: AgentState;
  since: string | null;
  callId: string | null;
  lastCallId: string | null;
  pauseReason: string | null;
}

/**
 * A command's answer: the session after it, and for a call-control command its result; for a
 * preview take the contact held (null: none is due), for a preview dial the dial's result.
 */
export type AgentCommandResult = AgentView & { call?: CallControlResult | CallScreen; preview?: PreviewContact | null; dial?: DialResult };

export const loggedOut: AgentView = { state: 'logged-out', since: null, callId: null, lastCallId: null, pauseReason: null };

export function agentView(s: AgentSession | undefined): AgentView {
  if (!s) return loggedOut;
  return { state: s.state, since: new Date(s.stateSince).toISOString(), callId: s.callId, lastCallId: s.lastCallId, pauseReason: s.pauseReason };
}

export class AgentCommandError extends ClientError {
  override readonly name = 'AgentCommandError';
}

/** Carries the command out on this dialer; answers the session as it is after it. */
export async function runAgentCommand(dialer: Dialer, agent: { id: string; name: string; endpoint: string }, cmd: AgentCommand): Promise<AgentCommandResult> {
  const pool = dialer.agents;
  const s = pool.get(agent.id);
  const loggedIn = !!s && s.state !== 'logged-out';
  switch (cmd.kind) {
    case 'login':
      try {
        return agentView(await pool.login(agent));
      } catch (err) {
        if (err instanceof AgentLoginError) throw new AgentCommandError(err.message, 409);
        throw err;
      }
    case 'logout':
      // Ends the agent's call first (calls: a logout never leaves a customer on the line).
      await dialer.logoutAgent(agent.id);
      return loggedOut;
    case 'ready':
      if (!loggedIn) throw new AgentCommandError(`agent ${agent.name} is not logged in`, 409);
      pool.setReady(agent.id);
      if (pool.get(agent.id)?.state !== 'ready') throw new AgentCommandError(`agent ${agent.name} is ${s.state}; only wrap-up or paused can become ready`, 409);
      return agentView(pool.get(agent.id));
    case 'pause':
      if (!loggedIn) throw new AgentCommandError(`agent ${agent.name} is not logged in`, 409);
      pool.pause(agent.id, cmd.reason);
      if (pool.get(agent.id)?.state !== 'paused') throw new AgentCommandError(`agent ${agent.name} is ${s.state}; pause from ready or wrap-up`, 409);
      return agentView(pool.get(agent.id));
    case 'wrapped-up':
      // The disposition ends the wrap-up: ready for the next customer.
      if (s?.state === 'wrap-up') pool.setReady(agent.id);
      return agentView(pool.get(agent.id));
    case 'call': {
      if (!loggedIn) throw new AgentCommandError(`agent ${agent.name} is not logged in`, 409);
      const call = await runCallCommand(dialer, cmd.actor, agent.id, cmd.action);
      return { ...agentView(pool.get(agent.id)), call };
    }
    // The preview's own rules answer a logged-out agent (409, as they always did).
    case 'preview-take': {
      const preview = await takePreview(dialer.db, dialer, agent.id);
      return { ...agentView(pool.get(agent.id)), preview };
    }
    case 'preview-dial': {
      const dial = await dialPreview(dialer.db, dialer, agent.id, cmd.attemptId);
      return { ...agentView(pool.get(agent.id)), dial };
    }
    case 'preview-skip':
      await skipPreview(dialer.db, dialer, agent.id, cmd.attemptId);
      return agentView(pool.get(agent.id));
  }
}
