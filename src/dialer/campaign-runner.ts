// Runs the campaigns that are `running`: once a second, per campaign, it builds the pacing
// snapshot from the live dialer (agents, calls in progress, answer and talk statistics, the
// abandonment rate as regulators count it), asks the campaign's pacer how many calls to place,
// and hands that many due attempts to the dial queue. The same pacers run in the simulator
// (bench/pacing.ts). Every handed attempt still passes the dial-time compliance gate.
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
  PredictivePacer,
  ProgressivePacer,
  ROLLING_30_DAYS,
  type Pacer,
  type PacingSnapshot,
} from './pacing/index.js';
import { enqueueAttempt, type DialJob } from './queue.js';
import { offerDueCallbacks } from './callbacks.js';
import { completeIfIdle } from '../admin/campaigns.service.js';

interface CampaignPacing {
  mode: DialMode;
  /** Attempts handed to the queue and not yet dialed (or refused): they count as calls being placed. */
  handed: Map<string, number>;
  pacer: Pacer;
  statistics: CallStatisticsCollector;
  abandonment: AbandonmentMeter;
  placed: number[];
  maxConcurrent: number;
  maxCps: number;
  abandonCap: number;
}

/** How long a handed-over attempt counts as on its way without hearing back from the dialer. */
const HANDED_TTL_MS = 10_000;

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
}

export class CampaignRunner {
  private readonly campaigns = new Map<string, CampaignPacing>();
  private lastIdleCheck = 0;
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private round = 0;

  constructor(
    private readonly db: Db,
    private readonly queue: Queue<DialJob>,
    private readonly dialer: Dialer,
    private readonly log: Logger,
    private readonly opts: CampaignRunnerOptions = { tickMs: 1000 },
  ) {
    dialer.callPlaced.push((campaignId, at) => {
      const c = this.campaigns.get(campaignId);
      if (!c) return;
      c.placed.push(at.getTime());
      c.abandonment.recordPlaced(at.getTime());
    });
    dialer.dialFinished.push((attemptId) => {
      for (const c of this.campaigns.values()) c.handed.delete(attemptId);
    });
    // The retry its rules ask for is scheduled by the call's close (src/cdr/cdr.repository.ts).
    dialer.callEnded.push((s) => this.record(s));
  }

  /** Feeds a finished call into its campaign's statistics and abandonment meter. */
  private record(s: CallSummary): void {
    const c = this.campaigns.get(s.campaignId);
    if (!c) return;
    // An answering machine needs no agent and is not a live answer to regulators either.
    if (s.answeredAt && s.outcome !== 'machine') {
      c.statistics.recordLiveAnswer((s.answeredAt.getTime() - s.startedAt.getTime()) / 1000);
      c.abandonment.recordLiveAnswered(s.answeredAt.getTime(), s.outcome === 'abandoned');
      if (s.bridgedAt) c.statistics.recordTalk((s.endedAt.getTime() - s.bridgedAt.getTime()) / 1000);
    } else if (s.outcome !== 'failed' || s.hangupCause !== null) {
      c.statistics.recordNoAnswer((s.endedAt.getTime() - s.startedAt.getTime()) / 1000);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.opts.tickMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Another engine may pace these campaigns now.
    const l = this.opts.leases;
    if (l) for (const name of l.keeper.wishes()) if (name.startsWith(`${l.scope}/pacer:`) || name === `${l.scope}/due-callbacks`) void l.keeper.unwant(name);
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
    // Nothing is handed over while Asterisk is away.
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
      for (const { c } of paced) this.forgetStaleHanded(c, now.getTime());
      const coverage = this.coverage(running.map((r) => r.id));
      // Campaigns sharing agents take turns at going first.
      const start = paced.length > 0 ? this.round++ % paced.length : 0;
      for (const { row, c } of [...paced.slice(start), ...paced.slice(0, start)]) {
        const n = c.pacer.decide(this.snapshot(row.id, c, now.getTime(), coverage));
        if (n <= 0) continue;
        const placed = await this.handOver(row.id, c, n, now);
        for (let i = 0; i < placed; i++) coverage?.add(row.id);
        handed += placed;
      }
      for (const id of this.campaigns.keys()) if (!running.some((r) => r.id === id)) this.campaigns.delete(id);
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
    return l.keeper.holds(name);
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
        statistics: c?.statistics ?? new CallStatisticsCollector(),
        abandonment: c?.abandonment ?? new AbandonmentMeter(ROLLING_30_DAYS),
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

  /** Which campaigns each agent serves (campaign_agents), for the pool and the pacers. */
  private async loadAssignments(): Promise<void> {
    const rows = await this.db.selectFrom('campaign_agents').select(['agent_id', 'campaign_id']).execute();
    const map = new Map<string, Set<string>>();
    for (const r of rows) {
      const set = map.get(r.agent_id) ?? new Set<string>();
      set.add(r.campaign_id);
      map.set(r.agent_id, set);
    }
    this.dialer.agents.setAssignments(map);
  }

  /** A job taken by another process never reports back here: forget it after a while. */
  private forgetStaleHanded(c: CampaignPacing, nowMs: number): void {
    for (const [id, at] of c.handed) if (at < nowMs - HANDED_TTL_MS) c.handed.delete(id);
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
    if (campaigns.size <= 1) return null;
    const pool = this.dialer.agents;
    const ready = pool.list().filter((a) => a.state === 'ready').map((a) => a.agentId);
    const coverage = new AgentCoverage(ready, (a, campaignId) => pool.serves(a, campaignId));
    // Oldest first: calls already answered, then those ringing, then those still in the queue.
    for (const x of live.filter((l) => l.phase === 'waiting')) coverage.add(x.campaignId);
    for (const x of live.filter((l) => l.phase === 'dialing').sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime())) coverage.add(x.campaignId);
    for (const [id, c] of this.campaigns) for (let i = 0; i < c.handed.size; i++) coverage.add(id);
    return coverage;
  }

  /** What the live dialer looks like to this campaign's pacer right now: its own agents only. */
  snapshot(campaignId: string, c: CampaignPacing, nowMs: number, coverage: AgentCoverage | null = null): PacingSnapshot {
    const agents = this.dialer.agents.list().filter((a) => this.dialer.agents.serves(a.agentId, campaignId));
    const calls = this.dialer.liveCalls().filter((x) => x.campaignId === campaignId);
    while (c.placed.length > 0 && c.placed[0]! < nowMs - 1000) c.placed.shift();
    this.forgetStaleHanded(c, nowMs);
    const ready = agents.filter((a) => a.state === 'ready').length;
    const onTheirWay = [...c.handed.values()].map((at) => (nowMs - at) / 1000);
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

  /** Marks up to n due attempts as handed to the queue (skipping rows another runner holds) and enqueues them. */
  private async handOver(campaignId: string, c: CampaignPacing, n: number, now: Date): Promise<number> {
    const rows = await sql<{ id: string; scheduled_at: Date }>`
      update attempts a set enqueued_at = ${now}
      where a.id in (
        select a2.id from attempts a2 join contacts ct on ct.id = a2.contact_id
        where a2.campaign_id = ${campaignId} and a2.state = 'queued' and a2.enqueued_at is null and a2.scheduled_at <= ${now}
          and not a2.is_callback
        order by ct.priority desc, a2.scheduled_at
        limit ${n}
        for update of a2 skip locked)
      returning a.id, a.scheduled_at`.execute(this.db);
    for (const r of rows.rows) {
      c.handed.set(r.id, now.getTime());
      await enqueueAttempt(this.queue, r.id, r.scheduled_at);
    }
    return rows.rows.length;
  }
}
