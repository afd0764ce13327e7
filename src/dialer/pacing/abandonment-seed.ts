// A campaign's abandonment meter rebuilt from the record: a pacer that takes a campaign (its lease
// moved from another engine, or the campaign runs again) would otherwise start with an empty meter
// and a zero rate, and could dial past the abandonment cap the earlier pacer was holding. The
// calls are counted exactly as the live pacer counts them: each call once as placed (at its
// start), and once ended, an answer by a live person (not a machine) at its answer time,
// abandoned or not. Pure: the runner reads the calls (src/dialer/campaign-runner.ts).
import type { AbandonmentMeter } from './abandonment-meter.js';

/** The calls of one second (seconds since the epoch), already counted as the meter counts them. */
export interface AbandonmentBucket {
  sec: number;
  placed: number;
  liveAnswered: number;
  abandoned: number;
}

/** One call as the record shows it. */
export interface MeteredCall {
  placedAtMs: number;
  answeredAtMs: number | null;
  /** Whether it has ended (the verdict on an answer is known only then). */
  ended: boolean;
  outcome: string | null;
}

/** The live answer a call counts for, if any: answered by a person, not a machine. */
export function liveAnswerOf(c: { answeredAtMs: number | null; outcome: string | null }): { atMs: number; abandoned: boolean } | null {
  if (c.answeredAtMs === null || c.outcome === 'machine') return null;
  return { atMs: c.answeredAtMs, abandoned: c.outcome === 'abandoned' };
}

/**
 * Feeds the meter the calls of the record: per-second buckets (older calls, counted in the
 * database) and single calls (recent ones, which the caller also remembers so that their live
 * events are not counted twice). `skip` says which single calls' placement or answer the meter
 * already has. Events go in in time order (the meter appends those cheaply).
 */
export function seedAbandonmentMeter(
  meter: AbandonmentMeter,
  buckets: readonly AbandonmentBucket[],
  calls: readonly (MeteredCall & { skipPlaced?: boolean; skipAnswer?: boolean })[],
): void {
  const events: { atMs: number; placed: number; answered: number; abandoned: number }[] = buckets.map((b) => ({ atMs: b.sec * 1000, placed: b.placed, answered: b.liveAnswered, abandoned: b.abandoned }));
  for (const c of calls) {
    if (!c.skipPlaced) events.push({ atMs: c.placedAtMs, placed: 1, answered: 0, abandoned: 0 });
    const answer = c.ended && !c.skipAnswer ? liveAnswerOf(c) : null;
    if (answer) events.push({ atMs: answer.atMs, placed: 0, answered: 1, abandoned: answer.abandoned ? 1 : 0 });
  }
  events.sort((a, b) => a.atMs - b.atMs);
  for (const e of events) meter.recordCounts(e.atMs, e.placed, e.answered, e.abandoned);
}
