// A discrete-event simulator of one outbound campaign, driving a Pacer exactly as the live dialer
// does: on every tick it builds a PacingSnapshot from what a live dialer could know (agent states
// and how long they have been in them, ages of calls still dialing, rolling statistics, the
// regulator-style abandonment meter) and originates the number of calls the pacer returns.
// Outcomes are drawn when a call is placed but the pacer never sees them before they happen.
//
// Model (all times in seconds; defaults in DEFAULT_SIMULATION):
// - N agents, logged in and unpaused for the whole run.
// - A placed call is answered by a live person with probability `answerProbability`, after a ring
//   time uniform on [answerDelaySec.min, answerDelaySec.max]. Otherwise it ends unanswered: a share
//   `fastFailureShare` end quickly (busy, congestion, number not in service) after a uniform
//   `fastFailureDelaySec`, the rest ring out at `noAnswerTimeoutSec`.
// - An answered call goes to the longest-idle free agent at once; if none is free it waits, and is
//   abandoned (with the information message) if no agent frees up within `abandonAfterSec`.
// - Talk time is lognormal by default (mean 180 s, coefficient of variation 0.9), the usual shape
//   of call-centre handling times: most calls short, a long right tail. Exponential is available
//   for comparison. Wrap-up is a fixed `wrapUpSec` (0 by default).
// - Random streams are split by purpose (call outcomes, talk times), so the n-th call placed has
//   the same fate under every pacer for a given seed: comparisons between pacers are paired.
// Reported occupancy is talk time / (agents × time after warm-up); abandonment counts the whole
// run, as a regulator would count the day.

import { AbandonmentMeter, ROLLING_30_DAYS, type AbandonmentWindow } from './abandonment-meter.js';
import { CallStatisticsCollector } from './call-statistics.js';
import { EventQueue } from './event-queue.js';
import type { Pacer } from './pacer.js';
import { createRandom, exponential, lognormal, uniform, type Random } from './random.js';
import type { CampaignPacingLimits, PacingSnapshot } from './snapshot.js';

export interface SimulationConfig {
  readonly seed: number;
  readonly agents: number;
  readonly durationSec: number;
  /** Occupancy ignores this opening stretch (the pacer has no statistics yet). Default 600. */
  readonly warmUpSec?: number;
  /** Seconds between pacer calls. Default 1. */
  readonly tickSec?: number;
  /** Wall-clock start (epoch ms); matters for calendar-day windows and VICIdial's HHMM. Default 2025-03-04 09:00 UTC. */
  readonly startAtMs?: number;
  readonly answerProbability?: number;
  readonly answerDelaySec?: { readonly min: number; readonly max: number };
  readonly noAnswerTimeoutSec?: number;
  readonly fastFailureShare?: number;
  readonly fastFailureDelaySec?: { readonly min: number; readonly max: number };
  readonly talk?: { readonly distribution: 'lognormal' | 'exponential'; readonly meanSec: number; readonly cv?: number };
  readonly wrapUpSec?: number;
  readonly abandonAfterSec?: number;
  /** Campaign limits; default cap 0.03, 5 concurrent calls per agent, 50 calls per second. */
  readonly limits?: Partial<CampaignPacingLimits>;
  /** How the abandonment meter the pacer sees is windowed. Default rolling 30 days. */
  readonly measurementWindow?: AbandonmentWindow;
}

export const DEFAULT_SIMULATION = {
  warmUpSec: 600,
  tickSec: 1,
  startAtMs: Date.UTC(2025, 2, 4, 9, 0, 0),
  answerProbability: 0.3,
  answerDelaySec: { min: 5, max: 20 },
  noAnswerTimeoutSec: 25,
  fastFailureShare: 0.2,
  fastFailureDelaySec: { min: 1, max: 6 },
  talk: { distribution: 'lognormal', meanSec: 180, cv: 0.9 },
  wrapUpSec: 0,
  abandonAfterSec: 2,
  abandonCap: 0.03,
  concurrentCallsPerAgent: 5,
  maxCallsPerSecond: 50,
} as const;

export interface SimulationReport {
  readonly pacer: string;
  readonly seed: number;
  readonly agents: number;
  readonly simulatedSec: number;
  readonly warmUpSec: number;
  /** Talk time / (agents × simulated time after warm-up). */
  readonly occupancy: number;
  /** Abandoned / live answered over the whole run. */
  readonly abandonmentRate: number;
  readonly placed: number;
  readonly answered: number;
  readonly abandoned: number;
  readonly connected: number;
  /** Calls connected to an agent, per agent per hour of the whole run. */
  readonly callsPerAgentHour: number;
  /** Highest abandonment rate of any clock hour with at least 30 answers (a burstiness check). */
  readonly worstHourAbandonmentRate: number;
}

type SimEvent =
  | { readonly kind: 'tick' }
  | { readonly kind: 'resolve'; readonly callId: number }
  | { readonly kind: 'grace-end'; readonly callId: number }
  | { readonly kind: 'talk-end'; readonly agent: number }
  | { readonly kind: 'wrap-end'; readonly agent: number };

