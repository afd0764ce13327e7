// Which calls in progress the ready agents can cover, when agents serve several campaigns.
// A call that is dialing or answered-and-waiting will need one ready agent who serves its
// campaign, whichever campaign placed it; a campaign's pacer may only count the ready agents
// that no such call needs. That is a bipartite matching (calls × ready agents): this keeps a
// maximum one, grown call by call with augmenting paths (Kuhn), so "may campaign K place one
// more call that is sure to find an agent?" is "does the matching grow by one?". Pure: no I/O.
// With several nodes a call can only be taken by an agent on the node that placed it (media never
// crosses nodes): a call added with its node is matched only to agents `serves` puts on that node.

/** Whether the agent can take a call of the campaign (placed on `node`, when one is named). */
export type Serves = (agentId: string, campaignId: string, node?: string) => boolean;

export class AgentCoverage {
  /** Calls added so far, by index: their campaign and the agent matched to them (or null). */
  private readonly calls: { campaignId: string; node: string | undefined; agent: number | null }[] = [];
  /** For each ready agent (by index), the call matched to it, or null. */
  private readonly agentCall: (number | null)[];

  constructor(
    private readonly agents: readonly string[],
    private readonly serves: Serves,
  ) {
    this.agentCall = agents.map(() => null);
  }

  /** Calls currently matched to an agent. */
  get covered(): number {
    return this.calls.filter((c) => c.agent !== null).length;
  }

  /**
   * Adds a call that will need an agent of its campaign; returns whether it is covered (the
   * matching grew). An uncovered call stays counted as demand but holds no agent.
   */
  add(campaignId: string, node?: string): boolean {
    const i = this.calls.length;
    this.calls.push({ campaignId, node, agent: null });
    return this.augment(i, new Set(), -1);
  }

  /** How many more calls of this campaign (placed on `node`, or any) could be covered now (at most `max`), without adding them. */
  headroom(campaignId: string, max: number, node?: string): number {
    if (max <= 0) return 0;
    const copy = this.clone();
    let n = 0;
    while (n < max && copy.add(campaignId, node)) n++;
    return n;
  }

  /**
   * Whether taking this ready agent away leaves every covered call covered: it is unmatched, or
   * the call it holds can move to another agent.
   */
  spare(agentId: string): boolean {
    const a = this.agents.indexOf(agentId);
    if (a < 0) return false;
    const call = this.agentCall[a];
    if (call === null || call === undefined) return true;
    const copy = this.clone();
    copy.agentCall[a] = null;
    copy.calls[call]!.agent = null;
    return copy.augment(call, new Set(), a);
  }

  private clone(): AgentCoverage {
    const c = new AgentCoverage(this.agents, this.serves);
    for (const x of this.calls) c.calls.push({ ...x });
    for (let i = 0; i < this.agentCall.length; i++) c.agentCall[i] = this.agentCall[i]!;
    return c;
  }

  /** Kuhn's augmenting path from call i; `banned` is an agent index it may not use. */
  private augment(i: number, seen: Set<number>, banned: number): boolean {
    const call = this.calls[i]!;
    for (let a = 0; a < this.agents.length; a++) {
      if (a === banned || seen.has(a) || !this.serves(this.agents[a]!, call.campaignId, call.node)) continue;
      seen.add(a);
      const holder = this.agentCall[a];
      if (holder === null || holder === undefined || this.augment(holder, seen, banned)) {
        this.agentCall[a] = i;
        call.agent = a;
        return true;
      }
    }
    return false;
  }
}
