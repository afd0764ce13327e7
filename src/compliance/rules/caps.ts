// Frequency rules over the phone's attempt history: rolling caps, rest periods (after a cap is
// reached, a conversation, an abandoned call or a refusal) and the minimum interval between two
// offers of the same product. Each reports when it stops blocking, since history only ages.
import type { Cap, CapScope, CallOutcome, Rest } from '../policy.js';
import { HOUR } from './local-time.js';
import type { AttemptRecord, DecisionFacts, RuleResult } from './types.js';

/** History prepared once per decision: instants as numbers, oldest first. */
export interface PreparedAttempt {
  t: number;
  a: AttemptRecord;
}

export function prepareHistory(history: readonly AttemptRecord[]): PreparedAttempt[] {
  const out = history.map((a) => ({ t: a.at.getTime(), a }));
  out.sort((x, y) => x.t - y.t);
  return out;
}

/** Where a rule comes from, for explanations: base policy, a region or a segment overlay. */
export interface RuleOrigin {
  policy: string;
  /** "" for the base policy, " in US-FL", " for segment owner". */
  where: string;
}

export const formatHours = (h: number): string => (h >= 168 && h % 24 === 0 ? `${h / 24} days` : `${h} h`);
const iso = (t: number): string => new Date(t).toISOString();
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

function inScope(a: AttemptRecord, scope: CapScope, f: DecisionFacts): boolean {
  return scope === 'phone' || (scope === 'campaign' ? a.campaignId === f.campaignId : a.product === f.product);
}

/** Why a scope cannot apply to this attempt (no campaign / no product), or null. */
function scopeMissing(scope: CapScope, f: DecisionFacts): string | null {
  if (scope === 'campaign' && f.campaignId === null) return 'no campaign on this attempt';
  if (scope === 'product' && f.product === null) return 'no product on this attempt';
  return null;
}

const scopeText = (scope: CapScope, f: DecisionFacts): string =>
  scope === 'phone' ? '' : scope === 'campaign' ? ` for campaign ${f.campaignId}` : ` about product ${f.product}`;

const counts = (outcomes: readonly CallOutcome[] | undefined, a: AttemptRecord): boolean =>
  outcomes === undefined || outcomes.includes(a.outcome);

function matching(h: readonly PreparedAttempt[], scope: CapScope, outcomes: readonly CallOutcome[] | undefined, f: DecisionFacts, from: number): number[] {
  const out: number[] = [];
  for (const p of h) if (p.t > from && inScope(p.a, scope, f) && counts(outcomes, p.a)) out.push(p.t);
  return out;
}

export function evaluateCap(cap: Cap, o: RuleOrigin, f: DecisionFacts, h: readonly PreparedAttempt[], now: number): RuleResult {
  const where = o.where === '' ? 'base' : o.where.trim();
  const missing = scopeMissing(cap.scope, f);
  if (missing !== null) {
    const inputs = { id: cap.id ?? null, scope: cap.scope, max: cap.max, windowHours: cap.windowHours, where, count: 0 };
    return { reason: { rule: 'cap', policy: o.policy, passed: true, detail: `cap ${cap.max} per ${formatHours(cap.windowHours)}${o.where} not counted: ${missing}`, inputs } };
  }
  // Hot path: count without allocating; collect instants only when the cap is hit.
  const windowMs = cap.windowHours * HOUR;
  const from = now - windowMs;
  let count = 0;
  for (const p of h) if (p.t > from && inScope(p.a, cap.scope, f) && counts(cap.countOutcomes, p.a)) count++;
  const passed = count < cap.max;
  const counted = cap.countOutcomes ? ` (counting ${cap.countOutcomes.join('/')})` : '';
  const detail = `${plural(count, 'call')} in the last ${formatHours(cap.windowHours)}${scopeText(cap.scope, f)}${o.where}${counted}, cap is ${cap.max}`;
  const reason = { rule: 'cap' as const, policy: o.policy, passed, detail, inputs: { id: cap.id ?? null, scope: cap.scope, max: cap.max, windowHours: cap.windowHours, where, count } };
  if (passed) return { reason };
  // The cap frees up when enough of the oldest counted calls leave the rolling window.
  const times = matching(h, cap.scope, cap.countOutcomes, f, from);
  return { reason, blockedUntil: times[count - cap.max]! + windowMs };
}

