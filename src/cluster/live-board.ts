// Every node's live state, shared over Redis so that whichever process answers (an API-only one
// included) shows every node's agents and calls: GET /api/v1/live, its SSE stream and /metrics.
//
// - Each node's engine writes the node's snapshot (its agent sessions and calls in progress) to
//   `<prefix>:live:node:<node>` every second and within 100 ms of agent changes, with an expiry of a few
//   seconds (an engine that dies leaves nothing behind for long); a reader also drops a snapshot
//   whose engine no longer holds the node's lease (a stale owner).
// - Each agent change is also published on `<prefix>:live:events`, so a stream in any process
//   shows it within milliseconds.
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { AgentSession } from '../dialer/agent-pool.js';
import type { Dialer } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import { redisOutage, watchRedis } from '../dialer/queue.js';
import type { ReportSettings } from '../reports/figures.js';
import { liveAgentOf, TiledLiveSource, type LiveAgent } from '../reports/live-source.js';
import { liveViewOf, type LiveNode, type LiveState, type LiveView } from '../reports/reports.service.js';

/** One node's live state as its engine last wrote it. */
export interface NodeSnapshot {
  node: string;
  engine: string;
  at: number;
  agents: LiveAgent[];
  calls: { campaignId: string; phase: string }[];
}

const SNAPSHOT_EVERY_MS = 1000;
const SNAPSHOT_TTL_MS = 5000;
/** Agent changes within this share one snapshot write. */
const SNAPSHOT_GATHER_MS = 100;

const snapshotKey = (prefix: string, node: string) => `${prefix}:live:node:${node}`;
const eventsChannel = (prefix: string) => `${prefix}:live:events`;

/**
 * The engine side: mirrors the node's dialer onto the board until the returned function is called
 * (which removes the node's snapshot, unless another engine took the node and writes it now).
 */
export function publishNodeLive(redis: Redis, prefix: string, node: string, engine: string, dialer: Dialer, log: Logger): (removeSnapshot?: boolean) => Promise<void> {
  const key = snapshotKey(prefix, node);
  const write = () => {
    const snap: NodeSnapshot = {
      node, engine, at: Date.now(),
      agents: dialer.agents.list().filter((a) => a.state !== 'logged-out').map(liveAgentOf),
      calls: dialer.liveCalls().map((c) => ({ campaignId: c.campaignId, phase: c.phase })),
    };
    return redis.set(key, JSON.stringify(snap), 'PX', SNAPSHOT_TTL_MS);
  };
  const fail = (err: unknown) => log.debug({ err }, 'writing the node\'s live state failed (next second)');
  // The snapshot (every agent and call of the node) is written once per burst of changes, not per
  // change: with 100 agents, a write per change cost 20-30% of the engine's CPU (bench:dialer's
  // engine rows). Streams see each change at once through the event published with it.
  let pending: NodeJS.Timeout | null = null;
  const onState = (s: AgentSession) => {
    void redis.publish(eventsChannel(prefix), JSON.stringify({ node, engine, agent: liveAgentOf(s) })).catch(fail);
    if (pending) return;
    pending = setTimeout(() => {
      pending = null;
      void write().catch(fail);
    }, SNAPSHOT_GATHER_MS);
    pending.unref();
  };
  dialer.agents.on('state', onState);
  void write().catch(fail);
  const timer = setInterval(() => void write().catch(fail), SNAPSHOT_EVERY_MS);
  timer.unref();
  return async (removeSnapshot = true) => {
    clearInterval(timer);
    if (pending) clearTimeout(pending);
    dialer.agents.off('state', onState);
    if (removeSnapshot) await redis.del(key).catch(() => undefined);
  };
}

/** Every enabled node with the engine holding its lease now (if any), its epoch and drain. */
export async function nodeOwners(db: Db): Promise<{ name: string; owner: string | null; epoch: number | null; drainState: 'draining' | 'drained' | null }[]> {
  const rows = await db
    .selectFrom('nodes as n')
    .leftJoin('leases as l', (j) => j.on(sql<boolean>`l.name = 'node:' || n.name and l.expires_at > now()`))
    .where('n.enabled', '=', true)
    .select(['n.name', 'n.drain_state', 'l.owner', 'l.epoch'])
    .orderBy('n.name')
    .execute();
  return rows.map((r) => ({ name: r.name, owner: r.owner ?? null, epoch: r.epoch ?? null, drainState: r.drain_state }));
}

