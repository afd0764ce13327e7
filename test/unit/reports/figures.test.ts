// The report figures' definitions, table-driven over fixture calls: each case pins one edge of one
// definition, so changing a definition fails a named case.
import { describe, expect, it } from 'vitest';
import { AbandonmentMeter, calendarDay, ROLLING_30_DAYS } from '../../../src/dialer/pacing/index.js';
import {
  abandonmentWindowStart, handleSeconds, isAbandoned, isConnected, isEffective, isLiveAnswered, isSuccess, loggedInSeconds,
  summarize, talkSeconds, talkUtilisation, wrapUpSeconds, type CallFact, type ReportSettings,
} from '../../../src/reports/figures.js';

const T0 = Date.UTC(2026, 10, 2, 9);
const at = (s: number): Date => new Date(T0 + s * 1000);
const settings: ReportSettings = { effectiveTalkSeconds: 30, successResults: ['sale', 'appointment'] };

/** A call placed at T0; times in seconds after T0 (null: never happened). */
function call(o: Partial<{ outcome: string | null; answered: number | null; bridged: number | null; ended: number | null; result: string | null; disposed: number | null; agent: string | null; campaign: string }>): CallFact {
  const t = (v: number | null | undefined) => (v === null || v === undefined ? null : at(v));
  return {
    campaignId: o.campaign ?? 'c1',
    agentId: o.agent ?? null,
    createdAt: at(0),
    answeredAt: t(o.answered),
    bridgedAt: t(o.bridged),
    endedAt: t(o.ended),
    outcome: o.outcome === undefined ? 'answered' : o.outcome,
    dispositionResult: o.result ?? null,
    disposedAt: t(o.disposed),
  };
}

const talked = (talk: number, extra: Parameters<typeof call>[0] = {}) => call({ answered: 10, bridged: 11, ended: 11 + talk, agent: 'a1', ...extra });

describe('per-call definitions', () => {
  const cases: { name: string; c: CallFact; live: boolean; abandoned: boolean; connected: boolean; talk: number; effective: boolean; success: boolean; wrap: number }[] = [
    { name: 'answered and joined, 45 s talk, sold, 20 s wrap-up', c: talked(45, { result: 'sale', disposed: 76 }), live: true, abandoned: false, connected: true, talk: 45, effective: true, success: true, wrap: 20 },
    { name: 'talk exactly the effective threshold', c: talked(30), live: true, abandoned: false, connected: true, talk: 30, effective: true, success: false, wrap: 0 },
    { name: 'talk just under the threshold', c: talked(29.9), live: true, abandoned: false, connected: true, talk: 29.9, effective: false, success: false, wrap: 0 },
    { name: 'abandoned: live, never connected', c: call({ outcome: 'abandoned', answered: 10, ended: 25 }), live: true, abandoned: true, connected: false, talk: 0, effective: false, success: false, wrap: 0 },
    { name: 'machine: neither live nor connected', c: call({ outcome: 'machine', answered: 10, ended: 14 }), live: false, abandoned: false, connected: false, talk: 0, effective: false, success: false, wrap: 0 },
    { name: 'answered without a bridge time is not connected', c: call({ answered: 10, ended: 50 }), live: true, abandoned: false, connected: false, talk: 0, effective: false, success: false, wrap: 0 },
    { name: 'busy', c: call({ outcome: 'busy', ended: 3 }), live: false, abandoned: false, connected: false, talk: 0, effective: false, success: false, wrap: 0 },
    { name: 'no answer', c: call({ outcome: 'no-answer', ended: 30 }), live: false, abandoned: false, connected: false, talk: 0, effective: false, success: false, wrap: 0 },
    { name: 'in progress (bridged, not ended): counted once it ends', c: call({ outcome: null, answered: 10, bridged: 11 }), live: false, abandoned: false, connected: false, talk: 0, effective: false, success: false, wrap: 0 },
    { name: 'a second success result counts', c: talked(5, { result: 'appointment', disposed: 20 }), live: true, abandoned: false, connected: true, talk: 5, effective: false, success: true, wrap: 4 },
    { name: 'a result outside the set is no success', c: talked(100, { result: 'not-interested', disposed: 111 }), live: true, abandoned: false, connected: true, talk: 100, effective: true, success: false, wrap: 0 },
    { name: 'disposition before the end (agent typed early): wrap-up 0', c: talked(60, { result: 'sale', disposed: 50 }), live: true, abandoned: false, connected: true, talk: 60, effective: true, success: true, wrap: 0 },
  ];
  it.each(cases)('$name', (k) => {
    expect(isLiveAnswered(k.c)).toBe(k.live);
    expect(isAbandoned(k.c)).toBe(k.abandoned);
    expect(isConnected(k.c)).toBe(k.connected);
    expect(talkSeconds(k.c)).toBeCloseTo(k.talk, 9);
    expect(isEffective(k.c, settings)).toBe(k.effective);
    expect(isSuccess(k.c, settings)).toBe(k.success);
    expect(wrapUpSeconds(k.c)).toBeCloseTo(k.wrap, 9);
    expect(handleSeconds(k.c)).toBeCloseTo(k.talk + k.wrap, 9);
  });

  it('the effective threshold and the success set are settings', () => {
    const c = talked(45, { result: 'sale' });
    expect(isEffective(c, { ...settings, effectiveTalkSeconds: 60 })).toBe(false);
    expect(isSuccess(c, { ...settings, successResults: ['appointment'] })).toBe(false);
  });
});

