// Calling windows and closed dates as wall-clock arithmetic: is a local minute open, and when does
// the next open local minute come, both in one zone and across several (multi-zone numbers).
import type { Blackout, CallingWindow, Holiday } from '../policy.js';
import { WEEKDAYS } from '../policy.js';
import { DAY, MINUTE, civilFromDays, formatMinute, nextTransitionAfter, offsetAt, weekdayOfDay } from './local-time.js';

/** [start, end) in minutes of the local day; end is exclusive (21:00 closes at 21:00). */
export type MinuteRange = readonly [number, number];

export interface WindowSet {
  /** Where the windows come from, for explanations: "us-federal", "us-federal region US-FL". */
  source: string;
  /** Index 0 = Sunday; sorted, merged, possibly empty (no calls that day). */
  byDay: MinuteRange[][];
}

const toMinute = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

function merge(ranges: MinuteRange[]): MinuteRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [s, e] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

export function compileWindows(source: string, windows: readonly CallingWindow[]): WindowSet {
  const byDay: MinuteRange[][] = WEEKDAYS.map(() => []);
  for (const w of windows) {
    for (const d of w.days) byDay[WEEKDAYS.indexOf(d)]!.push([toMinute(w.start), toMinute(w.end)]);
  }
  return { source, byDay: byDay.map(merge) };
}

export function intersect(a: readonly MinuteRange[], b: readonly MinuteRange[]): MinuteRange[] {
  const out: MinuteRange[] = [];
  let i = 0, j = 0;
  while (i < a.length && j < b.length) {
    const [as, ae] = a[i]!;
    const [bs, be] = b[j]!;
    const s = Math.max(as, bs), e = Math.min(ae, be);
    if (s < e) out.push([s, e]);
    if (ae < be) i++; else j++;
  }
  return out;
}

export const inRanges = (ranges: readonly MinuteRange[], minute: number): boolean => {
  for (const [s, e] of ranges) if (minute >= s && minute < e) return true;
  return false;
};

export const describeRanges = (ranges: readonly MinuteRange[]): string =>
  ranges.length === 0 ? 'no calls' : ranges.map(([s, e]) => `${formatMinute(s)}-${formatMinute(e)}`).join(', ');

/** Holidays and blackouts that apply to one region, as day numbers (and MM-DD for yearly ones). */
export interface ClosedDates {
  days: Map<number, string>;
  yearly: Map<number, string>;
  ranges: { from: number; to: number; label: string }[];
  readonly size: number;
}

const dayNumber = (ymd: string): number => Date.UTC(Number(ymd.slice(0, 4)), Number(ymd.slice(5, 7)) - 1, Number(ymd.slice(8, 10))) / DAY;

export const regionMatches = (key: string, region: string | null): boolean =>
  region !== null && (region === key || region.startsWith(`${key}-`));

export function compileClosedDates(holidays: readonly Holiday[], blackouts: readonly Blackout[], region: string | null): ClosedDates {
  const days = new Map<number, string>();
  const yearly = new Map<number, string>();
  const ranges: ClosedDates['ranges'] = [];
  const applies = (regions: readonly string[] | undefined): boolean => regions === undefined || regions.some((k) => regionMatches(k, region));
  for (const h of holidays) {
    if (!applies(h.regions)) continue;
    const label = `holiday ${h.name}`;
    if (h.date.length === 5) yearly.set(Number(h.date.slice(0, 2)) * 100 + Number(h.date.slice(3, 5)), label);
    else days.set(dayNumber(h.date), label);
  }
  for (const b of blackouts) {
    if (applies(b.regions)) ranges.push({ from: dayNumber(b.from), to: dayNumber(b.to), label: `blackout${b.reason ? ` ${b.reason}` : ''}` });
  }
  return { days, yearly, ranges, size: days.size + yearly.size + ranges.length };
}

/** Why a local day is closed, or null when it is not. */
export function closedReason(c: ClosedDates, day: number): string | null {
  if (c.size === 0) return null;
  const fixed = c.days.get(day);
  if (fixed !== undefined) return fixed;
  if (c.yearly.size > 0) {
    const { m, d } = civilFromDays(day);
    const y = c.yearly.get(m * 100 + d);
    if (y !== undefined) return y;
  }
  for (const r of c.ranges) if (day >= r.from && day <= r.to) return r.label;
  return null;
}

/** Everything the next-open search needs: intersected windows per weekday and closed dates. */
export interface OpenSchedule {
  /** null = no hours restriction. */
  byDay: MinuteRange[][] | null;
  closed: ClosedDates[];
}

export function combineSchedule(sets: readonly WindowSet[], closed: readonly ClosedDates[]): OpenSchedule {
  let byDay: MinuteRange[][] | null = null;
  for (const s of sets) byDay = byDay === null ? s.byDay.map((r) => [...r]) : byDay.map((r, i) => intersect(r, s.byDay[i]!));
  return { byDay, closed: closed.filter((c) => c.size > 0) };
}

/** Earliest wall-clock value ≥ wall that is open, scanning days up to limitWall; null if none. */
function nextOpenWall(s: OpenSchedule, wall: number, limitWall: number): number | null {
  let day = Math.floor(wall / DAY);
  const minute = Math.floor((wall - day * DAY) / MINUTE);
  for (let first = true; day * DAY <= limitWall; day++, first = false) {
    if (s.closed.some((c) => closedReason(c, day) !== null)) continue;
    const ranges = s.byDay === null ? [[0, 1440] as const] : s.byDay[weekdayOfDay(day)]!;
    for (const [rs, re] of ranges) {
      if (!first) return day * DAY + rs * MINUTE;
      if (minute < re) return minute >= rs ? wall : day * DAY + rs * MINUTE;
    }
  }
  return null;
}

/**
 * Earliest instant ≥ t at which zone's local clock is open, or null before limit. Walks the
 * stretches of constant UTC offset, so spring-forward gaps and repeated fall-back hours are exact.
 */
export function nextOpenInZone(s: OpenSchedule, zone: string, t: number, limit: number): number | null {
  while (t <= limit) {
    const o = offsetAt(zone, t);
    const tr = nextTransitionAfter(zone, t, limit);
    const segEnd = tr ?? limit;
    const w = nextOpenWall(s, t + o, segEnd + o);
    if (w !== null && w - o < segEnd) return w - o;
    if (w !== null && tr === null && w - o <= limit) return w - o;
    if (tr === null) return null;
    t = tr;
  }
  return null;
}

/** Earliest instant ≥ t open in every zone at once (multi-zone numbers), or null before limit. */
export function nextOpenInAllZones(s: OpenSchedule, zones: readonly string[], t: number, limit: number): number | null {
  for (let guard = 0; guard < 100_000; guard++) {
    let moved = false;
    for (const z of zones) {
      const n = nextOpenInZone(s, z, t, limit);
      if (n === null) return null;
      if (n > t) { t = n; moved = true; }
    }
    if (!moved) return t;
  }
  return null;
}