/** The reader: every node's live state, as one LiveState for liveViewOf. */
export class LiveBoard {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly db: Db,
  ) {}

  async state(): Promise<LiveState> {
    const owners = await nodeOwners(this.db);
    const raw = owners.length ? await this.redis.mget(owners.map((o) => snapshotKey(this.prefix, o.name))) : [];
    const [assignments] = await Promise.all([this.db.selectFrom('campaign_agents').select(['campaign_id', 'agent_id']).execute()]);
    const byAgent = new Map<string, Set<string>>();
    for (const a of assignments) {
      let set = byAgent.get(a.agent_id);
      if (!set) byAgent.set(a.agent_id, (set = new Set()));
      set.add(a.campaign_id);
    }
    const listed = new Set(assignments.map((a) => a.campaign_id));
    const state: LiveState = {
      agents: [],
      calls: [],
      // The agent pool's rule (AgentPool.serves): listed campaigns take their listed agents; the others, agents listed nowhere.
      serves: (agentId, campaignId) => (listed.has(campaignId) ? !!byAgent.get(agentId)?.has(campaignId) : !byAgent.has(agentId)),
      nodes: [],
    };
    owners.forEach((o, i) => {
      const text = raw[i];
      const snap = text ? (JSON.parse(text) as NodeSnapshot) : null;
      // Only the snapshot of the engine holding the lease now: a stale owner's is not the node's.
      const live = snap && o.owner && snap.engine === o.owner ? snap : null;
      const agents: Record<string, number> = {};
      const phases = new Map<string, Record<string, number>>();
      for (const a of live?.agents ?? []) {
        agents[a.state] = (agents[a.state] ?? 0) + 1;
        state.agents.push({ ...a, node: o.name });
      }
      for (const c of live?.calls ?? []) {
        state.calls.push({ ...c, node: o.name });
        const p = phases.get(c.campaignId) ?? {};
        p[c.phase] = (p[c.phase] ?? 0) + 1;
        phases.set(c.campaignId, p);
      }
      const node: LiveNode = {
        node: o.name, engine: o.owner, epoch: o.epoch, drainState: o.drainState, agents, callsInProgress: live?.calls.length ?? 0,
        byCampaign: [...phases].map(([campaignId, p]) => ({ campaignId, phases: p })),
      };
      state.nodes!.push(node);
    });
    return state;
  }
}

/**
 * The live source of any process (API-only ones included): snapshots from every node's board,
 * agent changes from every engine as they are published, tiles recomputed every tilesEveryMs
 * while someone listens.
 */
export class SharedLiveSource extends TiledLiveSource {
  private readonly board: LiveBoard;
  private readonly redis: Redis;
  private readonly sub: Redis;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly db: Db,
    private readonly settings: ReportSettings,
    log: Logger,
    tilesEveryMs = 1000,
  ) {
    super(log, tilesEveryMs);
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
    this.sub = new Redis(redisUrl, { maxRetriesPerRequest: null });
    watchRedis([this.redis, this.sub], { queues: [], workers: [] }, log, redisOutage(redisUrl, log));
    this.board = new LiveBoard(this.redis, prefix, db);
    this.sub.on('message', (_channel: string, message: string) => {
      try {
        const e = JSON.parse(message) as { node: string; agent: LiveAgent };
        this.emit('agent', { ...e.agent, node: e.node } as LiveAgent);
      } catch (err) {
        log.warn({ err }, 'a live event that is not JSON was ignored');
      }
    });
  }

  async start(): Promise<void> {
    await this.sub.subscribe(eventsChannel(this.prefix));
  }

  /** Every node's agents and calls as one LiveState (also for /metrics). */
  state(): Promise<LiveState> {
    return this.board.state();
  }

  async snapshot(): Promise<LiveView> {
    return liveViewOf(this.db, await this.board.state(), this.settings);
  }

  override close(): void {
    super.close();
    this.sub.disconnect();
    this.redis.disconnect();
  }
}