describe('summarize', () => {
  const fixture: CallFact[] = [
    talked(45, { result: 'sale', disposed: 76 }), // connected, effective, success; handle 45 + 20
    talked(20, { result: 'not-interested', disposed: 41 }), // connected; handle 20 + 10
    talked(90), // connected, effective; handle 90
    call({ outcome: 'abandoned', answered: 10, ended: 25 }),
    call({ outcome: 'machine', answered: 10, ended: 14 }),
    call({ outcome: 'busy', ended: 3 }),
    call({ outcome: 'no-answer', ended: 30 }),
    call({ outcome: 'failed', ended: 1 }),
    call({ outcome: null }),
    call({ outcome: 'answered', answered: 10, ended: 40, result: 'sale', disposed: 50 }), // not bridged yet a "sale" result: success, not connected
  ];
  const f = summarize(fixture, settings);

  it.each([
    ['attempts', 10],
    ['liveAnswered', 5],
    ['connected', 3],
    ['effective', 2],
    ['successes', 2],
    ['abandoned', 1],
    ['machines', 1],
    ['talkSeconds', 155],
    ['wrapUpSeconds', 30],
  ] as const)('%s = %d', (k, v) => expect(f[k]).toBeCloseTo(v, 9));

  it('rates', () => {
    expect(f.connectRate).toBeCloseTo(3 / 10, 12);
    expect(f.abandonmentRate).toBeCloseTo(1 / 5, 12);
    expect(f.successRate).toBeCloseTo(2 / 3, 12);
    expect(f.averageHandleSeconds).toBeCloseTo((155 + 30) / 3, 12);
  });

  it('outcomes, with in-progress calls by name', () => {
    expect(f.outcomes).toEqual({ answered: 4, abandoned: 1, machine: 1, busy: 1, 'no-answer': 1, failed: 1, 'in-progress': 1 });
  });

  it('rates without a denominator are null, not 0', () => {
    const e = summarize([], settings);
    expect(e).toMatchObject({ attempts: 0, connectRate: null, abandonmentRate: null, successRate: null, averageHandleSeconds: null });
    expect(summarize([call({ outcome: 'busy' })], settings)).toMatchObject({ connectRate: 0, abandonmentRate: null });
  });
});

