// The pacing room's public surface: pacers, the statistics and meter that feed them, and the
// simulator that drives them. Everything here is pure (no I/O), so the live dialer and the
// benchmark run the very same code.

export type { Pacer } from './pacer.js';
export { applyCampaignLimits } from './pacer.js';
export type {
  AbandonmentStats,
  AgentsSnapshot,
  CallStatistics,
  CallsSnapshot,
  CampaignPacingLimits,
  PacingSnapshot,
} from './snapshot.js';
export { activeCalls, workingAgents } from './snapshot.js';
export { ProgressivePacer, uncoveredReadyAgents } from './progressive-pacer.js';
export { AgentCoverage } from './agent-coverage.js';
export type { Serves } from './agent-coverage.js';
export { PredictivePacer } from './predictive-pacer.js';
export type { PredictiveDecisionTrace, PredictivePacerOptions } from './predictive-pacer.js';
export { VicidialAdaptivePacer } from './vicidial-adaptive-pacer.js';
export type { VicidialAdaptiveOptions, VicidialDialMethod } from './vicidial-adaptive-pacer.js';
export { AbandonmentMeter, ROLLING_30_DAYS, calendarDay } from './abandonment-meter.js';
export type { AbandonmentWindow } from './abandonment-meter.js';
export { liveAnswerOf, seedAbandonmentMeter } from './abandonment-seed.js';
export type { AbandonmentBucket, MeteredCall } from './abandonment-seed.js';
export { CallStatisticsCollector } from './call-statistics.js';
export type { CallStatisticsOptions } from './call-statistics.js';
export { DEFAULT_SIMULATION, simulate } from './simulator.js';
export type { SimulationConfig, SimulationReport } from './simulator.js';
