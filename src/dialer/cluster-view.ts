// What a campaign's pacer needs to know about the nodes it does not drive itself: which nodes
// may take calls now (enabled, driven by an engine), the agents logged in on them (the shared
// board in Redis, src/cluster/agent-bus.ts), their calls in progress and the attempts handed to
// any node's queue and not yet taken (PostgreSQL, the record), and the calls they placed and
// ended lately (so the campaign's statistics and abandonment rate count every node's calls).
// The pacer runs in one engine per campaign; its own node it reads from its live dialer.
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AgentState } from './agent-pool.js';
import type { CallSummary } from './call-session.js';

/** An agent logged in on another node, as its engine last reported them. */
export interface NodeAgent {
  agentId: string;
  node: string;
  state: AgentState;
  sinceMs: number;
}

/**
 * A call that will need an agent on a node: handed to the node's queue and not yet taken
 * ('queued', any node, unless this pacer handed it), reserved or ringing ('dialing'), or
 * answered and waiting for an agent ('waiting'); other nodes only for the last two.
 */
export interface NodeCall {
  attemptId: string;
  campaignId: string;
  node: string;
  phase: 'queued' | 'dialing' | 'waiting';
  sinceMs: number;
}

/** A call another node ended lately, as the campaign's statistics take it. */
export type NodeCallEnded = Pick<CallSummary, 'callId' | 'campaignId' | 'startedAt' | 'answeredAt' | 'bridgedAt' | 'endedAt' | 'hangupCause' | 'outcome'>;

export interface ClusterView {
  /** Nodes that may take calls now (enabled, with an engine holding their lease), by name. */
  nodes: string[];
  /** Agents on the other nodes (the local node's come from the live pool). */
  agents: NodeAgent[];
  calls: NodeCall[];
  /** Calls other nodes placed (created_at) or ended within the last minute. */
  placed: { callId: string; campaignId: string; at: Date }[];
  ended: NodeCallEnded[];
}

/** Reads the other nodes' sessions from the shared board (entries of engines still holding their node). */
export type BoardReader = () => Promise<NodeAgent[]>;

/** How far back other nodes' placed and ended calls are read on every tick (each is taken once). */
const RECENT_MS = 60_000;

export async function readClusterView(db: Db, board: BoardReader, local: string, campaignIds: readonly string[]): Promise<ClusterView> {
  const nodes = await db
    .selectFrom('nodes as n')
    // The lease named as nodeLease() names it.
    .innerJoin('leases as l', (j) => j.on(sql<boolean>`l.name = 'node:' || n.name`))
    .where('n.enabled', '=', true)
    .where('l.expires_at', '>', sql<Date>`now()`)
    .select('n.name')
    .orderBy('n.name')
    .execute();
  // One node (this one): nothing more to read, the pacer paces as a single node does.
  if (nodes.length === 1 && nodes[0]!.name === local) return { nodes: [local], agents: [], calls: [], placed: [], ended: [] };
  const [agents, calls, recent] = await Promise.all([
    board(),
    sql<{ id: string; campaign_id: string; node: string; state: string; enqueued_at: Date | null; dialed_at: Date | null; answered_at: Date | null }>`
      select a.id, a.campaign_id, n.name as node, a.state, a.enqueued_at, a.dialed_at, null::timestamptz as answered_at
      from attempts a join nodes n on n.id = a.node_id
      where a.state = 'queued' and a.enqueued_at is not null and a.scheduled_at <= now()
      union all
      select a.id, a.campaign_id, n.name as node, a.state, a.enqueued_at, a.dialed_at, c.answered_at
      from attempts a
      left join calls c on c.attempt_id = a.id
      join nodes n on n.id = coalesce(c.node_id, a.node_id)
      where a.state = 'dialing' and n.name <> ${local} and c.ended_at is null and c.bridged_at is null`.execute(db),
    campaignIds.length === 0
      ? Promise.resolve({ rows: [] })
      : sql<{ id: string; campaign_id: string; created_at: Date; answered_at: Date | null; bridged_at: Date | null; ended_at: Date | null; hangup_cause: number | null; outcome: string | null }>`
      select c.id, c.campaign_id, c.created_at, c.answered_at, c.bridged_at, c.ended_at, c.hangup_cause, c.outcome
      from calls c join nodes n on n.id = c.node_id
      where n.name <> ${local} and c.campaign_id = any(${[...campaignIds]}::uuid[])
        and (c.created_at > now() - ${`${RECENT_MS} milliseconds`}::interval or c.ended_at > now() - ${`${RECENT_MS} milliseconds`}::interval)`.execute(db),
  ]);
  const live = new Set(nodes.map((n) => n.name));
  return {
    nodes: [...live],
    agents: agents.filter((a) => a.node !== local && live.has(a.node)),
    calls: calls.rows.map((r) => ({
      attemptId: r.id,
      campaignId: r.campaign_id,
      node: r.node,
      phase: r.state === 'queued' ? 'queued' : r.answered_at ? 'waiting' : 'dialing',
      sinceMs: (r.state === 'queued' ? r.enqueued_at : (r.answered_at ?? r.dialed_at))?.getTime() ?? Date.now(),
    })),
    placed: recent.rows.map((r) => ({ callId: r.id, campaignId: r.campaign_id, at: r.created_at })),
    ended: recent.rows
      .filter((r) => r.ended_at && r.outcome)
      .map((r) => ({
        callId: r.id, campaignId: r.campaign_id, startedAt: r.created_at, answeredAt: r.answered_at, bridgedAt: r.bridged_at,
        endedAt: r.ended_at!, hangupCause: r.hangup_cause, outcome: r.outcome as CallSummary['outcome'],
      })),
  };
}
