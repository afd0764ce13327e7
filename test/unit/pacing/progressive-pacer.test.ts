import { describe, expect, it } from 'vitest';
import { ProgressivePacer } from '../../../src/dialer/pacing/index.js';
import { snapshot } from './snapshot-fixture.js';

describe('ProgressivePacer', () => {
  const pacer = new ProgressivePacer();

  it('places exactly one call per free agent', () => {
    for (const ready of [0, 1, 7, 20]) {
      expect(pacer.decide(snapshot({ agents: { ready, onCallTalkSec: [30, 60] } }))).toBe(ready);
    }
  });

  it('counts calls already dialing or waiting as covering free agents', () => {
    const s = snapshot({ agents: { ready: 7 }, calls: { dialingAgeSec: [1, 4, 9], waitingForAgent: 1 } });
    expect(pacer.decide(s)).toBe(3);
    expect(pacer.decide(snapshot({ agents: { ready: 2 }, calls: { dialingAgeSec: [1, 2, 3] } }))).toBe(0);
  });

  it('does not dial for reserved, paused or busy agents', () => {
    const s = snapshot({ agents: { ready: 0, reserved: 2, paused: 5, onCallTalkSec: [10], wrapUpSec: [3] } });
    expect(pacer.decide(s)).toBe(0);
  });

  it('stays within the concurrent-call and calls-per-second limits', () => {
    expect(pacer.decide(snapshot({ agents: { ready: 10 }, limits: { maxCallsPerSecond: 4 } }))).toBe(4);
    expect(
      pacer.decide(snapshot({ agents: { ready: 10 }, limits: { maxCallsPerSecond: 4 }, calls: { placedInLastSecond: 3 } })),
    ).toBe(1);
    // 6 agents talking hold 6 channels of the 9 allowed.
    const s = snapshot({ agents: { ready: 10, onCallTalkSec: [1, 2, 3, 4, 5, 6] }, limits: { maxConcurrentCalls: 9 } });
    expect(pacer.decide(s)).toBe(3);
  });
});
