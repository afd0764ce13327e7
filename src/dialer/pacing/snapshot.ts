// The live statistics a pacer decides from. The live dialer fills one of these on every pacing
// tick from its agent pool, its calls in progress, a CallStatisticsCollector and an
// AbandonmentMeter; the simulator fills it the same way from its own state. A pacer sees only
// this: nothing about how a call in progress will end.

/** What the campaign allows; the pacer never exceeds these. */
export interface CampaignPacingLimits {
  /** Highest abandoned/live-answered ratio allowed, e.g. 0.03 (FTC TSR, Ofcom) or 0.01. */
  readonly abandonCap: number;
  /** Calls the campaign may have up at once: dialing + answered-waiting + bridged to an agent. */
  readonly maxConcurrentCalls: number;
  /** New calls per second (the campaign's, already capped by its trunks' limits). */
  readonly maxCallsPerSecond: number;
}

export interface AgentsSnapshot {
  /** Logged in, ready, and not reserved for a call. */
  readonly ready: number;
  /** Ready but held for an answered call that is being bridged to them. */
  readonly reserved: number;
  /** One entry per agent talking to a customer of this campaign: seconds talked so far. */
  readonly onCallTalkSec: readonly number[];
  /** One entry per agent in wrap-up: seconds spent in wrap-up so far. */
  readonly wrapUpSec: readonly number[];
  /** Logged in but paused (not counted as available, now or soon). */
  readonly paused: number;
  /**
   * Ready agents that no call in progress will need, counting the calls of every campaign these
   * agents also serve (see AgentCoverage). Set by the live runner; when absent, `ready` minus
   * this campaign's own calls dialing or waiting.
   */
  readonly uncoveredReady?: number;
}

export interface CallsSnapshot {
  /** One entry per call originated but neither answered nor failed yet: seconds since originate. */
  readonly dialingAgeSec: readonly number[];
  /** Live-answered calls not yet bridged to an agent (inside the abandonment grace period). */
  readonly waitingForAgent: number;
  /** Calls originated during the last second (for the calls-per-second limit). */
  readonly placedInLastSecond: number;
}

/** Recent history of finished attempts and talks, from a CallStatisticsCollector. */
export interface CallStatistics {
  /** Finished attempts (answered by a person, or failed/no answer) in the recent sample. */
  readonly completedAttempts: number;
  /** Of those, answered by a live person (machines, if detected, count as not answered). */
  readonly liveAnswers: number;
  /** Originate-to-answer seconds of recent live-answered calls, sorted ascending. */
  readonly answerDelaySecSorted: readonly number[];
  /** Originate-to-give-up seconds of recent unanswered attempts (no answer, busy, failed), sorted ascending. */
  readonly noAnswerDelaySecSorted: readonly number[];
  /** Talk durations of recently finished calls, sorted ascending. */
  readonly talkSecSorted: readonly number[];
  /** Mean of talkSecSorted; undefined before the first finished call. */
  readonly meanTalkSec: number | undefined;
  /** Mean wrap-up time of recent wrap-ups; undefined before the first one. */
  readonly meanWrapUpSec: number | undefined;
}

/** The abandoned-call rate as a regulator counts it, over the campaign's measurement window. */
export interface AbandonmentStats {
  /** Calls originated in the window. */
  readonly placed: number;
  /** Calls answered by a live person in the window (abandoned ones included). */
  readonly liveAnswered: number;
  /** Live-answered calls not connected to an agent within the grace period, in the window. */
  readonly abandoned: number;
  /** abandoned / liveAnswered, 0 when nothing was answered. */
  readonly rate: number;
  /** Start of the window (epoch ms). */
  readonly windowStartMs: number;
  /** Monotonic totals since the meter was created (never reset by the window). */
  readonly lifetimeLiveAnswered: number;
  readonly lifetimeAbandoned: number;
}

export interface PacingSnapshot {
  /** Epoch milliseconds. */
  readonly nowMs: number;
  readonly limits: CampaignPacingLimits;
  readonly agents: AgentsSnapshot;
  readonly calls: CallsSnapshot;
  readonly statistics: CallStatistics;
  readonly abandonment: AbandonmentStats;
}

/** Agents who are logged in and not paused: the only ones a pacer may dial for. */
export function workingAgents(agents: AgentsSnapshot): number {
  return agents.ready + agents.reserved + agents.onCallTalkSec.length + agents.wrapUpSec.length;
}

/** Calls holding a channel on the campaign's trunks now. */
export function activeCalls(snapshot: PacingSnapshot): number {
  return (
    snapshot.calls.dialingAgeSec.length +
    snapshot.calls.waitingForAgent +
    snapshot.agents.reserved +
    snapshot.agents.onCallTalkSec.length
  );
}
