// Callee local time without a time-zone library: UTC offsets of an IANA zone from Intl, turned
// once per zone and year into a transition table so the dial path never formats dates and the
// next-allowed search can walk DST changes exactly.
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatter(zone: string): Intl.DateTimeFormat | null {
  let f = formatters.get(zone);
  if (f === undefined) {
    try {
      f = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
      });
    } catch {
      f = null; // RangeError: not an IANA zone this runtime knows
    }
    if (formatters.size > 1000) formatters.clear();
    formatters.set(zone, f);
  }
  return f;
}

/** True for zones Intl knows; "Etc/Unknown" and friends count as unknown. */
export function isKnownTimeZone(zone: string): boolean {
  if (zone === '' || /unknown/i.test(zone) || zone === 'Factory') return false;
  return formatter(zone) !== null;
}

/** The zone's offset (ms, local − UTC) at instant t, straight from Intl (slow path). */
function intlOffset(f: Intl.DateTimeFormat, t: number): number {
  const m = Math.floor(t / MINUTE) * MINUTE;
  let y = 0, mo = 0, d = 0, h = 0, mi = 0;
  for (const p of f.formatToParts(m)) {
    switch (p.type) {
      case 'year': y = Number(p.value); break;
      case 'month': mo = Number(p.value); break;
      case 'day': d = Number(p.value); break;
      case 'hour': h = Number(p.value); break;
      case 'minute': mi = Number(p.value); break;
      default: break;
    }
  }
  return Date.UTC(y, mo - 1, d, h, mi) - m;
}

interface ZoneYear {
  start: number;
  startOffset: number;
  /** Instants (ms) at which the offset changes, with the offset from then on. */
  transitions: { at: number; offset: number }[];
}

const years = new Map<string, Map<number, ZoneYear>>();

/** Samples the year daily and bisects each change to the minute (DST changes are months apart). */
function buildYear(f: Intl.DateTimeFormat, year: number): ZoneYear {
  const start = Date.UTC(year, 0, 1);
  const end = Date.UTC(year + 1, 0, 1);
  const startOffset = intlOffset(f, start);
  const transitions: ZoneYear['transitions'] = [];
  let prevT = start;
  let prevO = startOffset;
  for (let t = start + DAY; prevT < end; t += DAY) {
    const at = Math.min(t, end);
    const o = intlOffset(f, at);
    if (o !== prevO) {
      let lo = prevT, hi = at; // offset(lo) = prevO, offset(hi) = o
      while (hi - lo > MINUTE) {
        const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
        if (intlOffset(f, mid) === prevO) lo = mid; else hi = mid;
      }
      if (hi < end) transitions.push({ at: hi, offset: o });
      prevO = o;
    }
    prevT = at;
  }
  return { start, startOffset, transitions };
}

function zoneYear(zone: string, year: number): ZoneYear {
  let byYear = years.get(zone);
  if (byYear === undefined) {
    byYear = new Map();
    if (years.size > 2000) years.clear();
    years.set(zone, byYear);
  }
  let zy = byYear.get(year);
  if (zy === undefined) {
    const f = formatter(zone);
    if (f === null) throw new RangeError(`unknown time zone "${zone}"`);
    zy = buildYear(f, year);
    byYear.set(year, zy);
  }
  return zy;
}

const utcYear = (t: number): number => new Date(t).getUTCFullYear();

/** Offset (ms) of zone at instant t. The zone must be known (see isKnownTimeZone). */
export function offsetAt(zone: string, t: number): number {
  const zy = zoneYear(zone, utcYear(t));
  let o = zy.startOffset;
  for (const tr of zy.transitions) {
    if (tr.at > t) break;
    o = tr.offset;
  }
  return o;
}

/** The first offset change strictly after t, looking at most until `limit`; null if none. */
export function nextTransitionAfter(zone: string, t: number, limit: number): number | null {
  for (let y = utcYear(t); Date.UTC(y, 0, 1) <= limit; y++) {
    for (const tr of zoneYear(zone, y).transitions) if (tr.at > t) return tr.at <= limit ? tr.at : null;
  }
  return null;
}

/** Wall-clock time of zone at t, encoded as ms since 1970 "as if UTC" (for calendar arithmetic). */
export const wallAt = (zone: string, t: number): number => t + offsetAt(zone, t);

/** Day number (days since 1970-01-01) → civil date; Howard Hinnant's algorithm. */
export function civilFromDays(dayNum: number): { y: number; m: number; d: number } {
  const z = dayNum + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

/** 0 = Sunday … 6 = Saturday. */
export const weekdayOfDay = (dayNum: number): number => (((dayNum + 4) % 7) + 7) % 7;

const pad = (n: number): string => (n < 10 ? `0${n}` : String(n));
export const formatMinute = (minute: number): string => `${pad(Math.floor(minute / 60))}:${pad(minute % 60)}`;

/** "2026-03-08" for a day number. */
export function formatDay(dayNum: number): string {
  const { y, m, d } = civilFromDays(dayNum);
  return `${y}-${pad(m)}-${pad(d)}`;
}

/** "2026-03-08T08:30" for a wall-clock value. */
export function formatWall(wall: number): string {
  const day = Math.floor(wall / DAY);
  return `${formatDay(day)}T${formatMinute(Math.floor((wall - day * DAY) / MINUTE))}`;
}