export function evaluateRest(rest: Rest, cap: Cap | undefined, o: RuleOrigin, f: DecisionFacts, h: readonly PreparedAttempt[], now: number): RuleResult {
  const restMs = rest.hours * HOUR;
  const scope = cap?.scope ?? rest.scope;
  const base = { after: rest.after, hours: rest.hours, scope, where: o.where.trim() || 'base' };
  const missing = scopeMissing(scope, f);
  if (missing !== null) {
    return { reason: { rule: 'rest', policy: o.policy, passed: true, detail: `${formatHours(rest.hours)} rest after ${rest.after}${o.where} not applicable: ${missing}`, inputs: base } };
  }
  let triggeredAt: number | null = null;
  let why: string;
  if (rest.after === 'cap-reached' && cap !== undefined) {
    // A trigger is any counted call that brought its own rolling window up to the cap.
    const windowMs = cap.windowHours * HOUR;
    const times = matching(h, cap.scope, cap.countOutcomes, f, now - restMs - windowMs);
    for (let i = 0, j = 0; i < times.length; i++) {
      while (times[j]! <= times[i]! - windowMs) j++;
      if (i - j + 1 >= cap.max) triggeredAt = times[i]!;
    }
    why = `cap ${cap.max} per ${formatHours(cap.windowHours)}${cap.id ? ` (${cap.id})` : ''} reached`;
  } else {
    const outcome = rest.after === 'conversation' ? 'conversation' : rest.after === 'abandoned' ? 'abandoned' : null;
    for (const p of h) {
      if (p.t > now - restMs && inScope(p.a, scope, f) && (outcome === null ? p.a.refused : p.a.outcome === outcome)) triggeredAt = p.t;
    }
    why = rest.after === 'refusal' ? 'a refusal' : `an ${rest.after === 'abandoned' ? 'abandoned call' : 'conversation'}`;
  }
  const active = triggeredAt !== null && triggeredAt + restMs > now;
  const inputs = { ...base, triggeredAt: triggeredAt === null ? null : iso(triggeredAt), restUntil: active ? iso(triggeredAt! + restMs) : null };
  if (!active) {
    return { reason: { rule: 'rest', policy: o.policy, passed: true, detail: `no ${formatHours(rest.hours)} rest after ${rest.after}${scopeText(scope, f)}${o.where} in force`, inputs } };
  }
  if (rest.after === 'abandoned' && rest.unlessAgentGuaranteed && f.agentGuaranteed === true) {
    return { reason: { rule: 'rest', policy: o.policy, passed: true, detail: `abandoned call at ${iso(triggeredAt!)} is within ${formatHours(rest.hours)}, but an agent is guaranteed`, inputs: { ...inputs, agentGuaranteed: true } } };
  }
  const detail = `${why} at ${iso(triggeredAt!)}${scopeText(scope, f)}${o.where}: resting ${formatHours(rest.hours)} until ${iso(triggeredAt! + restMs)}`;
  return { reason: { rule: 'rest', policy: o.policy, passed: false, detail, inputs }, blockedUntil: triggeredAt! + restMs };
}

export function evaluateProductInterval(minIntervalHours: number, outcomes: readonly CallOutcome[], policy: string, f: DecisionFacts, h: readonly PreparedAttempt[], now: number): RuleResult {
  const base = { product: f.product, minIntervalHours, countOutcomes: [...outcomes] };
  if (f.product === null) {
    return { reason: { rule: 'product-interval', policy, passed: true, detail: 'no product on this attempt', inputs: { ...base, lastOfferAt: null } } };
  }
  const ms = minIntervalHours * HOUR;
  const times = matching(h, 'product', outcomes, f, now - ms);
  const last = times.length > 0 ? times[times.length - 1]! : null;
  if (last === null) {
    return { reason: { rule: 'product-interval', policy, passed: true, detail: `product ${f.product} not offered in the last ${formatHours(minIntervalHours)}`, inputs: { ...base, lastOfferAt: null } } };
  }
  const detail = `product ${f.product} was offered at ${iso(last)}; next offer not before ${iso(last + ms)} (${formatHours(minIntervalHours)} apart)`;
  return { reason: { rule: 'product-interval', policy, passed: false, detail, inputs: { ...base, lastOfferAt: iso(last) } }, blockedUntil: last + ms };
}
