// Seeded pseudo-random numbers for the pacing simulator: the same seed gives the same run, so a
// benchmark figure or a failing test can be reproduced exactly. Not for anything security-related.

/** A deterministic random source. `next()` is uniform on [0, 1). */
export interface Random {
  next(): number;
}

/** splitmix32: spreads a small integer seed over all 32 bits before it seeds sfc32. */
function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** sfc32 (Chris Doty-Humphrey's small fast counter generator): fast, passes PractRand at this use. */
export function createRandom(seed: number): Random {
  const mix = splitmix32(seed);
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return { next };
}

/** Uniform on [min, max). */
export function uniform(random: Random, min: number, max: number): number {
  return min + (max - min) * random.next();
}

/** Standard normal by Box-Muller (one of the pair is dropped: simpler, and speed is not an issue). */
export function standardNormal(random: Random): number {
  let u = random.next();
  while (u <= Number.EPSILON) u = random.next();
  const v = random.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Exponential with the given mean. */
export function exponential(random: Random, mean: number): number {
  let u = random.next();
  while (u <= Number.EPSILON) u = random.next();
  return -mean * Math.log(u);
}

/**
 * Lognormal with the given mean and coefficient of variation (standard deviation / mean).
 * sigma² = ln(1 + cv²), mu = ln(mean) − sigma²/2, so that E[X] = mean exactly.
 */
export function lognormal(random: Random, mean: number, cv: number): number {
  const sigma2 = Math.log(1 + cv * cv);
  const mu = Math.log(mean) - sigma2 / 2;
  return Math.exp(mu + Math.sqrt(sigma2) * standardNormal(random));
}
