import { describe, expect, it } from 'vitest';
import { VicidialAdaptivePacer } from '../../../src/dialer/pacing/index.js';
import { snapshot, type SnapshotOverrides } from './snapshot-fixture.js';

const T0 = Date.UTC(2025, 2, 4, 12, 0, 0); // 12:00 UTC, the model's default server zone

/** Calls decide once a second for `seconds` with the same state; returns the last decision. */
function run(pacer: VicidialAdaptivePacer, seconds: number, o: SnapshotOverrides, from = T0): number {
  let n = 0;
  for (let i = 0; i < seconds; i++) n = pacer.decide(snapshot({ ...o, nowMs: from + i * 1000 }));
  return n;
}

const quiet = { abandonment: { placed: 0, liveAnswered: 0, abandoned: 0, rate: 0 } };

describe('VicidialAdaptivePacer', () => {
  it('keeps round(level × agents) lines up, counting calls with agents', () => {
    const pacer = new VicidialAdaptivePacer({ initialDialLevel: 2 });
    // 10 agents (4 ready, 6 talking), 5 calls dialing: 20 − 6 − 5 = 9 new calls.
    const n = pacer.decide(
      snapshot({ ...quiet, agents: { ready: 4, onCallTalkSec: [1, 2, 3, 4, 5, 6] }, calls: { dialingAgeSec: [1, 2, 3, 4, 5] } }),
    );
    expect(n).toBe(9);
  });

  it('raises the level every 15 s while agents wait and no calls do', () => {
    const pacer = new VicidialAdaptivePacer();
    const state = { ...quiet, agents: { ready: 5, onCallTalkSec: Array<number>(15).fill(30) } };
    run(pacer, 15, state);
    expect(pacer.dialLevel()).toBe(1); // not yet 15 s
    run(pacer, 1, state, T0 + 15_000);
    expect(pacer.dialLevel()).toBeCloseTo(1.25, 10); // × (1 + 5/20)
    run(pacer, 200, state, T0 + 16_000);
    expect(pacer.dialLevel()).toBe(3); // adaptive_maximum_level
  });

  it('lowers the level when answered calls wait for agents', () => {
    const pacer = new VicidialAdaptivePacer({ initialDialLevel: 2.5 });
    run(pacer, 31, { ...quiet, agents: { ready: 0, onCallTalkSec: Array<number>(20).fill(30) }, calls: { waitingForAgent: 2 } });
    expect(pacer.dialLevel()).toBeLessThan(2.5);
  });

  it('ADAPT_HARD_LIMIT drops to 1.0 once today\u2019s drop % is over the limit', () => {
    const pacer = new VicidialAdaptivePacer({ dialMethod: 'ADAPT_HARD_LIMIT', initialDialLevel: 2.5 });
    const over = { placed: 400, liveAnswered: 100, abandoned: 4, rate: 0.04 };
    run(pacer, 16, { agents: { ready: 5, onCallTalkSec: Array<number>(15).fill(30) }, abandonment: over });
    expect(pacer.dialLevel()).toBe(1);
  });

  it('ADAPT_TAPERED only tapers once fewer than "1000" HHMM units are left before the latest time', () => {
    const state = (now: number) => ({
      agents: { ready: 0, onCallTalkSec: Array<number>(20).fill(30) },
      abandonment: { placed: 400, liveAnswered: 100, abandoned: 4, rate: 0.04 },
      nowMs: now,
    });
    const morning = new VicidialAdaptivePacer({ initialDialLevel: 2 });
    run(morning, 16, state(0), Date.UTC(2025, 2, 4, 9)); // 2100 − 0900 = 1200 left: no taper
    expect(morning.dialLevel()).toBe(2);
    const afternoon = new VicidialAdaptivePacer({ initialDialLevel: 2 });
    run(afternoon, 16, state(0), Date.UTC(2025, 2, 4, 16)); // 2100 − 1600 = 500 left: × 0.5
    expect(afternoon.dialLevel()).toBe(1);
  });

  it('never dials without agents', () => {
    const pacer = new VicidialAdaptivePacer({ initialDialLevel: 3 });
    expect(run(pacer, 40, { ...quiet, agents: { ready: 0, paused: 4 } })).toBe(0);
  });
});
