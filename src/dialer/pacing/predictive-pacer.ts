// Dialwell's predictive pacer. Each tick it asks, for each extra call it could place: "if this
// call is answered, how likely is it that no agent is free for it?", and places calls while that
// marginal risk stays under a threshold θ. A feedback controller moves θ so that the abandoned-
// call rate, measured as regulators measure it, sits at a target below the campaign's cap, and
// the pacer eases back to progressive dialing as the measured rate nears the cap.
//
// The model behind the marginal risk, over a horizon H = ½ · mean time-to-answer + grace (2 s):
//   supply S = ready agents + Σ Bernoulli(P(agent i's talk and wrap-up end within H | talked τᵢ))
//              + Σ Bernoulli(P(wrap-up ends within H)) over agents in wrap-up,
//              with the talk-end probability read from the observed talk-time distribution
//              (a residual-life estimate: long talkers and fresh talkers are different bets);
//   demand D = answered calls waiting for an agent
//              + Σ Bernoulli(P(call j is eventually answered | still ringing at age aⱼ))
//              + Binomial(k, p) for k new calls, p the recent live-answer rate.
// The (k+1)-th new call, if answered, finds no agent with probability ≈ P(D_k ≥ S), and the
// expected abandonments grow by p·P(D_k ≥ S) when it is placed. Both sums are computed exactly
// (Poisson-binomial). The model ignores the order of events inside H; the controller absorbs
// that bias, which is why it exists. Demand counts every eventual answer of the calls now
// ringing, whenever it comes (an agent taken by a new call is missing for them too), while supply
// counts only agents free by H. H is half the mean time-to-answer plus the grace period, chosen in
// the simulator: with the full mean, the early answers (5 s) of new calls meet agents who free up
// only at 12-15 s. Between 0.3 and 0.75 of the mean, occupancy moved by less than the seed noise;
// with the full mean it was about half a point lower at the same abandonment.
//
// Controller (PI on the measured abandonment, in log θ):
//   integral: every live answer raises log θ by step, every abandonment lowers it by step/target,
//     so it settles where abandonments/answers = target (a stochastic-approximation integral);
//   proportional: on the regulator-window rate, −gain · max(0, rate − target)/cap (it only tightens);
//   taper: θ is scaled down linearly from 1 at taperFrom·cap to 0 at the cap, where the pacer is
//     progressive (one line per free agent, which abandons nothing by itself). The rate it reads
//     counts one more abandonment than measured.
//     The taper also follows the abandonment budget, cap · answers − abandoned: with fewer than
//     budgetTaperAbandons left it eases toward progressive too. That binds early in a window and
//     on small campaigns at low caps, where one burst of answers would otherwise cross the cap.
// The pacer never places fewer calls than progressive would, never dials with no agent logged in,
// and stays within the campaign's concurrent-call and calls-per-second limits.

import {
  addBernoulli,
  bernoulliSumPmf,
  endWithinProbability,
  probabilityAtLeast,
  survival,
} from './distributions.js';
import { applyCampaignLimits, type Pacer } from './pacer.js';
import { uncoveredReadyAgents } from './progressive-pacer.js';
import { workingAgents, type PacingSnapshot } from './snapshot.js';

export interface PredictivePacerOptions {
  /** Aim the measured rate at this fraction of the cap, leaving room for chance. Default 0.85. */
  readonly targetFractionOfCap?: number;
  /** Start easing toward progressive when the window rate passes this fraction of the cap. Default 0.95. */
  readonly taperFromFractionOfCap?: number;
  /** Seconds an answered call may wait for an agent before it is abandoned. Default 2. */
  readonly abandonGraceSec?: number;
  /**
   * The window rate is computed over at least this many answers (so 1 abandonment in the first 5
   * answers of a day is not read as 20%). Default 2 / cap.
   */
  readonly minAnswersForRate?: number;
  /**
   * Ease toward progressive also while fewer than this many more abandonments would keep the
   * window under the cap (fully progressive at one). Default 4.
   */
  readonly budgetTaperAbandons?: number;
  /** Calls dialing at once per working agent, at most (a guard against a bad answer-rate estimate). Default 4. */
  readonly maxDialingPerAgent?: number;
  /** Prior answer rate, worth `priorAttempts` attempts; high is cautious. Default 0.5 over 20. */
  readonly priorAnswerRate?: number;
  readonly priorAttempts?: number;
  /** Used until enough calls are observed; long talk and slow answers are the cautious guesses. */
  readonly defaultTalkSec?: number;
  readonly defaultAnswerDelaySec?: number;
  readonly defaultNoAnswerDelaySec?: number;
  /**
   * The horizon over which agents are expected to free up is this fraction of the mean
   * time-to-answer, plus the grace period. Default 0.5 (see the header).
   */
  readonly horizonAnswerDelayFraction?: number;
  /** Controller: starting marginal risk θ as a multiple of the target rate. Default 3. */
  readonly initialThresholdFactor?: number;
  /**
   * Controller: the integral step, as the change of log θ per live answer; an abandonment moves
   * it by −step/target. Per answer rather than per abandonment, so the controller settles in
   * the same number of calls whatever the cap. Default 0.002.
   */
  readonly integralStep?: number;
  /** Controller: proportional gain on (target − window rate) / cap. Default 1.5. */
  readonly proportionalGain?: number;
  /** Bounds of θ. Defaults 0.001 and 0.6. */
  readonly minThreshold?: number;
  readonly maxThreshold?: number;
}

