// Progressive dialing: one line per free agent. A call is placed for each ready (unreserved)
// agent that has no call already dialing or waiting for them, so an answered customer always
// finds an agent and nothing is abandoned by the pacer's own doing.

import { applyCampaignLimits, type Pacer } from './pacer.js';
import type { PacingSnapshot } from './snapshot.js';

/** Free agents not yet covered by a call in progress: what progressive dialing places. */
export function uncoveredReadyAgents(snapshot: PacingSnapshot): number {
  const { agents, calls } = snapshot;
  // Agents shared with other campaigns: their calls in progress count too.
  if (agents.uncoveredReady !== undefined) return Math.max(0, agents.uncoveredReady);
  return Math.max(0, agents.ready - calls.dialingAgeSec.length - calls.waitingForAgent);
}

export class ProgressivePacer implements Pacer {
  readonly name = 'progressive';

  decide(snapshot: PacingSnapshot): number {
    return applyCampaignLimits(uncoveredReadyAgents(snapshot), snapshot);
  }
}
