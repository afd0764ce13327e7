// The CDR's durations, from the call's instants (pure; unit-tested). Every duration is null when
// the instants it needs were not observed, never a guess:
//   ring    = ringing → answered, or → ended when never answered (null without a ringing signal)
//   talk    = joined to an agent → ended (null when never joined); it includes time on hold
//   hold    = the sum of the customer's hold intervals (ARI ChannelHold/ChannelUnhold), an open
//             hold counted to the end; null when holds could not be observed
//   wrap-up = ended → the agent's disposition (null until there is one)

export interface CallInstants {
  ringingAt: Date | null;
  answeredAt: Date | null;
  bridgedAt: Date | null;
  endedAt: Date | null;
  /** Hold intervals in order; `to` null while still on hold. Null when holds were not observed. */
  holds: { from: Date; to: Date | null }[] | null;
  dispositionAt?: Date | null;
}

export interface CallDurations {
  ringMs: number | null;
  talkMs: number | null;
  holdMs: number | null;
  wrapupMs: number | null;
}

const span = (from: Date | null | undefined, to: Date | null | undefined): number | null =>
  from && to ? Math.max(0, to.getTime() - from.getTime()) : null;

export function callDurations(c: CallInstants): CallDurations {
  const end = c.endedAt;
  let holdMs: number | null = null;
  if (c.holds) {
    holdMs = 0;
    for (const h of c.holds) holdMs += span(h.from, h.to ?? end) ?? 0;
  }
  return {
    ringMs: span(c.ringingAt, c.answeredAt ?? end),
    talkMs: span(c.bridgedAt, end),
    holdMs,
    wrapupMs: span(end, c.dispositionAt ?? null),
  };
}

/** Hold intervals from hold/unhold signals in arrival order; a repeated hold or an unhold
 * without a hold (a lost event) is ignored rather than inventing an interval. */
export class HoldTracker {
  private readonly intervals: { from: Date; to: Date | null }[] = [];

  hold(at: Date): void {
    const last = this.intervals.at(-1);
    if (last && last.to === null) return;
    this.intervals.push({ from: at, to: null });
  }

  unhold(at: Date): void {
    const last = this.intervals.at(-1);
    if (last && last.to === null) last.to = at;
  }

  get holds(): { from: Date; to: Date | null }[] {
    return this.intervals.map((h) => ({ ...h }));
  }
}