/** What the pacer decided and why; kept for logs, tests and the benchmark. */
export interface PredictiveDecisionTrace {
  readonly threshold: number;
  readonly taper: number;
  readonly windowRate: number;
  readonly answerRate: number;
  readonly horizonSec: number;
  readonly expectedSupply: number;
  readonly expectedDemand: number;
  readonly progressive: number;
  readonly wanted: number;
  readonly placed: number;
}

export class PredictivePacer implements Pacer {
  readonly name: string;
  private readonly o: Required<PredictivePacerOptions>;
  private integral = 0;
  private lastLifetimeAnswered: number | undefined;
  private lastLifetimeAbandoned = 0;
  private trace: PredictiveDecisionTrace | undefined;

  constructor(options: PredictivePacerOptions = {}, name = 'predictive') {
    this.name = name;
    this.o = {
      targetFractionOfCap: options.targetFractionOfCap ?? 0.85,
      taperFromFractionOfCap: options.taperFromFractionOfCap ?? 0.95,
      abandonGraceSec: options.abandonGraceSec ?? 2,
      minAnswersForRate: options.minAnswersForRate ?? Number.NaN,
      budgetTaperAbandons: options.budgetTaperAbandons ?? 4,
      maxDialingPerAgent: options.maxDialingPerAgent ?? 4,
      priorAnswerRate: options.priorAnswerRate ?? 0.5,
      priorAttempts: options.priorAttempts ?? 20,
      defaultTalkSec: options.defaultTalkSec ?? 300,
      defaultAnswerDelaySec: options.defaultAnswerDelaySec ?? 15,
      defaultNoAnswerDelaySec: options.defaultNoAnswerDelaySec ?? 25,
      horizonAnswerDelayFraction: options.horizonAnswerDelayFraction ?? 0.5,
      initialThresholdFactor: options.initialThresholdFactor ?? 3,
      integralStep: options.integralStep ?? 0.002,
      proportionalGain: options.proportionalGain ?? 1.5,
      minThreshold: options.minThreshold ?? 0.001,
      maxThreshold: options.maxThreshold ?? 0.6,
    };
    if (!(this.o.targetFractionOfCap > 0 && this.o.targetFractionOfCap <= 1)) {
      throw new Error(`targetFractionOfCap must be in (0, 1], got ${this.o.targetFractionOfCap}`);
    }
    if (!(this.o.taperFromFractionOfCap > 0 && this.o.taperFromFractionOfCap < 1)) {
      throw new Error(`taperFromFractionOfCap must be in (0, 1), got ${this.o.taperFromFractionOfCap}`);
    }
  }

  /** The last decision's internals (undefined before the first predictive decision). */
  lastTrace(): PredictiveDecisionTrace | undefined {
    return this.trace;
  }

  decide(snapshot: PacingSnapshot): number {
    const working = workingAgents(snapshot.agents);
    if (working === 0) return 0;
    const progressive = uncoveredReadyAgents(snapshot);
    const cap = snapshot.limits.abandonCap;
    if (!(cap > 0)) return applyCampaignLimits(progressive, snapshot);

    const target = cap * this.o.targetFractionOfCap;
    this.updateIntegral(snapshot, target);

    const ab = snapshot.abandonment;
    const minAnswers = Number.isNaN(this.o.minAnswersForRate) ? 2 / cap : this.o.minAnswersForRate;
    const answeredForRate = Math.max(ab.liveAnswered, minAnswers);
    const windowRate = ab.abandoned / answeredForRate;
    // The taper reads the rate one abandonment ahead: on a small campaign one abandonment can move
    // the rate by a tenth of the cap.
    const rateAfterOneMore = (ab.abandoned + 1) / answeredForRate;
    const taperStart = cap * this.o.taperFromFractionOfCap;
    // Abandonments the window can still take without going over the cap (answers yet to come
    // add to it). Fewer than budgetTaperAbandons left also eases toward progressive: on a small
    // campaign or a low cap, a burst of two or three answers is enough to cross it.
    const affordable = Math.floor(cap * answeredForRate - ab.abandoned + 1e-9);
    const taper = Math.min(
      clamp((cap - rateAfterOneMore) / (cap - taperStart), 0, 1),
      clamp((affordable - 1) / this.o.budgetTaperAbandons, 0, 1),
    );

    // Proportional action only tightens: a low rate early in a window is no reason to over-dial
    // (the integral term raises θ when abandonments stay below target for long enough).
    const proportional = (this.o.proportionalGain * Math.min(0, target - windowRate)) / cap;
    const threshold =
      clamp(
        target * this.o.initialThresholdFactor * Math.exp(this.integral + proportional),
        this.o.minThreshold,
        this.o.maxThreshold,
      ) * taper;

    const model = this.model(snapshot);
    let wanted = 0;
    if (threshold > 0) {
      const dialing = snapshot.calls.dialingAgeSec.length;
      const maxNew = Math.max(
        0,
        Math.min(
          Math.floor(this.o.maxDialingPerAgent * working) - dialing,
          applyCampaignLimits(Number.MAX_SAFE_INTEGER, snapshot),
        ),
      );
      let demand = model.demand;
      while (wanted < maxNew && probabilityAtLeast(demand, model.supply, model.shift) <= threshold) {
        wanted++;
        demand = addBernoulli(demand, model.answerRate);
      }
    }
    const placed = applyCampaignLimits(Math.max(progressive, wanted), snapshot);
    this.trace = {
      threshold,
      taper,
      windowRate,
      answerRate: model.answerRate,
      horizonSec: model.horizonSec,
      expectedSupply: model.expectedSupply,
      expectedDemand: model.expectedDemand,
      progressive,
      wanted,
      placed,
    };
    return placed;
  }

