// What each reported figure means, as pure functions over call rows: the funnel (attempts →
// connected → effective conversations → successes), connect rate, abandonment rate as regulators
// count it, average handle time and agent talk utilisation. The HTTP reports, /live and /metrics
// all compute from here, so a figure means the same wherever it is shown.
import { ROLLING_30_DAYS, type AbandonmentWindow } from '../dialer/pacing/abandonment-meter.js';
import { startOfLocalDay } from '../dialer/pacing/zoned-day.js';

/** One call (CDR row) with its attempt's disposition: what every figure is computed from. */
export interface CallFact {
  campaignId: string;
  agentId: string | null;
  createdAt: Date;
  answeredAt: Date | null;
  bridgedAt: Date | null;
  endedAt: Date | null;
  /** null while the call is in progress. */
  outcome: string | null;
  dispositionResult: string | null;
  disposedAt: Date | null;
}

export interface ReportSettings {
  /** A connected call whose talk lasts at least this long is an effective conversation. */
  effectiveTalkSeconds: number;
  /** Disposition results that count as a success (a sale, an appointment, ...). */
  successResults: readonly string[];
}

export const defaultReportSettings: ReportSettings = { effectiveTalkSeconds: 30, successResults: ['sale'] };

/**
 * Outcomes of calls a live person answered: the regulators' denominator (US TSR/FCC, Ofcom).
 * Abandoned calls are in it (a person answered and heard no agent); answering machines are not,
 * as the pacer's AbandonmentMeter documents it (a unit test holds the two together). Note: the
 * campaign runner currently feeds the meter machine answers too, so the pacer's own rate can read
 * lower than this one on campaigns with AMD.
 */
export const LIVE_ANSWERED_OUTCOMES: readonly string[] = ['answered', 'abandoned'];

/** Attempt: every call placed (one row per origination), whatever became of it. */
export const isAttempt = (_c: CallFact): boolean => true;

/** Answered by a live person (see LIVE_ANSWERED_OUTCOMES). */
export const isLiveAnswered = (c: CallFact): boolean => c.outcome !== null && LIVE_ANSWERED_OUTCOMES.includes(c.outcome);

/** Abandoned: a live person answered and no agent was joined within the grace period (2 s). */
export const isAbandoned = (c: CallFact): boolean => c.outcome === 'abandoned';

/**
 * Connected: a live person answered and was joined to an agent (outcome answered, with a bridge
 * time). Abandoned calls are answered by a person but never connected; calls still in progress
 * are counted once they end.
 */
export const isConnected = (c: CallFact): boolean => c.outcome === 'answered' && c.bridgedAt !== null;

/** Talk: from the customer joining the agent to the end of the call; 0 when not connected. */
export function talkSeconds(c: CallFact): number {
  if (!isConnected(c) || !c.bridgedAt || !c.endedAt) return 0;
  return Math.max(0, (c.endedAt.getTime() - c.bridgedAt.getTime()) / 1000);
}

/** Effective conversation: connected, and talk of at least effectiveTalkSeconds. */
export const isEffective = (c: CallFact, s: ReportSettings): boolean => isConnected(c) && talkSeconds(c) >= s.effectiveTalkSeconds;

/**
 * Success: the disposition's result is one of successResults. The attempt's product alone is not
 * a sale (a refusal names the product refused too), so a sold product needs a success result.
 */
export const isSuccess = (c: CallFact, s: ReportSettings): boolean => c.dispositionResult !== null && s.successResults.includes(c.dispositionResult);

/** Wrap-up: from the end of the call to the disposition; 0 without one (an auto-ready wrap-up). */
export function wrapUpSeconds(c: CallFact): number {
  if (!isConnected(c) || !c.endedAt || !c.disposedAt) return 0;
  return Math.max(0, (c.disposedAt.getTime() - c.endedAt.getTime()) / 1000);
}

/** Handle time of a connected call: talk plus wrap-up. */
export const handleSeconds = (c: CallFact): number => talkSeconds(c) + wrapUpSeconds(c);

export interface Figures {
  attempts: number;
  liveAnswered: number;
  connected: number;
  effective: number;
  successes: number;
  abandoned: number;
  machines: number;
  /** connected / attempts; null with no attempts. */
  connectRate: number | null;
  /** abandoned / liveAnswered (the regulators' ratio) over the same calls; null with no live answer. */
  abandonmentRate: number | null;
  /** successes / connected; null with no connected call. */
  successRate: number | null;
  talkSeconds: number;
  wrapUpSeconds: number;
  /** (talk + wrap-up) / connected; null with no connected call. */
  averageHandleSeconds: number | null;
  /** Calls by outcome; "in-progress" for calls not yet ended. */
  outcomes: Record<string, number>;
}