interface DialingCall {
  readonly placedAt: number;
  readonly answers: boolean;
  readonly resolveAt: number;
}

interface AgentState {
  state: 'ready' | 'on-call' | 'wrap-up';
  since: number;
}

export function simulate(pacer: Pacer, config: SimulationConfig): SimulationReport {
  const c = resolveConfig(config);
  const outcomeRandom = createRandom(config.seed * 2 + 1);
  const talkRandom = createRandom(config.seed * 2 + 2);
  const queue = new EventQueue<SimEvent>();
  const statistics = new CallStatisticsCollector();
  const meter = new AbandonmentMeter(c.measurementWindow);
  const toMs = (t: number): number => c.startAtMs + Math.round(t * 1000);

  const agents: AgentState[] = Array.from({ length: config.agents }, () => ({ state: 'ready' as const, since: 0 }));
  const readyQueue: number[] = agents.map((_, i) => i); // longest idle first
  const dialing = new Map<number, DialingCall>();
  const waiting: { callId: number; answeredAt: number }[] = [];
  const recentPlacements: number[] = [];
  let nextCallId = 0;

  let placed = 0;
  let answered = 0;
  let abandoned = 0;
  let connected = 0;
  let talkAfterWarmUp = 0;
  const hourly = new Map<number, { answered: number; abandoned: number }>();
  const countHour = (t: number, wasAbandoned: boolean): void => {
    const h = Math.floor(t / 3600);
    const e = hourly.get(h) ?? { answered: 0, abandoned: 0 };
    e.answered++;
    if (wasAbandoned) e.abandoned++;
    hourly.set(h, e);
  };

  const end = config.durationSec;
  const addTalk = (from: number, to: number): void => {
    const a = Math.max(from, c.warmUpSec);
    const b = Math.min(to, end);
    if (b > a) talkAfterWarmUp += b - a;
  };

  const connect = (agent: number, callAnsweredAt: number, now: number): void => {
    const a = agents[agent] as AgentState;
    a.state = 'on-call';
    a.since = now;
    connected++;
    answered++;
    countHour(callAnsweredAt, false);
    meter.recordLiveAnswered(toMs(callAnsweredAt), false);
    queue.push(now + drawTalk(c, talkRandom), { kind: 'talk-end', agent });
  };

  const agentFree = (agent: number, now: number): void => {
    const next = waiting.shift();
    if (next !== undefined) {
      connect(agent, next.answeredAt, now);
      return;
    }
    const a = agents[agent] as AgentState;
    a.state = 'ready';
    a.since = now;
    readyQueue.push(agent);
  };

  const placeCall = (now: number): void => {
    const id = nextCallId++;
    const answers = outcomeRandom.next() < c.answerProbability;
    let delay: number;
    if (answers) delay = uniform(outcomeRandom, c.answerDelaySec.min, c.answerDelaySec.max);
    else if (outcomeRandom.next() < c.fastFailureShare) {
      delay = uniform(outcomeRandom, c.fastFailureDelaySec.min, c.fastFailureDelaySec.max);
    } else delay = c.noAnswerTimeoutSec;
    dialing.set(id, { placedAt: now, answers, resolveAt: now + delay });
    queue.push(now + delay, { kind: 'resolve', callId: id });
    placed++;
    meter.recordPlaced(toMs(now));
    recentPlacements.push(now);
  };

  const snapshotAt = (now: number): PacingSnapshot => {
    while (recentPlacements.length > 0 && (recentPlacements[0] as number) <= now - 1) recentPlacements.shift();
    const onCallTalkSec: number[] = [];
    const wrapUpSec: number[] = [];
    for (const a of agents) {
      if (a.state === 'on-call') onCallTalkSec.push(now - a.since);
      else if (a.state === 'wrap-up') wrapUpSec.push(now - a.since);
    }
    const dialingAgeSec: number[] = [];
    for (const call of dialing.values()) dialingAgeSec.push(now - call.placedAt);
    return {
      nowMs: toMs(now),
      limits: c.limits,
      agents: { ready: readyQueue.length, reserved: 0, onCallTalkSec, wrapUpSec, paused: 0 },
      calls: { dialingAgeSec, waitingForAgent: waiting.length, placedInLastSecond: recentPlacements.length },
      statistics: statistics.snapshot(),
      abandonment: meter.stats(toMs(now)),
    };
  };

  queue.push(0, { kind: 'tick' });
  for (;;) {
    const item = queue.pop();
    if (item === undefined || item.at > end) break;
    const now = item.at;
    const ev = item.event;
    switch (ev.kind) {
      case 'tick': {
        const n = pacer.decide(snapshotAt(now));
        for (let i = 0; i < n; i++) placeCall(now);
        queue.push(now + c.tickSec, { kind: 'tick' });
        break;
      }
      case 'resolve': {
        const call = dialing.get(ev.callId);
        if (call === undefined) break;
        dialing.delete(ev.callId);
        const delay = now - call.placedAt;
        if (!call.answers) {
          statistics.recordNoAnswer(delay);
          break;
        }
        statistics.recordLiveAnswer(delay);
        const agent = readyQueue.shift();
        if (agent !== undefined) connect(agent, now, now);
        else {
          waiting.push({ callId: ev.callId, answeredAt: now });
          queue.push(now + c.abandonAfterSec, { kind: 'grace-end', callId: ev.callId });
        }
        break;
      }
      case 'grace-end': {
        const i = waiting.findIndex((w) => w.callId === ev.callId);
        if (i < 0) break; // connected in time
        const [w] = waiting.splice(i, 1);
        if (w === undefined) break;
        answered++;
        abandoned++;
        countHour(w.answeredAt, true);
        meter.recordLiveAnswered(toMs(w.answeredAt), true);
        break;
      }
      case 'talk-end': {
        const a = agents[ev.agent] as AgentState;
        const talk = now - a.since;
        statistics.recordTalk(talk);
        addTalk(a.since, now);
        if (c.wrapUpSec > 0) {
          a.state = 'wrap-up';
          a.since = now;
          queue.push(now + c.wrapUpSec, { kind: 'wrap-end', agent: ev.agent });
        } else {
          statistics.recordWrapUp(0);
          agentFree(ev.agent, now);
        }
        break;
      }
      case 'wrap-end': {
        const a = agents[ev.agent] as AgentState;
        statistics.recordWrapUp(now - a.since);
        agentFree(ev.agent, now);
        break;
      }
    }
  }
  for (const a of agents) if (a.state === 'on-call') addTalk(a.since, end);

  let worstHour = 0;
  for (const h of hourly.values()) {
    if (h.answered >= 30) worstHour = Math.max(worstHour, h.abandoned / h.answered);
  }
  const measured = Math.max(1e-9, end - c.warmUpSec);
  return {
    pacer: pacer.name,
    seed: config.seed,
    agents: config.agents,
    simulatedSec: end,
    warmUpSec: c.warmUpSec,
    occupancy: config.agents > 0 ? talkAfterWarmUp / (config.agents * measured) : 0,
    abandonmentRate: answered > 0 ? abandoned / answered : 0,
    placed,
    answered,
    abandoned,
    connected,
    callsPerAgentHour: config.agents > 0 ? connected / config.agents / (end / 3600) : 0,
    worstHourAbandonmentRate: worstHour,
  };
}

