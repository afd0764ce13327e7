// Writes every agent state change the pool makes to agent_state_changes (logged-in time for talk
// utilisation). Changes within GATHER_MS are batched into one insert (each call brings an agent
// three or four changes: one statement per change was the engine's most frequent, bench:dialer's
// engine rows) and never delay the pool; stops and drains flush them;
// a write that fails for want of the database waits for it (in order); any other failure is
// logged, and the report then under-counts that agent's logged-in time.
import type { AgentPool } from '../dialer/agent-pool.js';
import { healthOf, type Db } from '../db/database.js';
import { retryWhileUnreachable } from '../db/health.js';
import type { Logger } from '../log.js';
import { insertAgentStateChanges } from './reports.repository.js';

export interface AgentStateLog {
  /** Resolves once every change made so far is written (or its write has failed). */
  flush(): Promise<void>;
}

const GATHER_MS = 50;

export function recordAgentStates(pool: AgentPool, db: Db, log: Logger): AgentStateLog {
  let pending: { agentId: string; state: string; at: Date; reason: string | null }[] = [];
  const health = healthOf(db);
  let chain: Promise<void> = Promise.resolve();
  let scheduled: NodeJS.Timeout | null = null;
  const write = (): Promise<void> => {
    if (scheduled) clearTimeout(scheduled);
    scheduled = null;
    if (pending.length === 0) return chain;
    const rows = pending;
    pending = [];
    // Writes run one after another, so the table receives changes in the order they happened.
    chain = chain.then(() =>
      retryWhileUnreachable(health, () => insertAgentStateChanges(db, rows)).catch((err: unknown) => log.error({ err, rows: rows.length }, 'writing agent state changes failed')),
    );
    return chain;
  };
  pool.on('state', (s) => {
    const reason = s.state === 'logged-out' ? s.logoutReason : s.state === 'paused' ? s.pauseReason : null;
    pending.push({ agentId: s.agentId, state: s.state, at: new Date(s.stateSince), reason });
    if (!scheduled) {
      scheduled = setTimeout(() => void write(), GATHER_MS);
      scheduled.unref();
    }
  });
  return { flush: write };
}
