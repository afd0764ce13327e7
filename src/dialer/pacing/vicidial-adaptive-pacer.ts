// A model of VICIdial's adaptive predictive dialing (dial methods ADAPT_HARD_LIMIT, ADAPT_TAPERED
// and ADAPT_AVERAGE), the open-source baseline Dialwell's pacer is measured against. Written from
// reading VICIdial's AST_VDadapt.pl (which sets the dial level) and AST_VDauto_dial.pl (which
// places calls from it); this is our model of them, not their code, and it leaves out what a
// single outbound campaign in the simulator never exercises (inbound blending, drop-rate groups,
// dial-level thresholds, shared agents, "available only" tally thresholds).
//
// The model, as we read it:
// - Every second, sample: agents READY (waiting for a call), calls LIVE (answered, waiting for an
//   agent) and agents logged in. Keep the last 15 samples.
// - Every 15 s, re-compute the dial level:
//     differential = mean(ready agents) − mean(waiting calls) + adaptive_dl_diff_target
//     level ← level × (1 + differential / mean(agents))  (intensity 0; with intensity i the
//             relative change is scaled by (1 + i/100) when positive, |i/100 − 1| when negative)
//   then cap at adaptive_maximum_level (default 3.0) and floor at 1.0.
// - Every 60 s, refresh the drop statistics: drops / live answers since midnight (server time)
//   and drops / calls over the last minute.
// - After the level is computed: if over the last minute more than 20 calls were placed and more
//   than 50% of them dropped, halve the level. If more than 50 calls were placed today and today's
//   drop % exceeds adaptive_dropped_percentage:
//     ADAPT_HARD_LIMIT: level = 1.0;
//     ADAPT_AVERAGE:    level = level / 2;
//     ADAPT_TAPERED:    level = level × min(1, (latest_server_time − HHMM) / 1000), where HHMM is the
//                       server's clock read as a number (13:45 → 1345; VICIdial's own arithmetic,
//                       so "1000" is ten hours only roughly), and 1.0 once past latest_server_time.
//   The level never goes below 1.0.
// - The dialer (AST_VDauto_dial.pl) then keeps round(level × agents) lines up, where agents are
//   the unpaused logged-in agents (READY + INCALL; only READY with available_only_ratio_tally),
//   counting every call of the campaign that is dialing, waiting or with an agent; each loop it
//   places the difference. Here that loop runs on every pacing tick (1 s).
// Unlike Dialwell's pacer, it does not look at how long agents have talked or how old ringing
// calls are, and it reacts to the cap only after the day's rate is already over it.

import { applyCampaignLimits, type Pacer } from './pacer.js';
import { activeCalls, workingAgents, type PacingSnapshot } from './snapshot.js';
import { localDateTime } from './zoned-day.js';

export type VicidialDialMethod = 'ADAPT_HARD_LIMIT' | 'ADAPT_TAPERED' | 'ADAPT_AVERAGE';

export interface VicidialAdaptiveOptions {
  readonly dialMethod?: VicidialDialMethod;
  /** auto_dial_level at the start. Default 1.0. */
  readonly initialDialLevel?: number;
  /** adaptive_maximum_level. Default 3.0. */
  readonly maximumLevel?: number;
  /** adaptive_intensity, −40..40. Default 0. */
  readonly intensity?: number;
  /** adaptive_dl_diff_target: −1 aims for one agent waiting, +1 for one customer waiting. Default 0. */
  readonly diffTarget?: number;
  /** adaptive_latest_server_time as HHMM. Default 2100. */
  readonly latestServerTime?: number;
  /** Server time zone (for HHMM and "since midnight"). Default 'UTC'. */
  readonly serverTimeZone?: string;
  /** available_only_ratio_tally: count only READY agents for the goal. Default false. */
  readonly availableOnlyRatioTally?: boolean;
  /** Seconds between dial level re-computations. Default 15. */
  readonly recomputeEverySec?: number;
  /** Seconds between drop statistic refreshes. Default 60. */
  readonly dropStatsEverySec?: number;
}

interface Sample {
  ready: number;
  waiting: number;
  agents: number;
}

export class VicidialAdaptivePacer implements Pacer {
  readonly name: string;
  private readonly o: Required<VicidialAdaptiveOptions>;
  private level: number;
  private readonly samples: Sample[] = [];
  private lastRecomputeMs: number | undefined;
  private lastDropStatsMs: number | undefined;
  // Drop statistics as of the last refresh.
  private todayPlaced = 0;
  private todayDropPct = 0;
  private oneMinutePlaced = 0;
  private oneMinuteDropPct = 0;
  /** adaptive_dropped_percentage, from the campaign's cap. */
  private capPct = 3;
  // Cumulative counters seen at each refresh, for the last-minute figures.
  private readonly history: { atMs: number; placed: number; abandoned: number; dayStartMs: number }[] = [];