/** The sums every figure derives from; summarize() adds them up row by row, SQL can too (reports.repository). */
export type Totals = Pick<Figures, 'attempts' | 'liveAnswered' | 'connected' | 'effective' | 'successes' | 'abandoned' | 'machines' | 'talkSeconds' | 'wrapUpSeconds' | 'outcomes'>;

/** A rate, or null without a denominator (0 would claim a measurement that was not made). */
export const rateOf = (a: number, b: number): number | null => (b > 0 ? a / b : null);

export function emptyTotals(): Totals {
  return { attempts: 0, liveAnswered: 0, connected: 0, effective: 0, successes: 0, abandoned: 0, machines: 0, talkSeconds: 0, wrapUpSeconds: 0, outcomes: {} };
}

/** The rates and averages from the sums. */
export function figuresOf(t: Totals): Figures {
  return {
    ...t,
    connectRate: rateOf(t.connected, t.attempts),
    abandonmentRate: rateOf(t.abandoned, t.liveAnswered),
    successRate: rateOf(t.successes, t.connected),
    averageHandleSeconds: rateOf(t.talkSeconds + t.wrapUpSeconds, t.connected),
  };
}

export function summarize(calls: Iterable<CallFact>, s: ReportSettings = defaultReportSettings): Figures {
  const f = emptyTotals();
  const outcomes = f.outcomes;
  for (const c of calls) {
    if (isAttempt(c)) f.attempts++;
    if (isLiveAnswered(c)) f.liveAnswered++;
    if (isAbandoned(c)) f.abandoned++;
    if (c.outcome === 'machine') f.machines++;
    if (isConnected(c)) {
      f.connected++;
      f.talkSeconds += talkSeconds(c);
      f.wrapUpSeconds += wrapUpSeconds(c);
      if (isEffective(c, s)) f.effective++;
    }
    if (isSuccess(c, s)) f.successes++;
    const o = c.outcome ?? 'in-progress';
    outcomes[o] = (outcomes[o] ?? 0) + 1;
  }
  return figuresOf(f);
}

/** The regulator's measurement window, as the pacer's AbandonmentMeter draws it. */
export const REGULATOR_WINDOW: AbandonmentWindow = ROLLING_30_DAYS;

/**
 * Where a regulator's window that ends at nowMs starts: rolling windows take live answers after
 * the start (exclusive) up to now (inclusive); calendar days from local midnight (inclusive).
 */
export function abandonmentWindowStart(w: AbandonmentWindow, nowMs: number): { startMs: number; startInclusive: boolean } {
  if (w.kind === 'rolling') return { startMs: nowMs - w.durationMs, startInclusive: false };
  return { startMs: startOfLocalDay(nowMs, w.timeZone), startInclusive: true };
}

/** One state change of an agent (logged-out ends a session). */
export interface AgentStateChange {
  state: string;
  at: Date;
}

/**
 * Logged-in time within [fromMs, toMs): from each change to a state other than logged-out until
 * the next change (or toMs, or nowMs for a session still open). Pass the agent's last change
 * before fromMs too, so that a session begun earlier counts from fromMs.
 */
export function loggedInSeconds(changes: readonly AgentStateChange[], fromMs: number, toMs: number, nowMs = Date.now()): number {
  const end = Math.min(toMs, nowMs);
  let total = 0;
  const sorted = [...changes].sort((a, b) => a.at.getTime() - b.at.getTime());
  for (let i = 0; i < sorted.length; i++) {
    const c = sorted[i]!;
    if (c.state === 'logged-out') continue;
    const next = sorted[i + 1];
    const a = Math.max(c.at.getTime(), fromMs);
    const b = Math.min(next ? next.at.getTime() : end, end);
    if (b > a) total += b - a;
  }
  return total / 1000;
}

/** Talk utilisation: talk time / logged-in time; null when the agent was not logged in. */
// Not capped at 1: a call is counted in the period it started, so one that runs past `to` can
// outweigh the logged-in time clipped at `to` in a short period; a value above 1 says so.
export const talkUtilisation = (talk: number, loggedIn: number): number | null => (loggedIn > 0 ? talk / loggedIn : null);
