// Stored decisions in plain words for supervisors ("why was this contact not called?"): one short
// English sentence per failed rule, built from the figures the rule recorded (its `inputs`), and
// one for the decision as a whole with the next allowed instant in the callee's local time.
// Pure: reads only the stored decision, so an old decision reads the same after a policy changes.
import { DAY, MINUTE, formatDay, formatMinute, isKnownTimeZone, wallAt, weekdayOfDay } from './rules/local-time.js';
import type { Reason } from './rules/types.js';

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** What explainDecision() reads: the stored decision row's fields. */
export interface StoredDecision {
  allowed: boolean;
  reasons: readonly unknown[];
  timeZones: readonly string[];
  nextAllowedAt: Date | null;
}

export interface ExplainedReason {
  rule: string;
  policy: string | null;
  sentence: string;
}

export interface Explanation {
  /** One sentence for the decision as a whole. */
  summary: string;
  /** One sentence per rule that failed (none when the call was allowed). */
  reasons: ExplainedReason[];
}

type Inputs = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const hours = (h: number): string => (h >= 48 && h % 24 === 0 ? `${h / 24} days` : h === 1 ? '1 hour' : `${h} hours`);
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * An instant as the callee reads it: "Mon 08:00" within the coming week (from `now`), else
 * "Mon 2026-03-16 08:00"; zone must be known.
 */
export function localInstant(at: Date, zone: string, now: Date): string {
  const wall = wallAt(zone, at.getTime());
  const day = Math.floor(wall / DAY);
  const time = formatMinute(Math.floor((wall - day * DAY) / MINUTE));
  const today = Math.floor(wallAt(zone, now.getTime()) / DAY);
  const wd = DAY_NAMES[weekdayOfDay(day)]!;
  return day - today >= 0 && day - today < 6 ? `${wd} ${time}` : `${wd} ${formatDay(day)} ${time}`;
}

function asReason(r: unknown): Reason | null {
  if (r === null || typeof r !== 'object') return null;
  const o = r as Record<string, unknown>;
  if (typeof o.rule !== 'string' || typeof o.passed !== 'boolean') return null;
  return {
    rule: o.rule as Reason['rule'], passed: o.passed, policy: str(o.policy), detail: str(o.detail) ?? '',
    inputs: o.inputs !== null && typeof o.inputs === 'object' ? (o.inputs as Reason['inputs']) : {},
  };
}

/** The zone to read the next instant in: the first the rule names, else the decision's first. */
function zoneFor(inputsZone: string | null, zones: readonly string[]): string | null {
  const z = inputsZone ?? zones[0] ?? null;
  return z !== null && isKnownTimeZone(z) ? z : null;
}

function nextPart(next: Date | null, zone: string | null, now: Date): string {
  if (next === null) return '';
  return zone ? `; next allowed ${localInstant(next, zone, now)} local` : `; next allowed ${next.toISOString()}`;
}

function hoursSentence(r: Reason, d: StoredDecision, now: Date): string {
  const zones = Array.isArray(r.inputs.zones) ? (r.inputs.zones as Inputs[]) : [];
  const out = zones.find((z) => z.inside === false) ?? zones[0];
  if (!out) return `Outside allowed calling hours (${r.detail})${nextPart(d.nextAllowedAt, zoneFor(null, d.timeZones), now)}`;
  const zone = str(out.zone) ?? 'the callee zone';
  const windows = out.windows !== null && typeof out.windows === 'object' ? [...new Set(Object.values(out.windows as Inputs).map(String))] : [];
  const local = str(out.local);
  const weekday = str(out.weekday);
  const next = nextPart(d.nextAllowedAt, zoneFor(str(out.zone), d.timeZones), now);
  if (windows.length === 1 && windows[0] === 'no calls') {
    return `No calls on ${weekday ? weekday[0]!.toUpperCase() + weekday.slice(1) : 'this day'} in ${zone}${r.policy ? ` under ${r.policy}` : ''}${next}`;
  }
  const at = local ? ` at ${local.slice(11)} local` : '';
  return `Outside allowed hours in ${zone} (${windows.join('; ') || 'no window'})${at}${next}`;
}

function calendarSentence(r: Reason, d: StoredDecision, now: Date): string {
  const days = Array.isArray(r.inputs.days) ? (r.inputs.days as Inputs[]) : [];
  const closed = days.find((x) => x.closed !== null && x.closed !== undefined) ?? days[0];
  const zone = closed ? str(closed.zone) : null;
  const what = closed ? `${String(closed.date)} is ${String(closed.closed)}` : r.detail;
  return `No calls on a closed day: ${what}${zone ? ` in ${zone}` : ''}${nextPart(d.nextAllowedAt, zoneFor(zone, d.timeZones), now)}`;
}

const SCOPE: Record<string, string> = { phone: 'to this number', campaign: 'to this number from this campaign', product: 'to this number about this product' };