  constructor(options: VicidialAdaptiveOptions = {}, name?: string) {
    this.o = {
      dialMethod: options.dialMethod ?? 'ADAPT_TAPERED',
      initialDialLevel: options.initialDialLevel ?? 1,
      maximumLevel: options.maximumLevel ?? 3,
      intensity: options.intensity ?? 0,
      diffTarget: options.diffTarget ?? 0,
      latestServerTime: options.latestServerTime ?? 2100,
      serverTimeZone: options.serverTimeZone ?? 'UTC',
      availableOnlyRatioTally: options.availableOnlyRatioTally ?? false,
      recomputeEverySec: options.recomputeEverySec ?? 15,
      dropStatsEverySec: options.dropStatsEverySec ?? 60,
    };
    this.level = this.o.initialDialLevel;
    this.name = name ?? `vicidial ${this.o.dialMethod}`;
  }

  /** The current auto_dial_level. */
  dialLevel(): number {
    return this.level;
  }

  decide(snapshot: PacingSnapshot): number {
    const { agents, calls } = snapshot;
    const working = workingAgents(agents);
    this.samples.push({ ready: agents.ready, waiting: calls.waitingForAgent, agents: working + agents.paused });
    if (this.samples.length > 15) this.samples.shift();

    const now = snapshot.nowMs;
    if (this.lastDropStatsMs === undefined || now - this.lastDropStatsMs >= this.o.dropStatsEverySec * 1000) {
      this.refreshDropStats(snapshot);
      this.lastDropStatsMs = now;
    }
    if (this.lastRecomputeMs === undefined) this.lastRecomputeMs = now;
    else if (now - this.lastRecomputeMs >= this.o.recomputeEverySec * 1000) {
      this.recomputeLevel(now);
      this.lastRecomputeMs = now;
    }

    if (working === 0) return 0;
    // Unpaused agents: READY, QUEUE (reserved) and INCALL, which in VICIdial lasts until the
    // agent dispositions, so wrap-up counts too.
    const counted = this.o.availableOnlyRatioTally ? agents.ready : working;
    const goal = Math.round(this.level * Math.max(0, counted + this.o.diffTarget));
    // With available-only tally, calls already with agents are added to the goal (as VICIdial does).
    const withAgents = agents.onCallTalkSec.length + agents.reserved;
    const lines = this.o.availableOnlyRatioTally ? goal + withAgents : goal;
    return applyCampaignLimits(lines - activeCalls(snapshot), snapshot);
  }

  private recomputeLevel(nowMs: number): void {
    const n = this.samples.length;
    if (n === 0) return;
    let ready = 0;
    let waiting = 0;
    let agents = 0;
    for (const s of this.samples) {
      ready += s.ready;
      waiting += s.waiting;
      agents += s.agents;
    }
    const agentsAvg = agents / n;
    if (agentsAvg <= 0) return; // VICIdial skips campaigns with no agents
    const differential = ready / n - waiting / n + this.o.diffTarget;
    const mul = differential !== 0 ? differential / agentsAvg : 0;
    const intensity = this.o.intensity / 100;
    const intensified = mul < 0 ? mul * Math.abs(intensity - 1) : mul * (intensity + 1);
    let level = this.level * (1 + intensified);
    if (level > this.o.maximumLevel) level = this.o.maximumLevel;
    if (level < 1) level = 1;

    if (this.oneMinutePlaced > 20 && this.oneMinuteDropPct > 50) level /= 2;
    if (this.todayPlaced > 50 && this.todayDropPct > this.capPct) {
      switch (this.o.dialMethod) {
        case 'ADAPT_HARD_LIMIT':
          level = 1;
          break;
        case 'ADAPT_AVERAGE':
          level /= 2;
          break;
        case 'ADAPT_TAPERED': {
          const t = localDateTime(nowMs, this.o.serverTimeZone);
          const hoursLeft = this.o.latestServerTime - (t.hour * 100 + t.minute);
          level = hoursLeft < 0 ? 1 : level * Math.min(1, hoursLeft / 1000);
          break;
        }
      }
    }
    this.level = Math.max(1, level);
  }

  private refreshDropStats(snapshot: PacingSnapshot): void {
    const ab = snapshot.abandonment;
    this.capPct = snapshot.limits.abandonCap * 100;
    this.todayPlaced = ab.placed;
    this.todayDropPct = ab.liveAnswered > 0 ? (100 * ab.abandoned) / Math.max(1, ab.liveAnswered) : 0;
    const now = snapshot.nowMs;
    this.history.push({ atMs: now, placed: ab.placed, abandoned: ab.abandoned, dayStartMs: ab.windowStartMs });
    while (this.history.length > 2 && now - (this.history[1]?.atMs ?? now) >= 60_000) this.history.shift();
    const first = this.history[0];
    if (first !== undefined && first.atMs < now && first.dayStartMs === ab.windowStartMs) {
      this.oneMinutePlaced = ab.placed - first.placed;
      const drops = ab.abandoned - first.abandoned;
      this.oneMinuteDropPct = this.oneMinutePlaced > 0 ? (100 * drops) / this.oneMinutePlaced : 0;
    } else {
      this.oneMinutePlaced = 0;
      this.oneMinuteDropPct = 0;
    }
  }
}
