import { describe, expect, it } from 'vitest';
import { AbandonmentMeter, ROLLING_30_DAYS, calendarDay } from '../../../src/dialer/pacing/index.js';

const DAY = 86_400_000;

describe('AbandonmentMeter, rolling 30 days (FTC/FCC)', () => {
  it('divides abandoned calls by live-answered calls, not by calls placed', () => {
    const meter = new AbandonmentMeter(ROLLING_30_DAYS);
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 500; i++) meter.recordPlaced(t0 + i * 1000);
    for (let i = 0; i < 97; i++) meter.recordLiveAnswered(t0 + i * 1000 + 10_000, false);
    for (let i = 0; i < 3; i++) meter.recordLiveAnswered(t0 + i * 1000 + 20_000, true);
    const s = meter.stats(t0 + 3_600_000);
    expect(s).toMatchObject({ placed: 500, liveAnswered: 100, abandoned: 3 });
    expect(s.rate).toBeCloseTo(0.03, 12);
  });

  it('keeps exactly the last 30 days', () => {
    const meter = new AbandonmentMeter(ROLLING_30_DAYS);
    const now = Date.UTC(2025, 5, 30, 12);
    meter.recordLiveAnswered(now - 30 * DAY - 1000, true); // 30 days and a second ago: out
    meter.recordLiveAnswered(now - 30 * DAY + 1000, true); // just inside
    meter.recordLiveAnswered(now - 10 * DAY, false);
    meter.recordLiveAnswered(now - 1000, false);
    expect(meter.stats(now)).toMatchObject({ liveAnswered: 3, abandoned: 1 });
    // Two seconds later the older abandonment has left the window too.
    expect(meter.stats(now + 2000)).toMatchObject({ liveAnswered: 2, abandoned: 0, rate: 0 });
    expect(meter.stats(now).lifetimeAbandoned).toBe(2);
  });

  it('accepts an outcome recorded late, under its answer time', () => {
    const meter = new AbandonmentMeter(ROLLING_30_DAYS);
    const t = Date.UTC(2025, 0, 1, 9);
    meter.recordLiveAnswered(t + 5000, false);
    meter.recordLiveAnswered(t + 1000, true); // answered earlier, verdict known later
    expect(meter.stats(t + 1000)).toMatchObject({ liveAnswered: 1, abandoned: 1 });
    expect(meter.stats(t + 6000)).toMatchObject({ liveAnswered: 2, abandoned: 1 });
  });

  it('stays exact over many events (old entries are pruned and totals rebased)', () => {
    const meter = new AbandonmentMeter({ kind: 'rolling', durationMs: 3_600_000 });
    const t0 = Date.UTC(2025, 0, 1);
    for (let i = 0; i < 20_000; i++) meter.recordLiveAnswered(t0 + i * 1000, i % 50 === 0);
    const end = t0 + 19_999 * 1000;
    // The last hour holds seconds 16 400..19 999: 3 600 answers, every 50th abandoned.
    let abandoned = 0;
    for (let i = 16_400; i < 20_000; i++) if (i % 50 === 0) abandoned++;
    expect(meter.stats(end)).toMatchObject({ liveAnswered: 3600, abandoned });
  });

  it('rejects a window without a duration', () => {
    expect(() => new AbandonmentMeter({ kind: 'rolling', durationMs: 0 })).toThrow(/positive duration/);
  });
});

describe('AbandonmentMeter, calendar day (Ofcom)', () => {
  it('counts from local midnight, not from 24 hours ago', () => {
    const meter = new AbandonmentMeter(calendarDay('Europe/London'));
    // 5 July 2025, British Summer Time (UTC+1): local midnight is 23:00 UTC the day before.
    meter.recordLiveAnswered(Date.UTC(2025, 6, 4, 22, 59, 59), true); // 23:59:59 BST on the 4th
    meter.recordLiveAnswered(Date.UTC(2025, 6, 4, 23, 0, 0), false); // 00:00:00 BST on the 5th
    meter.recordLiveAnswered(Date.UTC(2025, 6, 5, 10), false);
    const s = meter.stats(Date.UTC(2025, 6, 5, 12));
    expect(s).toMatchObject({ liveAnswered: 2, abandoned: 0, windowStartMs: Date.UTC(2025, 6, 4, 23) });
    // On the 4th itself the abandonment was the only live answer: 100%.
    expect(meter.stats(Date.UTC(2025, 6, 4, 22, 59, 59)).rate).toBe(1);
  });

  it('handles the 23-hour day when the clocks go forward', () => {
    const meter = new AbandonmentMeter(calendarDay('Europe/London'));
    // 30 March 2025: 01:00 GMT becomes 02:00 BST. The day starts at 00:00 GMT.
    meter.recordLiveAnswered(Date.UTC(2025, 2, 29, 23, 59, 59), true);
    meter.recordLiveAnswered(Date.UTC(2025, 2, 30, 0, 30), false);
    meter.recordLiveAnswered(Date.UTC(2025, 2, 30, 22, 30), true); // 23:30 BST, still the 30th
    const s = meter.stats(Date.UTC(2025, 2, 30, 22, 59, 59));
    expect(s).toMatchObject({ liveAnswered: 2, abandoned: 1, windowStartMs: Date.UTC(2025, 2, 30, 0) });
    // 23:00 UTC is midnight BST: a new day with nothing in it.
    expect(meter.stats(Date.UTC(2025, 2, 30, 23))).toMatchObject({ liveAnswered: 0, rate: 0 });
  });

  it('works in any zone (a US Eastern campaign day)', () => {
    const meter = new AbandonmentMeter(calendarDay('America/New_York'));
    meter.recordLiveAnswered(Date.UTC(2025, 0, 15, 4, 59), true); // 23:59 EST on the 14th
    meter.recordLiveAnswered(Date.UTC(2025, 0, 15, 5, 1), false); // 00:01 EST on the 15th
    expect(meter.stats(Date.UTC(2025, 0, 15, 15))).toMatchObject({ liveAnswered: 1, abandoned: 0 });
  });

  it('starts the day at 01:00 where the clocks skip midnight (Chile, 7 September 2025)', () => {
    const meter = new AbandonmentMeter(calendarDay('America/Santiago'));
    meter.recordLiveAnswered(Date.UTC(2025, 8, 7, 3, 59, 59), true); // 23:59:59 −04 on the 6th
    meter.recordLiveAnswered(Date.UTC(2025, 8, 7, 4, 0, 0), false); // 01:00:00 −03 on the 7th
    expect(meter.stats(Date.UTC(2025, 8, 7, 12))).toMatchObject({
      liveAnswered: 1,
      abandoned: 0,
      windowStartMs: Date.UTC(2025, 8, 7, 4),
    });
  });

  it('rejects an unknown time zone at once', () => {
    expect(() => new AbandonmentMeter(calendarDay('Mars/Olympus_Mons'))).toThrow(RangeError);
  });
});
