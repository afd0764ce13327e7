import { describe, expect, it } from 'vitest';
import { PredictivePacer, ProgressivePacer } from '../../../src/dialer/pacing/index.js';
import { snapshot } from './snapshot-fixture.js';

describe('PredictivePacer', () => {
  it('never dials when no agent is logged in, whatever the statistics say', () => {
    const pacer = new PredictivePacer();
    const cases = [
      snapshot({ agents: { ready: 0, paused: 0 } }),
      snapshot({ agents: { ready: 0, paused: 12 } }),
      snapshot({ agents: { ready: 0 }, abandonment: { abandoned: 0, rate: 0, liveAnswered: 5000 } }),
      snapshot({ agents: { ready: 0 }, calls: { dialingAgeSec: [1, 2, 20] } }),
    ];
    for (const s of cases) for (let i = 0; i < 30; i++) expect(pacer.decide(s)).toBe(0);
  });

  it('over-dials for free agents when the abandonment rate is well under the cap', () => {
    const s = snapshot({ agents: { ready: 10, onCallTalkSec: Array<number>(10).fill(60) } });
    const predictive = new PredictivePacer().decide(s);
    expect(predictive).toBeGreaterThan(new ProgressivePacer().decide(s));
    // ...but not absurdly: at 30% answers, 10 free agents do not warrant 40 lines.
    expect(predictive).toBeLessThan(30);
  });

  it('respects the campaign limit on concurrent calls', () => {
    const pacer = new PredictivePacer();
    const s = snapshot({
      agents: { ready: 10, onCallTalkSec: Array<number>(10).fill(100) },
      calls: { dialingAgeSec: [3, 4] },
      limits: { maxConcurrentCalls: 15 },
    });
    expect(pacer.decide(s)).toBe(3); // 15 − 10 talking − 2 dialing
    expect(pacer.decide({ ...s, limits: { ...s.limits, maxConcurrentCalls: 12 } })).toBe(0);
  });

  it('respects the calls-per-second limit', () => {
    const pacer = new PredictivePacer();
    const s = snapshot({ agents: { ready: 20 }, limits: { maxCallsPerSecond: 3 } });
    expect(pacer.decide(s)).toBe(3);
    expect(pacer.decide({ ...s, calls: { ...s.calls, placedInLastSecond: 2 } })).toBe(1);
    expect(pacer.decide({ ...s, calls: { ...s.calls, placedInLastSecond: 5 } })).toBe(0);
  });

  it('falls back to progressive once the measured rate reaches the cap', () => {
    const s = snapshot({
      agents: { ready: 6, onCallTalkSec: Array<number>(14).fill(170) },
      calls: { dialingAgeSec: [2] },
      abandonment: { liveAnswered: 1000, abandoned: 30, rate: 0.03 },
    });
    expect(new PredictivePacer().decide(s)).toBe(new ProgressivePacer().decide(s));
  });

  it('eases toward progressive as the rate nears the cap', () => {
    const at = (abandoned: number): number =>
      new PredictivePacer().decide(
        snapshot({
          agents: { ready: 8, onCallTalkSec: Array<number>(12).fill(120) },
          abandonment: { liveAnswered: 2000, abandoned, lifetimeAbandoned: abandoned, rate: abandoned / 2000 },
        }),
      );
    expect(at(10)).toBeGreaterThanOrEqual(at(57));
    expect(at(57)).toBeGreaterThan(at(60));
    expect(at(60)).toBe(8);
  });

  it('never places fewer calls than progressive would', () => {
    const pacer = new PredictivePacer({ minThreshold: 0.001 });
    const s = snapshot({
      agents: { ready: 5 },
      abandonment: { liveAnswered: 100, abandoned: 2, lifetimeLiveAnswered: 100, lifetimeAbandoned: 60 },
    });
    expect(pacer.decide(s)).toBe(5);
  });

  it('expects agents deep into a long call to free up sooner than agents who just started', () => {
    // Observed talks run 20-340 s: an agent at 330 s is almost done, one at 10 s is not.
    const fresh = new PredictivePacer().decide(snapshot({ agents: { ready: 2, onCallTalkSec: Array<number>(18).fill(10) } }));
    const ending = new PredictivePacer().decide(snapshot({ agents: { ready: 2, onCallTalkSec: Array<number>(18).fill(330) } }));
    expect(ending).toBeGreaterThan(fresh);
  });

  it('counts a call ringing past every observed answer time as unlikely to be answered', () => {
    const base = { agents: { ready: 6, onCallTalkSec: Array<number>(14).fill(60) } };
    const young = new PredictivePacer().decide(snapshot({ ...base, calls: { dialingAgeSec: [1, 1, 1, 1, 1, 1] } }));
    const old = new PredictivePacer().decide(snapshot({ ...base, calls: { dialingAgeSec: [22, 22, 22, 22, 22, 22] } }));
    expect(old).toBeGreaterThan(young);
  });

  it('tightens after abandonments and loosens after clean answers (integral action)', () => {
    const s = (answered: number, abandoned: number) =>
      snapshot({
        agents: { ready: 10, onCallTalkSec: Array<number>(10).fill(60) },
        abandonment: { lifetimeLiveAnswered: answered, lifetimeAbandoned: abandoned, liveAnswered: 2000, abandoned: 40 },
      });
    const pacer = new PredictivePacer();
    pacer.decide(s(1000, 10));
    const before = pacer.lastTrace()?.threshold ?? Number.NaN;
    pacer.decide(s(1010, 20)); // ten abandonments in ten answers
    const after = pacer.lastTrace()?.threshold ?? Number.NaN;
    expect(after).toBeLessThan(before);
    pacer.decide(s(3010, 20)); // two thousand clean answers
    expect(pacer.lastTrace()?.threshold ?? Number.NaN).toBeGreaterThan(after);
  });
});
