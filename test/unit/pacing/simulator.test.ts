import { describe, expect, it } from 'vitest';
import {
  PredictivePacer,
  ProgressivePacer,
  VicidialAdaptivePacer,
  simulate,
  type Pacer,
  type PacingSnapshot,
} from '../../../src/dialer/pacing/index.js';

describe('pacing simulator', () => {
  it('is deterministic for a seed, and the seed matters', () => {
    const run = (seed: number) => simulate(new PredictivePacer(), { seed, agents: 10, durationSec: 1800 });
    expect(run(7)).toEqual(run(7));
    expect(run(8)).not.toEqual(run(7));
  });

  it('gives the same call outcomes to every pacer for a seed (paired comparisons)', () => {
    // Both pacers place 5 calls at t=0 for 5 agents and never again: identical outcomes.
    const once = (): Pacer => {
      let first = true;
      return {
        name: 'once',
        decide: (s: PacingSnapshot) => (first ? ((first = false), s.agents.ready) : 0),
      };
    };
    const a = simulate(once(), { seed: 3, agents: 5, durationSec: 60, warmUpSec: 0 });
    const b = simulate(once(), { seed: 3, agents: 5, durationSec: 60, warmUpSec: 0 });
    expect(a.answered).toBe(b.answered);
    expect(a.placed).toBe(5);
  });

  it('shows the pacer only what a live dialer could know', () => {
    const seen: PacingSnapshot[] = [];
    const spy: Pacer = { name: 'spy', decide: (s) => (seen.push(s), new ProgressivePacer().decide(s)) };
    simulate(spy, { seed: 1, agents: 4, durationSec: 120 });
    expect(seen.length).toBe(121); // a tick every second, 0..120
    for (const s of seen) {
      expect(s.agents.ready + s.agents.onCallTalkSec.length).toBe(4);
      for (const age of s.calls.dialingAgeSec) expect(age).toBeLessThanOrEqual(25);
      expect(Object.keys(s).sort()).toEqual(['abandonment', 'agents', 'calls', 'limits', 'nowMs', 'statistics']);
    }
  });

  it('progressive dialing abandons nothing; occupancy is talk time over agent time', () => {
    const r = simulate(new ProgressivePacer(), { seed: 5, agents: 10, durationSec: 3600 });
    expect(r.abandoned).toBe(0);
    expect(r.occupancy).toBeGreaterThan(0.6);
    expect(r.occupancy).toBeLessThan(0.85);
    expect(r.connected).toBe(r.answered);
  });

  it('abandons an answered call when no agent frees up within 2 s', () => {
    // One agent, and a pacer that dials 8 lines at once: several answers must be abandoned.
    let first = true;
    const greedy: Pacer = { name: 'greedy', decide: () => (first ? ((first = false), 8) : 0) };
    const r = simulate(greedy, { seed: 2, agents: 1, durationSec: 60, warmUpSec: 0, answerProbability: 1 });
    expect(r.answered).toBe(8);
    expect(r.connected).toBe(1);
    expect(r.abandoned).toBe(7);
  });

  it('20 agents for 2 hours: ours keeps abandonment under 3% and beats progressive occupancy', () => {
    const config = { seed: 42, agents: 20, durationSec: 2 * 3600, limits: { abandonCap: 0.03 } };
    const ours = simulate(new PredictivePacer(), config);
    const progressive = simulate(new ProgressivePacer(), config);
    expect(ours.abandonmentRate).toBeLessThanOrEqual(0.03);
    expect(ours.occupancy).toBeGreaterThan(progressive.occupancy + 0.05);
  });

  it('at a 1% cap ours stays under 1% too', () => {
    const r = simulate(new PredictivePacer(), { seed: 9, agents: 20, durationSec: 2 * 3600, limits: { abandonCap: 0.01 } });
    expect(r.abandonmentRate).toBeLessThanOrEqual(0.01);
  });

  it('runs the VICIdial model on its 15-second recompute', () => {
    const r = simulate(new VicidialAdaptivePacer({ dialMethod: 'ADAPT_HARD_LIMIT' }), {
      seed: 1,
      agents: 20,
      durationSec: 3600,
    });
    expect(r.placed).toBeGreaterThan(0);
    expect(r.occupancy).toBeGreaterThan(0.5);
  });
});
