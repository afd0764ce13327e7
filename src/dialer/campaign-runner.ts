// Runs the campaigns that are `running`: once a second, per campaign, it builds the pacing
// snapshot from the live dialer (agents, calls in progress, answer and talk statistics, the
// abandonment rate as regulators count it), asks the campaign's pacer how many calls to place,
// and hands that many due attempts to the dial queue. The same pacers run in the simulator
// (bench/pacing.ts). Every handed attempt still passes the dial-time compliance gate.
// With several nodes (`cluster`), the pacer sees every node's agents and calls (its own node from
// the live dialer, the others from the shared board and PostgreSQL: cluster-view.ts), decides
// how many calls to place for the whole campaign, and splits them across nodes by the ready
// agents each node can still cover; each goes to its node's queue, so the customer is
// originated on the node of the agents who will take them.
// A pacer that takes a campaign (its lease moved here, or the campaign runs again) first seeds
// the campaign's abandonment meter from the calls in PostgreSQL, so the cap holds across a move.
import { sql } from 'kysely';
import type { Queue } from 'bullmq';
import { healthOf, type Db } from '../db/database.js';
import type { LeaseKeeper } from '../cluster/lease-keeper.js';
import type { DialMode } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { CallSummary } from './call-session.js';
import type { Dialer } from './dialer.js';
import {
  AbandonmentMeter,
  AgentCoverage,
  CallStatisticsCollector,
  liveAnswerOf,
  PredictivePacer,
  ProgressivePacer,
  ROLLING_30_DAYS,
  seedAbandonmentMeter,
  type AbandonmentBucket,
  type AbandonmentStats,
  type Pacer,
  type PacingSnapshot,
} from './pacing/index.js';
import { enqueueAttempt, type DialJob, type NodeQueues } from './queue.js';
import { agentAssignments } from './dial.repository.js';
import { readClusterView, type BoardReader, type ClusterView } from './cluster-view.js';
import { offerDueCallbacks } from './callbacks.js';
import { completeIfIdle } from '../admin/campaigns.service.js';

interface CampaignPacing {
  mode: DialMode;
  /** Attempts handed to the queue and not yet dialed (or refused): they count as calls being placed. */
  handed: Map<string, number>;
  /** The node each handed attempt went to (cluster pacing only). */
  handedTo: Map<string, string>;
  pacer: Pacer;
  statistics: CallStatisticsCollector;
  abandonment: AbandonmentMeter;
  /** Whether the meter has the campaign's calls from the record (seeded once, when this runner took the campaign). */
  seeded: boolean;
  /** Calls whose placement, and whose end, the meter has counted (by call id, for a while): each is counted once. */
  seenPlaced: Map<string, number>;
  seenEnded: Map<string, number>;
  placed: number[];
  maxConcurrent: number;
  maxCps: number;
  abandonCap: number;
}

/** Which runner of a process does each leased work (the node engines of one process share its keeper). */
const claims = new WeakMap<LeaseKeeper, Map<string, CampaignRunner>>();

/** How long a handed-over attempt counts as on its way without hearing back from the dialer. */
const HANDED_TTL_MS = 10_000;

/**
 * How long a call counted by the meter is remembered by id: longer than the other nodes' recent
 * calls are read back (cluster-view.ts) and than a call's live event can lag its row; calls
 * older than this at a seeding are counted in the database, by the second.
 */
const SEEN_MS = 300_000;

export interface CampaignRunnerOptions {
  /** How often running campaigns that chose completeWhenIdleDays are checked for having nothing left (default a minute). */
  idleCheckMs?: number;
  tickMs: number;
  /**
   * With several engines: each campaign is paced by the one engine holding its lease
   * (`<scope>/pacer:<campaign id>`), and due callbacks are offered by the one holding
   * `<scope>/due-callbacks`. Without: this runner paces every running campaign.
   */
  leases?: { keeper: LeaseKeeper; scope: string };
  /**
   * Pacing across nodes: this engine's node, every node's dial queue, and the shared board of
   * agent sessions. Without it, the runner paces with its own dialer alone into `queue`.
   */
  cluster?: { node: string; queues: NodeQueues; board: BoardReader };
}

