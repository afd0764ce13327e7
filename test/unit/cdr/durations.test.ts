import { describe, expect, it } from 'vitest';
import { callDurations, HoldTracker } from '../../../src/cdr/durations.js';

const t = (s: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, 0) + s * 1000);

describe('callDurations', () => {
  it('an answered call joined to an agent: ring to the answer, talk from the join, hold summed, wrap-up to the disposition', () => {
    const d = callDurations({
      ringingAt: t(1), answeredAt: t(9), bridgedAt: t(9.25), endedAt: t(100),
      holds: [{ from: t(20), to: t(30) }, { from: t(50), to: t(55.5) }],
      dispositionAt: t(112),
    });
    expect(d).toEqual({ ringMs: 8000, talkMs: 90_750, holdMs: 15_500, wrapupMs: 12_000 });
  });

  it('a call never answered rings until it ends and has no talk', () => {
    expect(callDurations({ ringingAt: t(2), answeredAt: null, bridgedAt: null, endedAt: t(32), holds: [] })).toEqual({
      ringMs: 30_000, talkMs: null, holdMs: 0, wrapupMs: null,
    });
  });

  it('no ringing signal (early failure, or a call closed from Asterisk\'s record): ring is unknown, not zero', () => {
    const d = callDurations({ ringingAt: null, answeredAt: t(5), bridgedAt: null, endedAt: t(6), holds: null });
    expect(d.ringMs).toBeNull();
    expect(d.holdMs).toBeNull();
    expect(d.talkMs).toBeNull();
  });

  it('answered but not joined (abandoned) has no talk time', () => {
    expect(callDurations({ ringingAt: t(0), answeredAt: t(3), bridgedAt: null, endedAt: t(10), holds: [] }).talkMs).toBeNull();
  });

  it('a hold still open at the end counts to the end', () => {
    expect(callDurations({ ringingAt: t(0), answeredAt: t(1), bridgedAt: t(1), endedAt: t(40), holds: [{ from: t(30), to: null }] }).holdMs).toBe(10_000);
  });

  it('a call still going has no talk or wrap-up yet', () => {
    expect(callDurations({ ringingAt: t(0), answeredAt: t(1), bridgedAt: t(1), endedAt: null, holds: [], dispositionAt: null })).toEqual({
      ringMs: 1000, talkMs: null, holdMs: 0, wrapupMs: null,
    });
  });

  it('clock disorder (an instant before the previous one) gives 0, never a negative duration', () => {
    expect(callDurations({ ringingAt: t(10), answeredAt: t(9), bridgedAt: null, endedAt: t(20), holds: [] }).ringMs).toBe(0);
  });
});

describe('HoldTracker', () => {
  it('pairs holds with unholds and ignores a repeated hold or a stray unhold', () => {
    const h = new HoldTracker();
    h.unhold(t(1));
    h.hold(t(2));
    h.hold(t(3));
    h.unhold(t(5));
    h.unhold(t(6));
    h.hold(t(8));
    expect(h.holds).toEqual([{ from: t(2), to: t(5) }, { from: t(8), to: null }]);
    expect(callDurations({ ringingAt: null, answeredAt: t(0), bridgedAt: t(0), endedAt: t(10), holds: h.holds }).holdMs).toBe(5000);
  });
});