  /** The integral term: +step per live answer, −step/target per abandonment, bounded. */
  private updateIntegral(snapshot: PacingSnapshot, target: number): void {
    const { lifetimeLiveAnswered, lifetimeAbandoned } = snapshot.abandonment;
    if (this.lastLifetimeAnswered !== undefined) {
      const answered = Math.max(0, lifetimeLiveAnswered - this.lastLifetimeAnswered);
      const abandoned = Math.max(0, lifetimeAbandoned - this.lastLifetimeAbandoned);
      this.integral += this.o.integralStep * (answered - abandoned / target);
      const base = target * this.o.initialThresholdFactor;
      this.integral = clamp(
        this.integral,
        Math.log(this.o.minThreshold / base) - 1,
        Math.log(this.o.maxThreshold / base) + 1,
      );
    }
    this.lastLifetimeAnswered = lifetimeLiveAnswered;
    this.lastLifetimeAbandoned = lifetimeAbandoned;
  }

  private model(snapshot: PacingSnapshot): {
    supply: Float64Array;
    demand: Float64Array;
    shift: number;
    answerRate: number;
    horizonSec: number;
    expectedSupply: number;
    expectedDemand: number;
  } {
    const { agents, calls, statistics: st } = snapshot;
    const o = this.o;
    const answerRate = clamp(
      (st.liveAnswers + o.priorAnswerRate * o.priorAttempts) / (st.completedAttempts + o.priorAttempts),
      0.01,
      1,
    );
    const answerDelays = st.answerDelaySecSorted.length >= 20 ? st.answerDelaySecSorted : [];
    const meanAnswerDelay = answerDelays.length > 0 ? mean(answerDelays) : o.defaultAnswerDelaySec;
    const horizonSec = o.horizonAnswerDelayFraction * meanAnswerDelay + o.abandonGraceSec;
    const meanTalk = st.meanTalkSec ?? o.defaultTalkSec;
    const meanWrap = st.meanWrapUpSec ?? 0;
    const talkSamples = st.talkSecSorted.length >= 30 ? st.talkSecSorted : [];

    const freeing: number[] = [];
    const talkHorizon = horizonSec - meanWrap;
    for (const talked of agents.onCallTalkSec) {
      freeing.push(talkHorizon > 0 ? endWithinProbability(talkSamples, talked, talkHorizon, meanTalk) : 0);
    }
    const wrapEnds = meanWrap > 0 ? 1 - Math.exp(-horizonSec / meanWrap) : 1;
    for (let i = 0; i < agents.wrapUpSec.length; i++) freeing.push(wrapEnds);

    // Calls still dialing: P(a live answer eventually | not resolved at this age). All of them
    // count, whenever they answer: an agent taken by a new call is missing for them too.
    const noAnswerDelays = st.noAnswerDelaySecSorted.length >= 20 ? st.noAnswerDelaySecSorted : [];
    const answering: number[] = [];
    for (const age of calls.dialingAgeSec) {
      const a = answerRate * survival(answerDelays, age, o.defaultAnswerDelaySec);
      const n = (1 - answerRate) * survival(noAnswerDelays, age, o.defaultNoAnswerDelaySec);
      answering.push(a + n > 0 ? a / (a + n) : 0);
    }
    return {
      supply: bernoulliSumPmf(freeing),
      demand: bernoulliSumPmf(answering),
      shift: agents.ready - calls.waitingForAgent,
      answerRate,
      horizonSec,
      expectedSupply: agents.ready + sum(freeing),
      expectedDemand: calls.waitingForAgent + sum(answering),
    };
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : sum(xs) / xs.length;
}
