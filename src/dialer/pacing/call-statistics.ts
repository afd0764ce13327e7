// Rolling statistics of recent attempts and talks, kept the way a live dialer can keep them:
// fed with each attempt's outcome when Asterisk reports it and each talk/wrap-up when it ends.
// It produces the `statistics` part of a PacingSnapshot.

import type { CallStatistics } from './snapshot.js';

/** A bounded FIFO of numbers that also keeps its values sorted (for survival estimates). */
export class SortedWindow {
  private readonly fifo: number[] = [];
  private head = 0;
  private readonly sorted: number[] = [];
  private sum = 0;

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`SortedWindow capacity must be at least 1, got ${capacity}`);
  }

  get size(): number {
    return this.sorted.length;
  }

  add(value: number): void {
    this.fifo.push(value);
    this.sorted.splice(lowerBound(this.sorted, value), 0, value);
    this.sum += value;
    if (this.sorted.length > this.capacity) {
      const oldest = this.fifo[this.head++] as number;
      this.sorted.splice(lowerBound(this.sorted, oldest), 1);
      this.sum -= oldest;
      if (this.head > 4096) {
        this.fifo.splice(0, this.head);
        this.head = 0;
      }
    }
  }

  /** The values in ascending order. A live view: do not keep it across add() calls. */
  values(): readonly number[] {
    return this.sorted;
  }

  mean(): number | undefined {
    return this.sorted.length === 0 ? undefined : this.sum / this.sorted.length;
  }
}

/** Index of the first element ≥ value in an ascending array. */
export function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element > value in an ascending array. */
export function upperBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface CallStatisticsOptions {
  /** How many recent attempts the answer rate and ring-time distributions rest on. */
  readonly attemptSample?: number;
  /** How many recent talks and wrap-ups the talk-time distribution rests on. */
  readonly talkSample?: number;
}

export class CallStatisticsCollector {
  private readonly outcomes: boolean[] = [];
  private outcomeHead = 0;
  private liveAnswers = 0;
  private readonly answerDelays: SortedWindow;
  private readonly noAnswerDelays: SortedWindow;
  private readonly talks: SortedWindow;
  private readonly wrapUps: SortedWindow;
  private readonly attemptSample: number;

  constructor(options: CallStatisticsOptions = {}) {
    this.attemptSample = options.attemptSample ?? 600;
    const talkSample = options.talkSample ?? 400;
    this.answerDelays = new SortedWindow(this.attemptSample);
    this.noAnswerDelays = new SortedWindow(this.attemptSample);
    this.talks = new SortedWindow(talkSample);
    this.wrapUps = new SortedWindow(talkSample);
  }

  /** A live person answered, `delaySec` after the originate. */
  recordLiveAnswer(delaySec: number): void {
    this.pushOutcome(true);
    this.answerDelays.add(delaySec);
  }

  /** The attempt ended without a live person (no answer, busy, congestion, failed, machine). */
  recordNoAnswer(delaySec: number): void {
    this.pushOutcome(false);
    this.noAnswerDelays.add(delaySec);
  }

  recordTalk(durationSec: number): void {
    this.talks.add(durationSec);
  }

  recordWrapUp(durationSec: number): void {
    this.wrapUps.add(durationSec);
  }

  /** The statistics for a snapshot. Arrays are live views: use them before recording more. */
  snapshot(): CallStatistics {
    return {
      completedAttempts: this.outcomes.length - this.outcomeHead,
      liveAnswers: this.liveAnswers,
      answerDelaySecSorted: this.answerDelays.values(),
      noAnswerDelaySecSorted: this.noAnswerDelays.values(),
      talkSecSorted: this.talks.values(),
      meanTalkSec: this.talks.mean(),
      meanWrapUpSec: this.wrapUps.mean(),
    };
  }

  private pushOutcome(answered: boolean): void {
    this.outcomes.push(answered);
    if (answered) this.liveAnswers++;
    if (this.outcomes.length - this.outcomeHead > this.attemptSample) {
      if (this.outcomes[this.outcomeHead++] === true) this.liveAnswers--;
      if (this.outcomeHead > 4096) {
        this.outcomes.splice(0, this.outcomeHead);
        this.outcomeHead = 0;
      }
    }
  }
}
