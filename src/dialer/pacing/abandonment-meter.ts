// Measures the abandoned-call rate the way regulators count it: calls answered by a live person
// that were not connected to an agent within the grace period (2 s), divided by all calls answered
// by a live person (abandoned ones included; answering machines excluded), per campaign, over
// either a rolling window (FTC/FCC: 30 days) or the calendar day in a given zone (Ofcom: midnight
// to midnight). Events are kept to the second, so the window edges are exact to the second.

import { lowerBound, upperBound } from './call-statistics.js';
import type { AbandonmentStats } from './snapshot.js';
import { startOfLocalDay, startOfNextLocalDay } from './zoned-day.js';

export type AbandonmentWindow =
  /** Events in (now − durationMs, now]. */
  | { readonly kind: 'rolling'; readonly durationMs: number }
  /** Events from the start of the current local day in `timeZone` up to now. */
  | { readonly kind: 'calendarDay'; readonly timeZone: string };

/** US FTC Telemarketing Sales Rule / FCC: per campaign over a rolling 30-day period. */
export const ROLLING_30_DAYS: AbandonmentWindow = { kind: 'rolling', durationMs: 30 * 86_400_000 };

/** UK Ofcom: per campaign per 24 hours, midnight to midnight (UK time by default). */
export function calendarDay(timeZone = 'Europe/London'): AbandonmentWindow {
  return { kind: 'calendarDay', timeZone };
}

/** How late (ms) an event may be recorded relative to the newest one and still be kept. */
const LATE_SLACK_MS = 3_600_000;

export class AbandonmentMeter {
  // Parallel arrays, ascending by time; cum* are running totals up to and including each entry.
  private times: number[] = [];
  private cumPlaced: number[] = [];
  private cumAnswered: number[] = [];
  private cumAbandoned: number[] = [];
  private head = 0;
  private lifetimeAnswered = 0;
  private lifetimeAbandoned = 0;
  private dayStart = Number.NaN;
  private dayEnd = Number.NaN;

  constructor(readonly window: AbandonmentWindow) {
    if (window.kind === 'rolling' && !(window.durationMs > 0)) {
      throw new Error(`A rolling abandonment window needs a positive duration, got ${window.durationMs} ms`);
    }
    if (window.kind === 'calendarDay') startOfLocalDay(0, window.timeZone); // fail fast on a bad zone
  }

  /** A call was originated at `atMs`. */
  recordPlaced(atMs: number): void {
    this.add(atMs, 1, 0, 0);
  }

  /**
   * A live person answered at `atMs`; `abandoned` when no agent was connected within the grace
   * period. Record it once the verdict is known, with the answer time.
   */
  recordLiveAnswered(atMs: number, abandoned: boolean): void {
    this.add(atMs, 0, 1, abandoned ? 1 : 0);
    this.lifetimeAnswered++;
    if (abandoned) this.lifetimeAbandoned++;
  }

  /**
   * Several events of one instant at once (seeding the meter from the record): `placed` calls
   * originated and `liveAnswered` live answers, `abandoned` of them abandoned, at `atMs`.
   */
  recordCounts(atMs: number, placed: number, liveAnswered: number, abandoned: number): void {
    if (placed === 0 && liveAnswered === 0) return;
    this.add(atMs, placed, liveAnswered, abandoned);
    this.lifetimeAnswered += liveAnswered;
    this.lifetimeAbandoned += abandoned;
  }

  /** Counts and rate in the window that ends at `nowMs`. */
  stats(nowMs: number): AbandonmentStats {
    const windowStartMs = this.windowStart(nowMs);
    const times = this.times;
    const startIndex =
      this.window.kind === 'rolling'
        ? upperBoundFrom(times, windowStartMs, this.head)
        : lowerBoundFrom(times, windowStartMs, this.head);
    const endIndex = upperBoundFrom(times, nowMs, this.head);
    const total = (cum: number[]): number =>
      endIndex <= startIndex ? 0 : (cum[endIndex - 1] as number) - (startIndex > 0 ? (cum[startIndex - 1] as number) : 0);
    const liveAnswered = total(this.cumAnswered);
    const abandoned = total(this.cumAbandoned);
    return {
      placed: total(this.cumPlaced),
      liveAnswered,
      abandoned,
      rate: liveAnswered > 0 ? abandoned / liveAnswered : 0,
      windowStartMs,
      lifetimeLiveAnswered: this.lifetimeAnswered,
      lifetimeAbandoned: this.lifetimeAbandoned,
    };
  }