describe('abandonment as the pacer measures it', () => {
  // Live answers spread over 40 days before `now`, some abandoned, plus machines and unanswered calls.
  const now = Date.UTC(2026, 10, 20, 15, 30);
  const rows: CallFact[] = [];
  for (let i = 0; i < 400; i++) {
    const answered = new Date(now - i * 2.5 * 3_600_000 - 7_000);
    const outcome = i % 7 === 0 ? 'abandoned' : i % 5 === 0 ? 'machine' : i % 11 === 0 ? 'busy' : 'answered';
    rows.push({ ...call({ outcome }), createdAt: answered, answeredAt: outcome === 'busy' ? null : answered });
  }

  it.each([
    ['rolling 30 days (US TSR/FCC)', ROLLING_30_DAYS],
    ['calendar day in London (Ofcom)', calendarDay('Europe/London')],
    ['calendar day in New York', calendarDay('America/New_York')],
  ] as const)('%s: the same counts as AbandonmentMeter over the same calls', (_n, w) => {
    const meter = new AbandonmentMeter(w);
    for (const r of [...rows].reverse()) if (r.answeredAt && isLiveAnswered(r)) meter.recordLiveAnswered(r.answeredAt.getTime(), isAbandoned(r));
    const m = meter.stats(now);
    const { startMs, startInclusive } = abandonmentWindowStart(w, now);
    const inWindow = rows.filter((r) => r.answeredAt && (startInclusive ? r.answeredAt.getTime() >= startMs : r.answeredAt.getTime() > startMs) && r.answeredAt.getTime() <= now);
    const f = summarize(inWindow, settings);
    expect(m.liveAnswered).toBeGreaterThan(0);
    expect(f.liveAnswered).toBe(m.liveAnswered);
    expect(f.abandoned).toBe(m.abandoned);
    expect(f.abandonmentRate).toBeCloseTo(m.rate, 12);
  });
});

describe('regulator window edges, as the meter draws them', () => {
  const now = Date.UTC(2026, 10, 20, 15, 30);
  const live = (ms: number, outcome = 'abandoned'): CallFact => ({ ...call({ outcome }), answeredAt: new Date(ms) });
  it.each([
    ['rolling 30 days: an answer exactly 30 days ago is out', ROLLING_30_DAYS, now - 30 * 86_400_000],
    ['calendar day: an answer at local midnight is in', calendarDay('Europe/London'), Date.UTC(2026, 10, 20)],
  ] as const)('%s', (_n, w, edgeMs) => {
    const meter = new AbandonmentMeter(w);
    meter.recordLiveAnswered(edgeMs, true);
    meter.recordLiveAnswered(now - 1000, false);
    const { startMs, startInclusive } = abandonmentWindowStart(w, now);
    const rows = [live(edgeMs), live(now - 1000, 'answered')];
    const inWindow = rows.filter((r) => (startInclusive ? r.answeredAt!.getTime() >= startMs : r.answeredAt!.getTime() > startMs));
    expect(summarize(inWindow, settings).abandoned).toBe(meter.stats(now).abandoned);
  });
});

describe('logged-in time and talk utilisation', () => {
  const ch = (state: string, s: number) => ({ state, at: at(s) });
  const cases: { name: string; changes: { state: string; at: Date }[]; from: number; to: number; now?: number; expected: number }[] = [
    { name: 'one session inside the period', changes: [ch('ready', 100), ch('on-call', 200), ch('wrap-up', 300), ch('logged-out', 400)], from: 0, to: 1000, expected: 300 },
    { name: 'a session begun before the period counts from its start', changes: [ch('ready', -500), ch('logged-out', 100)], from: 0, to: 1000, expected: 100 },
    { name: 'a session still open counts up to the end of the period', changes: [ch('ready', 900)], from: 0, to: 1000, now: 5000, expected: 100 },
    { name: 'a session still open counts up to now when now is earlier', changes: [ch('ready', 900)], from: 0, to: 1000, now: 950, expected: 50 },
    { name: 'paused time is logged-in time', changes: [ch('ready', 0), ch('paused', 10), ch('ready', 70), ch('logged-out', 100)], from: 0, to: 1000, expected: 100 },
    { name: 'time between sessions is not', changes: [ch('ready', 0), ch('logged-out', 50), ch('ready', 500), ch('logged-out', 600)], from: 0, to: 1000, expected: 150 },
    { name: 'a logout before the period counts nothing', changes: [ch('logged-out', -10)], from: 0, to: 1000, expected: 0 },
  ];
  it.each(cases)('$name', (k) => {
    expect(loggedInSeconds(k.changes, at(k.from).getTime(), at(k.to).getTime(), at(k.now ?? 10_000).getTime())).toBeCloseTo(k.expected, 9);
  });

  it('utilisation is talk over logged-in time, null when never logged in', () => {
    expect(talkUtilisation(90, 300)).toBeCloseTo(0.3, 12);
    expect(talkUtilisation(0, 0)).toBeNull();
  });
});
