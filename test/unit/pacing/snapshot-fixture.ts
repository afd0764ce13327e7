// Builds PacingSnapshots for pacing unit tests: sensible defaults, override what the test is about.
import type {
  AbandonmentStats,
  AgentsSnapshot,
  CallStatistics,
  CallsSnapshot,
  CampaignPacingLimits,
  PacingSnapshot,
} from '../../../src/dialer/pacing/index.js';

export interface SnapshotOverrides {
  nowMs?: number;
  limits?: Partial<CampaignPacingLimits>;
  agents?: Partial<AgentsSnapshot>;
  calls?: Partial<CallsSnapshot>;
  statistics?: Partial<CallStatistics>;
  abandonment?: Partial<AbandonmentStats>;
}

/** A campaign that has been running a while: 30% answers after 5-20 s, talk around 180 s. */
export function steadyStatistics(): CallStatistics {
  const answerDelays = Array.from({ length: 150 }, (_, i) => 5 + (15 * i) / 149);
  const noAnswer = Array.from({ length: 350 }, (_, i) => (i < 70 ? 1 + (5 * i) / 69 : 25));
  const talks = Array.from({ length: 400 }, (_, i) => 20 + (320 * i) / 399);
  return {
    completedAttempts: 500,
    liveAnswers: 150,
    answerDelaySecSorted: answerDelays,
    noAnswerDelaySecSorted: noAnswer,
    talkSecSorted: talks,
    meanTalkSec: 180,
    meanWrapUpSec: 0,
  };
}

export function snapshot(o: SnapshotOverrides = {}): PacingSnapshot {
  return {
    nowMs: o.nowMs ?? Date.UTC(2025, 2, 4, 12),
    limits: { abandonCap: 0.03, maxConcurrentCalls: 1000, maxCallsPerSecond: 1000, ...o.limits },
    agents: { ready: 0, reserved: 0, onCallTalkSec: [], wrapUpSec: [], paused: 0, ...o.agents },
    calls: { dialingAgeSec: [], waitingForAgent: 0, placedInLastSecond: 0, ...o.calls },
    statistics: { ...steadyStatistics(), ...o.statistics },
    abandonment: {
      placed: 3000,
      liveAnswered: 900,
      abandoned: 9,
      rate: 0.01,
      windowStartMs: 0,
      lifetimeLiveAnswered: 900,
      lifetimeAbandoned: 9,
      ...o.abandonment,
    },
  };
}