  /** Where the window that ends at `nowMs` starts (events at or before it, for a rolling window, are out). */
  windowStart(nowMs: number): number {
    const w = this.window;
    if (w.kind === 'rolling') return nowMs - w.durationMs;
    if (!(nowMs >= this.dayStart && nowMs < this.dayEnd)) {
      this.dayStart = startOfLocalDay(nowMs, w.timeZone);
      this.dayEnd = startOfNextLocalDay(nowMs, w.timeZone);
    }
    return this.dayStart;
  }

  private retentionMs(): number {
    return this.window.kind === 'rolling' ? this.window.durationMs : 2 * 86_400_000;
  }

  private add(atMs: number, placed: number, answered: number, abandoned: number): void {
    const t = Math.floor(atMs / 1000) * 1000;
    const times = this.times;
    const n = times.length;
    const last = n > this.head ? (times[n - 1] as number) : Number.NEGATIVE_INFINITY;
    if (t < last - this.retentionMs() - LATE_SLACK_MS) return; // too old to matter to any window
    if (t > last) {
      const prev = n > 0 ? n - 1 : -1;
      times.push(t);
      this.cumPlaced.push((prev >= 0 ? (this.cumPlaced[prev] as number) : 0) + placed);
      this.cumAnswered.push((prev >= 0 ? (this.cumAnswered[prev] as number) : 0) + answered);
      this.cumAbandoned.push((prev >= 0 ? (this.cumAbandoned[prev] as number) : 0) + abandoned);
      this.prune(t);
      return;
    }
    // Same second as an existing entry, or late: add in place and carry the totals forward.
    let i = lowerBoundFrom(times, t, this.head);
    if (times[i] !== t) {
      const before = (cum: number[]): number => (i > 0 ? (cum[i - 1] as number) : 0);
      times.splice(i, 0, t);
      this.cumPlaced.splice(i, 0, before(this.cumPlaced));
      this.cumAnswered.splice(i, 0, before(this.cumAnswered));
      this.cumAbandoned.splice(i, 0, before(this.cumAbandoned));
    }
    for (; i < times.length; i++) {
      this.cumPlaced[i] = (this.cumPlaced[i] as number) + placed;
      this.cumAnswered[i] = (this.cumAnswered[i] as number) + answered;
      this.cumAbandoned[i] = (this.cumAbandoned[i] as number) + abandoned;
    }
  }

  private prune(newestMs: number): void {
    const keepFrom = newestMs - this.retentionMs() - LATE_SLACK_MS;
    while (this.head < this.times.length && (this.times[this.head] as number) < keepFrom) this.head++;
    if (this.head > 1024 && this.head * 2 > this.times.length) {
      // Drop the pruned prefix and rebase the running totals so they start from zero again.
      const h = this.head;
      const rebase = (cum: number[]): number[] => {
        const base = cum[h - 1] as number;
        return cum.slice(h).map((v) => v - base);
      };
      this.times = this.times.slice(h);
      this.cumPlaced = rebase(this.cumPlaced);
      this.cumAnswered = rebase(this.cumAnswered);
      this.cumAbandoned = rebase(this.cumAbandoned);
      this.head = 0;
    }
  }
}

function lowerBoundFrom(sorted: readonly number[], value: number, from: number): number {
  return Math.max(from, lowerBound(sorted, value));
}

function upperBoundFrom(sorted: readonly number[], value: number, from: number): number {
  return Math.max(from, upperBound(sorted, value));
}