interface ResolvedConfig {
  warmUpSec: number;
  tickSec: number;
  startAtMs: number;
  answerProbability: number;
  answerDelaySec: { min: number; max: number };
  noAnswerTimeoutSec: number;
  fastFailureShare: number;
  fastFailureDelaySec: { min: number; max: number };
  talk: { distribution: 'lognormal' | 'exponential'; meanSec: number; cv: number };
  wrapUpSec: number;
  abandonAfterSec: number;
  limits: CampaignPacingLimits;
  measurementWindow: AbandonmentWindow;
}

function resolveConfig(config: SimulationConfig): ResolvedConfig {
  const d = DEFAULT_SIMULATION;
  if (!(config.agents >= 0 && Number.isInteger(config.agents))) {
    throw new Error(`agents must be a whole number ≥ 0, got ${config.agents}`);
  }
  if (!(config.durationSec > 0)) throw new Error(`durationSec must be positive, got ${config.durationSec}`);
  const tickSec = config.tickSec ?? d.tickSec;
  if (!(tickSec > 0)) throw new Error(`tickSec must be positive, got ${tickSec}`);
  return {
    warmUpSec: Math.min(config.warmUpSec ?? d.warmUpSec, config.durationSec / 2),
    tickSec,
    startAtMs: config.startAtMs ?? d.startAtMs,
    answerProbability: config.answerProbability ?? d.answerProbability,
    answerDelaySec: config.answerDelaySec ?? d.answerDelaySec,
    noAnswerTimeoutSec: config.noAnswerTimeoutSec ?? d.noAnswerTimeoutSec,
    fastFailureShare: config.fastFailureShare ?? d.fastFailureShare,
    fastFailureDelaySec: config.fastFailureDelaySec ?? d.fastFailureDelaySec,
    talk: {
      distribution: config.talk?.distribution ?? d.talk.distribution,
      meanSec: config.talk?.meanSec ?? d.talk.meanSec,
      cv: config.talk?.cv ?? d.talk.cv,
    },
    wrapUpSec: config.wrapUpSec ?? d.wrapUpSec,
    abandonAfterSec: config.abandonAfterSec ?? d.abandonAfterSec,
    limits: {
      abandonCap: config.limits?.abandonCap ?? d.abandonCap,
      maxConcurrentCalls: config.limits?.maxConcurrentCalls ?? Math.max(1, config.agents * d.concurrentCallsPerAgent),
      maxCallsPerSecond: config.limits?.maxCallsPerSecond ?? d.maxCallsPerSecond,
    },
    measurementWindow: config.measurementWindow ?? ROLLING_30_DAYS,
  };
}

function drawTalk(c: ResolvedConfig, random: Random): number {
  return c.talk.distribution === 'exponential'
    ? exponential(random, c.talk.meanSec)
    : lognormal(random, c.talk.meanSec, c.talk.cv);
}