/** A logged-in agent as a pacer counts them: here, or on another node. */
interface PacedAgent {
  agentId: string;
  node: string | undefined;
  state: string;
  stateSince: number;
}

export class CampaignRunner {
  private readonly campaigns = new Map<string, CampaignPacing>();
  private lastIdleCheck = 0;
  private lastForget = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private round = 0;
  /** The other nodes as last read (cluster pacing). */
  private view: ClusterView | null = null;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue<DialJob>,
    private readonly dialer: Dialer,
    private readonly log: Logger,
    private readonly opts: CampaignRunnerOptions = { tickMs: 1000 },
  ) {
    dialer.callPlaced.push((campaignId, at, callId) => {
      const c = this.campaigns.get(campaignId);
      if (!c || c.seenPlaced.has(callId)) return;
      c.seenPlaced.set(callId, Date.now());
      c.placed.push(at.getTime());
      c.abandonment.recordPlaced(at.getTime());
    });
    dialer.dialFinished.push((attemptId) => {
      for (const c of this.campaigns.values()) {
        c.handed.delete(attemptId);
        c.handedTo.delete(attemptId);
      }
    });
    // The retry its rules ask for is scheduled by the call's close (src/cdr/cdr.repository.ts).
    dialer.callEnded.push((s) => this.record(s));
  }

  /** Feeds a finished call into its campaign's statistics and abandonment meter (once per call). */
  private record(s: Pick<CallSummary, 'callId' | 'campaignId' | 'startedAt' | 'answeredAt' | 'bridgedAt' | 'endedAt' | 'hangupCause' | 'outcome'>): void {
    const c = this.campaigns.get(s.campaignId);
    if (!c || c.seenEnded.has(s.callId)) return;
    c.seenEnded.set(s.callId, Date.now());
    // An answering machine needs no agent and is not a live answer to regulators either (the
    // same rule seeds the meter from the record: abandonment-seed.ts).
    const answer = liveAnswerOf({ answeredAtMs: s.answeredAt?.getTime() ?? null, outcome: s.outcome });
    if (s.answeredAt && answer) {
      c.statistics.recordLiveAnswer((s.answeredAt.getTime() - s.startedAt.getTime()) / 1000);
      c.abandonment.recordLiveAnswered(answer.atMs, answer.abandoned);
      if (s.bridgedAt) c.statistics.recordTalk((s.endedAt.getTime() - s.bridgedAt.getTime()) / 1000);
    } else if (s.outcome !== 'failed' || s.hangupCause !== null) {
      c.statistics.recordNoAnswer((s.endedAt.getTime() - s.startedAt.getTime()) / 1000);
    }
  }

  /** What the campaign's abandonment meter says at `nowMs` (null: this runner does not pace the campaign now). */
  abandonmentOf(campaignId: string, nowMs = Date.now()): AbandonmentStats | null {
    return this.campaigns.get(campaignId)?.abandonment.stats(nowMs) ?? null;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.releasePacers();
  }

  /** Another engine may pace these campaigns now. */
  private releasePacers(): void {
    const l = this.opts.leases;
    if (!l) return;
    const claimed = claims.get(l.keeper);
    for (const name of l.keeper.wishes()) {
      if (!name.startsWith(`${l.scope}/pacer:`) && name !== `${l.scope}/due-callbacks`) continue;
      // Another runner of this process (another node's engine) paces it: it keeps the lease.
      const holder = claimed?.get(name);
      if (holder && holder !== this) continue;
      claimed?.delete(name);
      void l.keeper.unwant(name);
    }
  }

  /**
   * Completes the running campaigns (any dial mode) that chose completeWhenIdleDays and have
   * nothing due within that many days (see completeIfIdle); returns their ids.
   */
  async completeIdleCampaigns(now = new Date()): Promise<string[]> {
    const rows = await this.db
      .selectFrom('campaigns')
      .where('state', '=', 'running')
      .where(sql<boolean>`settings ? 'completeWhenIdleDays'`)
      .select('id')
      .execute();
    const done: string[] = [];
    for (const r of rows) {
      const c = await completeIfIdle(this.db, r.id, now);
      if (!c) continue;
      done.push(r.id);
      this.log.info({ campaignId: r.id, idleUntil: c.idleUntil, completeWhenIdleDays: c.campaign.completeWhenIdleDays }, 'campaign completed: nothing left to dial within its idle limit');
    }
    return done;
  }

  /** One pacing round over every running campaign; returns how many attempts were handed over. */
  async tick(now = new Date()): Promise<number> {
    // Nothing is handed over while Asterisk is away; with several nodes another engine paces meanwhile.
    if (!this.ticking && !this.dialer.available && this.opts.cluster) this.releasePacers();
    if (this.ticking || !this.dialer.available) return 0;
    this.ticking = true;
    try {
      const running = await this.db
        .selectFrom('campaigns')
        .where('state', '=', 'running')
        .where('dial_mode', 'in', ['progressive', 'predictive'])
        .select(['id', 'dial_mode', 'max_concurrent', 'max_cps', 'abandon_cap'])
        .execute();
      await this.loadAssignments();
      // Callbacks first: they were promised for this time.
      if (this.mayRun('due-callbacks')) await offerDueCallbacks(this.db, this.dialer, this.log, now);
      let handed = 0;
      this.wantPacers(running.map((r) => r.id));
      const paced = running.filter((r) => this.mayRun(`pacer:${r.id}`)).map((row) => ({ row, c: this.pacingFor(row.id, row.dial_mode, row.max_concurrent, row.max_cps, row.abandon_cap) }));
      // A campaign just taken (here first, from another engine, or running again) counts the calls
      // already made before its pacer decides anything; campaigns paced elsewhere now are
      // forgotten, so taking one back seeds it again rather than trusting a meter that missed calls.
      for (const id of this.campaigns.keys()) if (!paced.some((p) => p.row.id === id)) this.campaigns.delete(id);
      for (const { row, c } of paced) if (!c.seeded) await this.seedAbandonment(row.id, c, now);
      this.forgetSeen();
      await this.readCluster(paced.map((p) => p.row.id));
      for (const { c } of paced) this.forgetStaleHanded(c, now.getTime());
      const coverage = this.coverage(running.map((r) => r.id));
      // Campaigns sharing agents take turns at going first.
      const start = paced.length > 0 ? this.round++ % paced.length : 0;
      for (const { row, c } of [...paced.slice(start), ...paced.slice(0, start)]) {
        const n = c.pacer.decide(this.snapshot(row.id, c, now.getTime(), coverage));
        if (n <= 0) continue;
        if (this.view && coverage) {
          for (const [node, k] of this.split(row.id, n, coverage)) handed += await this.handOver(row.id, c, k, now, node);
          continue;
        }
        const placed = await this.handOver(row.id, c, n, now);
        for (let i = 0; i < placed; i++) coverage?.add(row.id);
        handed += placed;
      }
      if (now.getTime() - this.lastIdleCheck >= (this.opts.idleCheckMs ?? 60_000)) {
        this.lastIdleCheck = now.getTime();
        await this.completeIdleCampaigns(now);
      }
      return handed;
    } catch (err) {
      if (!healthOf(this.db).failed(err)) this.log.error({ err }, 'pacing tick failed');
      return 0;
    } finally {
      this.ticking = false;
    }
  }

  /** Whether this runner does the named work now (holds its lease, or runs alone). */
  private mayRun(work: string): boolean {
    const l = this.opts.leases;
    if (!l) return true;
    const name = `${l.scope}/${work}`;
    l.keeper.want(name);
    if (!l.keeper.holds(name)) return false;
    // The node engines of one process share its lease keeper: the first runner to claim the work paces it.
    let claimed = claims.get(l.keeper);
    if (!claimed) claims.set(l.keeper, (claimed = new Map()));
    const holder = claimed.get(name);
    if (holder && holder !== this) return false;
    claimed.set(name, this);
    return true;
  }

  /** Asks for the pacer leases of the running campaigns and gives up those of the others. */
  private wantPacers(running: readonly string[]): void {
    const l = this.opts.leases;
    if (!l) return;
    const prefix = `${l.scope}/pacer:`;
    const keep = new Set(running.map((id) => `${prefix}${id}`));
    for (const name of keep) l.keeper.want(name);
    for (const name of l.keeper.wishes()) if (name.startsWith(prefix) && !keep.has(name)) void l.keeper.unwant(name);
  }

  private pacingFor(id: string, mode: DialMode, maxConcurrent: number, maxCps: number, abandonCap: number): CampaignPacing {
    let c = this.campaigns.get(id);
    if (!c || c.mode !== mode) {
      c = {
        mode,
        pacer: mode === 'predictive' ? new PredictivePacer() : new ProgressivePacer(),
        handed: c?.handed ?? new Map(),
        handedTo: c?.handedTo ?? new Map(),
        statistics: c?.statistics ?? new CallStatisticsCollector(),
        abandonment: c?.abandonment ?? new AbandonmentMeter(ROLLING_30_DAYS),
        seeded: c?.seeded ?? false,
        seenPlaced: c?.seenPlaced ?? new Map(),
        seenEnded: c?.seenEnded ?? new Map(),
        placed: c?.placed ?? [],
        maxConcurrent,
        maxCps,
        abandonCap,
      };
      this.campaigns.set(id, c);
    }
    c.maxConcurrent = maxConcurrent;
    c.maxCps = maxCps;
    c.abandonCap = abandonCap;
    return c;
  }

  /**
   * Seeds the campaign's abandonment meter from PostgreSQL: every call of the meter's window (and
   * a day before it, for answers inside it of calls placed before it), counted as the live pacer
   * counts them. Calls of the last SEEN_MS one by one, remembered by id so that their live events
   * (here, or read from the other nodes) are not counted twice, and those already counted since the
   * campaign was taken are left out; older ones by the second, counted in the database.
   */
  private async seedAbandonment(campaignId: string, c: CampaignPacing, now: Date): Promise<void> {
    const lookFrom = new Date(c.abandonment.windowStart(now.getTime()) - 86_400_000);
    const horizon = new Date(Date.now() - SEEN_MS);
    const [recent, old] = await Promise.all([
      this.db
        .selectFrom('calls')
        .where('campaign_id', '=', campaignId)
        .where('created_at', '>', lookFrom)
        .where((eb) => eb.or([eb('created_at', '>', horizon), eb('ended_at', 'is', null), eb('ended_at', '>', horizon)]))
        .select(['id', 'created_at', 'answered_at', 'ended_at', 'outcome'])
        .execute(),
      sql<{ sec: number; placed: number; answered: number; abandoned: number }>`
        with old as (
          select created_at, answered_at, outcome from calls
          where campaign_id = ${campaignId} and created_at > ${lookFrom} and created_at <= ${horizon} and ended_at <= ${horizon})
        select sec::float8 as sec, sum(p)::int as placed, sum(a)::int as answered, sum(b)::int as abandoned from (
          select floor(extract(epoch from created_at)) as sec, 1 as p, 0 as a, 0 as b from old
          union all
          select floor(extract(epoch from answered_at)), 0, 1, case when outcome = 'abandoned' then 1 else 0 end from old
          where answered_at is not null and outcome is distinct from 'machine'
        ) e group by sec order by sec`.execute(this.db),
    ]);
    const buckets: AbandonmentBucket[] = old.rows.map((r) => ({ sec: r.sec, placed: r.placed, liveAnswered: r.answered, abandoned: r.abandoned }));
    seedAbandonmentMeter(c.abandonment, buckets, recent.map((r) => ({
      placedAtMs: r.created_at.getTime(), answeredAtMs: r.answered_at?.getTime() ?? null, ended: r.ended_at !== null, outcome: r.outcome,
      skipPlaced: c.seenPlaced.has(r.id), skipAnswer: c.seenEnded.has(r.id),
    })));
    const t = Date.now();
    for (const r of recent) {
      if (!c.seenPlaced.has(r.id)) c.seenPlaced.set(r.id, t);
      if (r.ended_at && !c.seenEnded.has(r.id)) c.seenEnded.set(r.id, t);
    }
    c.seeded = true;
    const stats = c.abandonment.stats(now.getTime());
    this.log.info({ campaignId, placed: stats.placed, liveAnswered: stats.liveAnswered, abandoned: stats.abandoned, rate: stats.rate }, 'pacer took the campaign: abandonment meter seeded from the record');
  }

  /** Calls counted longer ago than SEEN_MS cannot come again (seeding counts them by the second). */
  private forgetSeen(): void {
    // Every 10 s is soon enough (a busy campaign remembers tens of thousands of calls).
    if (Date.now() - this.lastForget < 10_000) return;
    this.lastForget = Date.now();
    const before = Date.now() - SEEN_MS;
    for (const c of this.campaigns.values()) for (const seen of [c.seenPlaced, c.seenEnded]) for (const [id, at] of seen) if (at < before) seen.delete(id);
  }

  /** Which campaigns each agent serves (campaign_agents), for the pool and the pacers. */
  private async loadAssignments(): Promise<void> {
    this.dialer.agents.setAssignments(await agentAssignments(this.db));
  }

  /** A job taken by another process never reports back here: forget it after a while. */
  private forgetStaleHanded(c: CampaignPacing, nowMs: number): void {
    for (const [id, at] of c.handed) {
      if (at >= nowMs - HANDED_TTL_MS) continue;
      c.handed.delete(id);
      c.handedTo.delete(id);
    }
  }

  /**
   * Cluster pacing: reads the other nodes (nodes driven now, their agents and calls, every node's
   * handed attempts), feeds the calls they placed and ended into the campaigns' statistics, and
   * forgets this pacer's handed attempts another node has taken (PostgreSQL counts them now).
   * The view is null (pace alone, as a single node) with one node, or when it cannot be read.
   */
  private async readCluster(campaignIds: string[]): Promise<void> {
    const cl = this.opts.cluster;
    this.view = null;
    if (!cl || campaignIds.length === 0) return;
    let view: ClusterView;
    try {
      view = await readClusterView(this.db, cl.board, cl.node, campaignIds);
    } catch (err) {
      this.log.warn({ err }, 'reading the other nodes failed: pacing with this node alone');
      return;
    }
    for (const p of view.placed) {
      const c = this.campaigns.get(p.campaignId);
      if (!c || c.seenPlaced.has(p.callId)) continue;
      c.seenPlaced.set(p.callId, Date.now());
      c.placed.push(p.at.getTime());
      c.abandonment.recordPlaced(p.at.getTime());
    }
    for (const e of view.ended) this.record(e);
    const queued = new Set(view.calls.filter((x) => x.phase === 'queued').map((x) => x.attemptId));
    for (const c of this.campaigns.values()) {
      for (const [id, node] of c.handedTo) {
        if (node === cl.node || queued.has(id)) continue;
        c.handed.delete(id);
        c.handedTo.delete(id);
      }
    }
    // One node only (this one): pace exactly as a single node does.
    if (view.nodes.length <= 1 && view.nodes.every((n) => n === cl.node) && view.agents.length === 0 && view.calls.every((x) => x.node === cl.node)) return;
    this.view = view;
  }

  /** The agents serving the campaign, on this node and (cluster pacing) on the others. */
  private agentsOf(campaignId: string | null): PacedAgent[] {
    const pool = this.dialer.agents;
    const local: PacedAgent[] = pool.list().map((a) => ({ agentId: a.agentId, node: this.opts.cluster?.node, state: a.state, stateSince: a.stateSince }));
    const remote: PacedAgent[] = (this.view?.agents ?? []).map((a) => ({ agentId: a.agentId, node: a.node, state: a.state, stateSince: a.sinceMs }));
    return [...local, ...remote].filter((a) => campaignId === null || pool.serves(a.agentId, campaignId));
  }

  /** Other nodes' calls that need an agent, and attempts handed to a node by another pacer (cluster pacing). */
  private otherCalls(): ClusterView['calls'] {
    if (!this.view) return [];
    const mine = new Set([...this.campaigns.values()].flatMap((c) => [...c.handed.keys()]));
    return this.view.calls.filter((x) => !mine.has(x.attemptId));
  }

  /**
   * Splits n calls of a campaign across nodes: first, one by one, to the node whose ready agents
   * can still cover one more of its calls (the most uncovered first); the rest (a predictive
   * pacer dialing ahead) in proportion to the agents working the campaign on each node. Each
   * call is added to the coverage on its node.
   */
  private split(campaignId: string, n: number, coverage: AgentCoverage): Map<string, number> {
    const nodes = this.view?.nodes.length ? this.view.nodes : [this.opts.cluster!.node];
    const out = new Map<string, number>();
    const working = new Map<string, number>();
    for (const a of this.agentsOf(campaignId)) {
      if (a.node && a.state !== 'paused' && a.state !== 'logging-in' && a.state !== 'logged-out') working.set(a.node, (working.get(a.node) ?? 0) + 1);
    }
    // Nodes hold disjoint agents: each node's room is its own.
    const room = new Map(nodes.map((node) => [node, coverage.headroom(campaignId, n, node)]));
    for (let i = 0; i < n; i++) {
      let best: string | null = null;
      let bestRoom = 0;
      for (const [node, r] of room) if (r > bestRoom) [best, bestRoom] = [node, r];
      if (best) room.set(best, bestRoom - 1);
      else {
        // Nobody left to cover a call: ahead of the agents, by their share of the campaign.
        let ratio = Infinity;
        for (const node of nodes) {
          const w = working.get(node) ?? 0;
          if (w === 0) continue;
          const r = (out.get(node) ?? 0) / w;
          if (r < ratio) [best, ratio] = [node, r];
        }
      }
      if (!best) break;
      coverage.add(campaignId, best);
      out.set(best, (out.get(best) ?? 0) + 1);
    }
    return out;
  }

  /**
   * Which ready agents the calls in progress of every campaign will need (dialing, waiting, or
   * handed to the queue), when more than one campaign is in play: an agent two campaigns share
   * counts once, whichever campaign placed the call. Null when one campaign has the agents alone.
   */
  private coverage(running: readonly string[]): AgentCoverage | null {
    const live = this.dialer.liveCalls().filter((x) => x.needsAgent);
    const campaigns = new Set([...running, ...live.map((x) => x.campaignId)]);
    for (const [id, c] of this.campaigns) if (c.handed.size > 0) campaigns.add(id);
    // With several nodes a call needs an agent on its own node: always matched, node by node.
    if (campaigns.size <= 1 && !this.view) return null;
    const pool = this.dialer.agents;
    const here = this.opts.cluster?.node;
    const ready = this.agentsOf(null).filter((a) => a.state === 'ready');
    const nodeOf = new Map(ready.map((a) => [a.agentId, a.node]));
    const coverage = new AgentCoverage(ready.map((a) => a.agentId), (a, campaignId, node) => pool.serves(a, campaignId) && (node === undefined || nodeOf.get(a) === node));
    const others = this.otherCalls();
    // Oldest first: calls already answered, then those ringing, then those still in the queue.
    for (const x of live.filter((l) => l.phase === 'waiting')) coverage.add(x.campaignId, here);
    for (const x of others.filter((l) => l.phase === 'waiting')) coverage.add(x.campaignId, x.node);
    const dialing = [
      ...live.filter((l) => l.phase === 'dialing').map((l) => ({ campaignId: l.campaignId, node: here, since: l.startedAt.getTime() })),
      ...others.filter((l) => l.phase === 'dialing').map((l) => ({ campaignId: l.campaignId, node: l.node as string | undefined, since: l.sinceMs })),
    ];
    for (const x of dialing.sort((a, b) => a.since - b.since)) coverage.add(x.campaignId, x.node);
    for (const [id, c] of this.campaigns) for (const a of c.handed.keys()) coverage.add(id, this.view ? (c.handedTo.get(a) ?? here) : undefined);
    for (const x of others.filter((l) => l.phase === 'queued')) coverage.add(x.campaignId, x.node);
    return coverage;
  }

  /** What the live dialer looks like to this campaign's pacer right now: its own agents only. */
  snapshot(campaignId: string, c: CampaignPacing, nowMs: number, coverage: AgentCoverage | null = null): PacingSnapshot {
    const agents = this.agentsOf(campaignId);
    const others = this.otherCalls().filter((x) => x.campaignId === campaignId);
    const calls = [
      ...this.dialer.liveCalls().filter((x) => x.campaignId === campaignId),
      ...others.filter((x) => x.phase !== 'queued').map((x) => ({ phase: x.phase, startedAt: new Date(x.sinceMs) })),
    ];
    c.placed.sort((a, b) => a - b);
    while (c.placed.length > 0 && c.placed[0]! < nowMs - 1000) c.placed.shift();
    this.forgetStaleHanded(c, nowMs);
    const ready = agents.filter((a) => a.state === 'ready').length;
    const onTheirWay = [...c.handed.values(), ...others.filter((x) => x.phase === 'queued').map((x) => x.sinceMs)].map((at) => (nowMs - at) / 1000);
    return {
      nowMs,
      limits: { abandonCap: c.abandonCap, maxConcurrentCalls: c.maxConcurrent, maxCallsPerSecond: c.maxCps },
      agents: {
        ready,
        ...(coverage ? { uncoveredReady: coverage.headroom(campaignId, ready) } : {}),
        reserved: agents.filter((a) => a.state === 'reserved').length,
        onCallTalkSec: agents.filter((a) => a.state === 'on-call').map((a) => (nowMs - a.stateSince) / 1000),
        wrapUpSec: agents.filter((a) => a.state === 'wrap-up').map((a) => (nowMs - a.stateSince) / 1000),
        paused: agents.filter((a) => a.state === 'paused').length,
      },
      calls: {
        dialingAgeSec: [...onTheirWay, ...calls.filter((x) => x.phase === 'dialing').map((x) => (nowMs - x.startedAt.getTime()) / 1000)],
        waitingForAgent: calls.filter((x) => x.phase === 'waiting').length,
        placedInLastSecond: c.placed.length,
      },
      statistics: c.statistics.snapshot(),
      abandonment: c.abandonment.stats(nowMs),
    };
  }

  /**
   * Marks up to n due attempts as handed to the queue (skipping rows another runner holds) and
   * enqueues them; with cluster pacing, to the named node's queue (the attempt records the node).
   */
  private async handOver(campaignId: string, c: CampaignPacing, n: number, now: Date, node?: string): Promise<number> {
    const cl = this.opts.cluster;
    const to = node ?? cl?.node ?? null;
    const rows = await sql<{ id: string; scheduled_at: Date }>`
      update attempts a set enqueued_at = ${now}, node_id = (select id from nodes where name = ${to})
      where a.id in (
        select a2.id from attempts a2 join contacts ct on ct.id = a2.contact_id
        where a2.campaign_id = ${campaignId} and a2.state = 'queued' and a2.enqueued_at is null and a2.scheduled_at <= ${now}
          and not a2.is_callback
        order by ct.priority desc, a2.scheduled_at
        limit ${n}
        for update of a2 skip locked)
      returning a.id, a.scheduled_at`.execute(this.db);
    const queue = cl && to && to !== cl.node ? cl.queues.of(to) : this.queue;
    for (const r of rows.rows) {
      c.handed.set(r.id, now.getTime());
      if (to && cl) c.handedTo.set(r.id, to);
      await enqueueAttempt(queue, r.id, r.scheduled_at);
    }
    return rows.rows.length;
  }
}
