// The contract every pacing algorithm meets, and the campaign limits every one of them obeys.
// The live dialer and the simulator both call `decide` on each pacing tick (every second) and
// originate exactly the number of calls it returns.

import { activeCalls, workingAgents, type PacingSnapshot } from './snapshot.js';

export interface Pacer {
  /** Short name for logs and benchmark tables. */
  readonly name: string;
  /**
   * How many NEW calls to originate now. Always a whole number ≥ 0, 0 when no agent is logged
   * in (unpaused), and within the campaign's concurrent-call and calls-per-second limits.
   * May update the pacer's own state (controllers, averages), so call it once per tick.
   */
  decide(snapshot: PacingSnapshot): number;
}

/**
 * Clamps a wanted number of new calls to what the campaign allows right now: nothing without a
 * working agent, no more than the concurrent-call headroom, no more than the calls-per-second
 * budget left in the current second.
 */
export function applyCampaignLimits(wanted: number, snapshot: PacingSnapshot): number {
  if (!Number.isFinite(wanted) || wanted <= 0) return 0;
  if (workingAgents(snapshot.agents) === 0) return 0;
  const { maxConcurrentCalls, maxCallsPerSecond } = snapshot.limits;
  const concurrentHeadroom = Math.floor(maxConcurrentCalls) - activeCalls(snapshot);
  const cpsHeadroom = Math.floor(maxCallsPerSecond) - snapshot.calls.placedInLastSecond;
  return Math.max(0, Math.min(Math.floor(wanted), concurrentHeadroom, cpsHeadroom));
}
