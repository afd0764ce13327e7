// Calling hours and closed dates in the callee's local time. A multi-zone number passes only if
// every one of its zones is inside every applicable window and on an open day.
import { WEEKDAYS } from '../policy.js';
import { DAY, MINUTE, formatDay, formatMinute, formatWall, weekdayOfDay } from './local-time.js';
import type { JsonValue, RuleResult } from './types.js';
import { closedReason, describeRanges, inRanges, type ClosedDates, type WindowSet } from './windows.js';

/** A zone's local wall-clock reading at the decision instant. */
export interface LocalReading {
  zone: string;
  wall: number;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

export function evaluateHours(sets: readonly WindowSet[], policy: string, readings: readonly LocalReading[]): RuleResult | null {
  if (sets.length === 0) return null;
  const zones: JsonValue[] = [];
  let failure: string | null = null;
  const seen: string[] = [];
  for (const { zone, wall } of readings) {
    const day = Math.floor(wall / DAY);
    const minute = Math.floor((wall - day * DAY) / MINUTE);
    const wd = weekdayOfDay(day);
    const windows: { [k: string]: JsonValue } = {};
    let inside = true;
    for (const s of sets) {
      const ranges = s.byDay[wd]!;
      windows[s.source] = describeRanges(ranges);
      if (!inRanges(ranges, minute)) {
        inside = false;
        failure ??= ranges.length === 0
          ? `${DAY_NAMES[wd]} ${formatMinute(minute)} in ${zone}: no calls on ${DAY_NAMES[wd]} under ${s.source}`
          : `${DAY_NAMES[wd]} ${formatMinute(minute)} in ${zone} is outside the ${s.source} window ${describeRanges(ranges)}`;
      }
    }
    seen.push(`${DAY_NAMES[wd]} ${formatMinute(minute)} in ${zone}`);
    zones.push({ zone, local: formatWall(wall), weekday: WEEKDAYS[wd]!, windows, inside });
  }
  const passed = failure === null;
  const detail = passed ? `${seen.join(', ')}: inside the calling window` : failure!;
  return { reason: { rule: 'hours', policy, passed, detail, inputs: { zones } } };
}

export function evaluateCalendar(closed: ClosedDates, policy: string, region: string | null, readings: readonly LocalReading[]): RuleResult | null {
  if (closed.size === 0) return null;
  const days: JsonValue[] = [];
  let failure: string | null = null;
  for (const { zone, wall } of readings) {
    const day = Math.floor(wall / DAY);
    const why = closedReason(closed, day);
    days.push({ zone, date: formatDay(day), closed: why });
    if (why !== null) failure ??= `${formatDay(day)} in ${zone} is a closed day (${why})${region ? ` for ${region}` : ''}: no calls`;
  }
  const passed = failure === null;
  const detail = passed ? `${days.length === 1 ? 'local date is not' : 'no local date is'} a holiday or blackout${region ? ` for ${region}` : ''}` : failure!;
  return { reason: { rule: 'calendar', policy, passed, detail, inputs: { region, days } } };
}
