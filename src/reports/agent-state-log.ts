// Writes every agent state change the pool makes to agent_state_changes (logged-in time for talk
// utilisation). Changes are batched per event-loop turn into one insert and never delay the pool;
// a failed write is logged, and the report then under-counts that agent's logged-in time.
import type { AgentPool } from '../dialer/agent-pool.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { insertAgentStateChanges } from './reports.repository.js';

export interface AgentStateLog {
  /** Resolves once every change made so far is written (or its write has failed). */
  flush(): Promise<void>;
}

export function recordAgentStates(pool: AgentPool, db: Db, log: Logger): AgentStateLog {
  let pending: { agentId: string; state: string; at: Date }[] = [];
  let chain: Promise<void> = Promise.resolve();
  let scheduled = false;
  const write = (): Promise<void> => {
    scheduled = false;
    const rows = pending;
    pending = [];
    // Writes run one after another, so the table receives changes in the order they happened.
    chain = chain.then(() =>
      insertAgentStateChanges(db, rows).catch((err: unknown) => log.error({ err, rows: rows.length }, 'writing agent state changes failed')),
    );
    return chain;
  };
  pool.on('state', (s) => {
    pending.push({ agentId: s.agentId, state: s.state, at: new Date(s.stateSince) });
    if (!scheduled) {
      scheduled = true;
      setImmediate(() => void write());
    }
  });
  return { flush: () => (pending.length ? write() : chain) };
}
