// Calendar arithmetic in an IANA time zone, for measurement windows that run midnight to
// midnight (Ofcom counts abandoned calls per 24 h from midnight; VICIdial counts drops "today"
// in server time). Daylight-saving days are 23 or 25 hours long, and a few zones skip midnight
// itself; both are handled by searching for the first instant whose local date is the day.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalDateTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** The wall-clock date and time at `instantMs` in `timeZone` (throws RangeError on an unknown zone). */
export function localDateTime(instantMs: number, timeZone: string): LocalDateTime {
  const parts = formatter(timeZone).formatToParts(new Date(instantMs));
  const get = (type: Intl.DateTimeFormatPartTypes): number => {
    const part = parts.find((p) => p.type === type);
    return part === undefined ? 0 : Number(part.value);
  };
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

function dayNumber(t: LocalDateTime): number {
  return Date.UTC(t.year, t.month - 1, t.day) / 86_400_000;
}

/** Offset of the zone from UTC at `instantMs`, in ms (wall clock minus UTC). */
function offsetMs(instantMs: number, timeZone: string): number {
  const t = localDateTime(instantMs, timeZone);
  const wall = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return wall - Math.floor(instantMs / 1000) * 1000;
}

/** First instant (epoch ms, whole seconds) of the local calendar day containing `instantMs`. */
export function startOfLocalDay(instantMs: number, timeZone: string): number {
  const target = dayNumber(localDateTime(instantMs, timeZone));
  const wallMidnight = target * 86_400_000;
  // Two fixed-point steps find local midnight when it exists.
  let guess = wallMidnight - offsetMs(wallMidnight, timeZone);
  guess = wallMidnight - offsetMs(guess, timeZone);
  // If midnight was skipped (or the guess landed a day off), search between bounds that surely
  // straddle the start of the day: 26 h before and the instant itself.
  const onTarget = (t: number): boolean => dayNumber(localDateTime(t, timeZone)) >= target;
  if (onTarget(guess) && !onTarget(guess - 1000)) return guess;
  let lo = Math.min(guess, instantMs) - 26 * 3_600_000; // not on target
  let hi = Math.floor(instantMs / 1000) * 1000; // on target
  while (hi - lo > 1000) {
    const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
    if (onTarget(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Start of the next local day after the one containing `instantMs`. */
export function startOfNextLocalDay(instantMs: number, timeZone: string): number {
  const start = startOfLocalDay(instantMs, timeZone);
  // 36 h after a day's start is always inside the next day (days are 23–25 h long).
  return startOfLocalDay(start + 36 * 3_600_000, timeZone);
}