function reasonSentence(r: Reason, d: StoredDecision, now: Date): string {
  const i = r.inputs as Inputs;
  switch (r.rule) {
    case 'hours':
      return hoursSentence(r, d, now);
    case 'calendar':
      return calendarSentence(r, d, now);
    case 'time-zone':
      return "The callee's time zone is unknown, so calling hours cannot be checked: give the contact a time zone";
    case 'cap': {
      const max = num(i.max), count = num(i.count), window = num(i.windowHours);
      const scope = SCOPE[String(i.scope)] ?? '';
      if (max === null || window === null) return `Call limit reached (${r.detail})`;
      return `Call limit reached: ${plural(count ?? max, 'call')} ${scope} in the last ${hours(window)}, at most ${max} allowed${nextPart(d.nextAllowedAt, zoneFor(null, d.timeZones), now)}`;
    }
    case 'rest': {
      const after = str(i.after);
      const why = after === 'abandoned' ? 'an abandoned call' : after === 'cap-reached' ? 'the call limit was reached' : (after ?? 'a call');
      const h = num(i.hours);
      const until = str(i.restUntil);
      const zone = zoneFor(null, d.timeZones);
      const end = until ? (zone ? `until ${localInstant(new Date(until), zone, now)} local` : `until ${until}`) : '';
      return `Resting${h === null ? '' : ` ${hours(h)}`} after ${why}${end ? ` ${end}` : ''}`;
    }
    case 'product-interval': {
      const last = str(i.lastOfferAt);
      const h = num(i.minIntervalHours);
      return `This product was offered to the number ${last ? `on ${last.slice(0, 10)}` : 'recently'}; offers must be${h === null ? '' : ` ${hours(h)}`} apart${nextPart(d.nextAllowedAt, zoneFor(null, d.timeZones), now)}`;
    }
    case 'refusals': {
      const product = str(i.product);
      return `The callee refused ${product ? `"${product}"` : 'the offer'} ${plural(num(i.refusals) ?? 0, 'time')} (the limit is ${String(i.stopAfter)}): not offered again`;
    }
    case 'dnc': {
      const hits = Array.isArray(i.hits) ? (i.hits as Inputs[]) : [];
      const h = hits[0];
      const until = h ? str(h.expiresAt) : null;
      return `On the do-not-call list${h ? ` (${String(h.list)} list, from ${String(h.source)})` : ''}${until ? ` until ${until.slice(0, 10)}` : ', with no end date'}`;
    }
    case 'protected': {
      const matched = Array.isArray(i.matched) ? (i.matched as unknown[]).map(String) : [];
      return `A protected number${matched.length ? ` (${matched.join(', ')})` : ''}: never called`;
    }
    case 'in-progress':
      return 'Another call to this number was in progress at that moment';
    case 'policy':
      return `No compliance policy could be applied: ${r.detail}`;
    default:
      return r.detail;
  }
}

/** The decision in plain words: a summary sentence and one sentence per failed rule. */
export function explainDecision(d: StoredDecision, now = new Date()): Explanation {
  const reasons = d.reasons.map(asReason).filter((r): r is Reason => r !== null);
  const failed = reasons.filter((r) => !r.passed);
  const explained = failed.map((r) => ({ rule: r.rule, policy: r.policy, sentence: reasonSentence(r, d, now) }));
  if (d.allowed) return { summary: `Allowed: all ${plural(reasons.length, 'check')} passed`, reasons: [] };
  const zone = zoneFor(null, d.timeZones);
  const summary = d.nextAllowedAt === null
    ? `Not dialed, and never will be under these rules (${failed.map((r) => r.rule).join(', ')})`
    : `Not dialed; next allowed ${zone ? `${localInstant(d.nextAllowedAt, zone, now)} in ${zone} (${d.nextAllowedAt.toISOString()})` : d.nextAllowedAt.toISOString()}`;
  return { summary, reasons: explained };
}

const GROUP_LABELS: Record<string, string> = {
  hours: 'outside calling hours',
  calendar: 'a closed day (holiday or blackout)',
  cap: 'call limit reached',
  rest: 'resting after an abandoned call or a reached limit',
  'product-interval': 'product offered too recently',
  refusals: 'refused the offer too often',
  dnc: 'on a do-not-call list',
  protected: 'a protected number',
  'time-zone': 'time zone unknown',
  policy: 'no compliance policy applies',
  'in-progress': 'another call to the number was in progress',
  callback: 'a callback promised for that time',
  retry: "a retry after the last call's outcome",
  released: 'allowed, but not dialed (every caller id at its daily cap): decided again when due',
  scheduled: 'scheduled for later',
  due: 'due now, waiting for the pacer (free agents, limits)',
  'handed-to-dialer': 'handed to the dial queue',
  'agent-skipped': 'skipped by the agent in preview',
  denied: 'denied by compliance',
};

/** A progress group's key ("cap+hours", "callback", an outcome) as words: "call limit reached; outside calling hours". */
export function describeGroup(key: string): string {
  return key.split('+').map((k) => GROUP_LABELS[k] ?? k).join('; ');
}
