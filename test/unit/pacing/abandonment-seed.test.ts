// Seeding a campaign's abandonment meter from the record (a pacer taking a campaign over): the
// seeded meter must say what a meter fed live with the same calls says, whichever calls come as
// per-second buckets (counted in the database) and which one by one, and must not count twice
// what the new pacer already heard live.
import { describe, expect, it } from 'vitest';
import { AbandonmentMeter, liveAnswerOf, ROLLING_30_DAYS, seedAbandonmentMeter, type AbandonmentBucket, type MeteredCall } from '../../../src/dialer/pacing/index.js';

const DAY = 86_400_000;
const now = Date.UTC(2026, 11, 7, 17, 0, 0);

/** Calls over the last 31 days: some not answered, machines, abandoned, live, and some still up. */
function calls(): MeteredCall[] {
  const out: MeteredCall[] = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 2000; i++) {
    const placedAtMs = now - Math.floor(rnd() * 31 * DAY) + Math.floor(rnd() * 1000);
    const kind = rnd();
    const answeredAtMs = kind < 0.3 ? null : placedAtMs + 3000 + Math.floor(rnd() * 20_000);
    const outcome = kind < 0.3 ? 'no-answer' : kind < 0.4 ? 'machine' : kind < 0.5 ? 'abandoned' : 'answered';
    // The last hour's calls are partly still up (their answer's verdict not known yet).
    const ended = placedAtMs < now - 3_600_000 || rnd() < 0.5;
    out.push({ placedAtMs, answeredAtMs: answeredAtMs !== null && answeredAtMs > now ? null : answeredAtMs, ended, outcome: ended ? outcome : null });
  }
  return out.sort((a, b) => a.placedAtMs - b.placedAtMs);
}

/** What the live pacer records: the placement at once, the live answer at the call's end. */
function fedLive(cs: readonly MeteredCall[]): AbandonmentMeter {
  const m = new AbandonmentMeter(ROLLING_30_DAYS);
  const events: { at: number; run: () => void }[] = [];
  for (const c of cs) {
    events.push({ at: c.placedAtMs, run: () => m.recordPlaced(c.placedAtMs) });
    const a = c.ended ? liveAnswerOf(c) : null;
    if (a) events.push({ at: a.atMs + 500, run: () => m.recordLiveAnswered(a.atMs, a.abandoned) });
  }
  for (const e of events.sort((x, y) => x.at - y.at)) e.run();
  return m;
}

/** Per-second buckets, as the runner's SQL counts older calls. */
function buckets(cs: readonly MeteredCall[]): AbandonmentBucket[] {
  const by = new Map<number, AbandonmentBucket>();
  const at = (ms: number) => {
    const sec = Math.floor(ms / 1000);
    let b = by.get(sec);
    if (!b) by.set(sec, (b = { sec, placed: 0, liveAnswered: 0, abandoned: 0 }));
    return b;
  };
  for (const c of cs) {
    at(c.placedAtMs).placed++;
    const a = liveAnswerOf(c);
    if (a) {
      const b = at(a.atMs);
      b.liveAnswered++;
      if (a.abandoned) b.abandoned++;
    }
  }
  return [...by.values()].sort((x, y) => x.sec - y.sec);
}

describe('seeding the abandonment meter from the record', () => {
  it('counts what the live meter counts: placed, live answers (machines out, calls still up out), abandoned', () => {
    const cs = calls();
    const live = fedLive(cs).stats(now);
    const seeded = new AbandonmentMeter(ROLLING_30_DAYS);
    // Older calls (ended before the horizon) by the second, the rest one by one.
    const horizon = now - 5 * 60_000;
    const old = cs.filter((c) => c.ended && c.placedAtMs <= horizon && (c.answeredAtMs ?? 0) <= horizon);
    const recent = cs.filter((c) => !old.includes(c));
    seedAbandonmentMeter(seeded, buckets(old), recent);
    const s = seeded.stats(now);
    expect({ placed: s.placed, liveAnswered: s.liveAnswered, abandoned: s.abandoned }).toEqual({ placed: live.placed, liveAnswered: live.liveAnswered, abandoned: live.abandoned });
    expect(s.rate).toBeCloseTo(live.rate, 12);
    // Sanity of the fixture: about a tenth of the calls abandoned, a thirtieth out of the window.
    expect(s.abandoned).toBeGreaterThan(150);
    expect(s.placed).toBeLessThan(cs.length);
    // The window moves on as it would have: a day later, the oldest day has left both.
    const later = fedLive(cs).stats(now + DAY);
    expect(seeded.stats(now + DAY)).toMatchObject({ placed: later.placed, liveAnswered: later.liveAnswered, abandoned: later.abandoned });
  });

  it('leaves out what the new pacer already counted live, and counts it once in all', () => {
    const m = new AbandonmentMeter(ROLLING_30_DAYS);
    // Heard live since the campaign was taken: one call placed and abandoned.
    m.recordPlaced(now - 4000);
    m.recordLiveAnswered(now - 2000, true);
    seedAbandonmentMeter(m, [{ sec: Math.floor((now - 2 * DAY) / 1000), placed: 10, liveAnswered: 4, abandoned: 0 }], [
      { placedAtMs: now - 4000, answeredAtMs: now - 2000, ended: true, outcome: 'abandoned', skipPlaced: true, skipAnswer: true },
      // Placed before the take, its end heard live.
      { placedAtMs: now - 60_000, answeredAtMs: now - 55_000, ended: true, outcome: 'answered', skipAnswer: true },
      // Still up: placed only; its answer counts when it ends.
      { placedAtMs: now - 10_000, answeredAtMs: now - 8000, ended: false, outcome: null },
      { placedAtMs: now - 20_000, answeredAtMs: now - 15_000, ended: true, outcome: 'machine' },
    ]);
    expect(m.stats(now)).toMatchObject({ placed: 14, liveAnswered: 5, abandoned: 1 });
    expect(m.stats(now).rate).toBeCloseTo(0.2, 12);
  });
});
