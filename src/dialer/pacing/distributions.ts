// Small probability tools the predictive pacer builds on: survival and residual-life estimates
// from observed samples, and the exact distribution of a sum of independent yes/no events
// (how many of these agents free up, how many of these calls get answered).

import { upperBound } from './call-statistics.js';

/** Below this many observations beyond a point, an empirical tail is too thin to trust. */
const MIN_TAIL_SAMPLES = 8;

/**
 * P(X ≤ elapsed + horizon | X > elapsed) for a duration X (talk time, wrap-up time), from sorted
 * observations of X. This is the residual-life (hazard) estimate: an agent who has talked 10 min
 * on a campaign whose calls rarely pass 5 min is not the same bet as one who started 10 s ago.
 * Where fewer than MIN_TAIL_SAMPLES observations lie beyond `elapsed`, falls back to the
 * memoryless estimate with mean `fallbackMeanSec`.
 */
export function endWithinProbability(
  sortedSamples: readonly number[],
  elapsed: number,
  horizon: number,
  fallbackMeanSec: number,
): number {
  if (horizon <= 0) return 0;
  const n = sortedSamples.length;
  const beyondNow = n - upperBound(sortedSamples, elapsed);
  if (beyondNow >= MIN_TAIL_SAMPLES) {
    const beyondHorizon = n - upperBound(sortedSamples, elapsed + horizon);
    return (beyondNow - beyondHorizon) / beyondNow;
  }
  return fallbackMeanSec > 0 ? 1 - Math.exp(-horizon / fallbackMeanSec) : 1;
}

/**
 * Smoothed empirical survival P(X > x) from sorted observations; never exactly 0 or 1, so ratios
 * of survivals stay defined. With no observations, an exponential with mean `fallbackMeanSec`.
 */
export function survival(sortedSamples: readonly number[], x: number, fallbackMeanSec: number): number {
  const n = sortedSamples.length;
  if (n === 0) return Math.exp(-Math.max(0, x) / fallbackMeanSec);
  return (n - upperBound(sortedSamples, x) + 0.5) / (n + 1);
}

/**
 * The distribution of the number of successes among independent events with the given
 * probabilities (Poisson-binomial), as pmf[k] = P(exactly k). Exact, O(n²).
 */
export function bernoulliSumPmf(probabilities: readonly number[]): Float64Array {
  let certain = 0;
  const uncertain: number[] = [];
  for (const p of probabilities) {
    if (p >= 1 - 1e-12) certain++;
    else if (p > 1e-12) uncertain.push(p);
  }
  const pmf = new Float64Array(certain + uncertain.length + 1);
  pmf[certain] = 1;
  let top = certain;
  for (const p of uncertain) {
    top++;
    for (let k = top; k > certain; k--) {
      pmf[k] = (pmf[k] as number) * (1 - p) + (pmf[k - 1] as number) * p;
    }
    pmf[certain] = (pmf[certain] as number) * (1 - p);
  }
  return pmf;
}

/** Adds one more independent event with probability p to a pmf (returns a new, longer array). */
export function addBernoulli(pmf: Float64Array, p: number): Float64Array {
  const out = new Float64Array(pmf.length + 1);
  for (let k = 0; k < pmf.length; k++) {
    const v = pmf[k] as number;
    out[k] = (out[k] as number) + v * (1 - p);
    out[k + 1] = (out[k + 1] as number) + v * p;
  }
  return out;
}

/** P(A ≥ B + shift) for independent A and B given as pmfs over 0..n. */
export function probabilityAtLeast(a: Float64Array, b: Float64Array, shift: number): number {
  // tail[k] = P(A ≥ k)
  const tail = new Float64Array(a.length + 1);
  for (let k = a.length - 1; k >= 0; k--) tail[k] = (tail[k + 1] as number) + (a[k] as number);
  let total = 0;
  for (let s = 0; s < b.length; s++) {
    const pb = b[s] as number;
    if (pb === 0) continue;
    const need = s + shift;
    total += pb * (need <= 0 ? 1 : need >= tail.length ? 0 : (tail[need] as number));
  }
  return Math.min(1, Math.max(0, total));
}
