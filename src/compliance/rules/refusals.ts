// "Stop after N refusals": a product refused N times is never offered again (A.4), or with scope
// 'any' the phone is not called again after N refusals of anything (China: stop after a refusal).
import type { PreparedAttempt } from './caps.js';
import type { DecisionFacts, RuleResult } from './types.js';

export function evaluateRefusals(stopAfter: number, scope: 'product' | 'any', policy: string, f: DecisionFacts, h: readonly PreparedAttempt[]): RuleResult {
  if (scope === 'product' && f.product === null) {
    return { reason: { rule: 'refusals', policy, passed: true, detail: 'no product on this attempt', inputs: { stopAfter, scope, product: null, refusals: 0 } } };
  }
  // The caller's all-time tally wins when it is higher: history is only loaded a bounded depth.
  let inHistory = 0;
  for (const p of h) if (p.a.refused && (scope === 'any' || p.a.product === f.product)) inHistory++;
  let tally = 0;
  if (f.refusalsByProduct !== undefined) {
    if (scope === 'any') for (const n of Object.values(f.refusalsByProduct)) tally += n;
    else tally = f.refusalsByProduct[f.product!] ?? 0;
  }
  const refusals = Math.max(inHistory, tally);
  const what = scope === 'any' ? 'any offer' : `product ${f.product}`;
  const passed = refusals < stopAfter;
  const detail = passed
    ? `${refusals} refusal${refusals === 1 ? '' : 's'} of ${what}; stops after ${stopAfter}`
    : `${what} refused ${refusals} time${refusals === 1 ? '' : 's'}; never offered again after ${stopAfter}`;
  const inputs = { stopAfter, scope, product: f.product, refusals, source: tally >= inHistory && f.refusalsByProduct !== undefined ? 'tally' : 'history' };
  return passed ? { reason: { rule: 'refusals', policy, passed, detail, inputs } } : { reason: { rule: 'refusals', policy, passed, detail, inputs }, blockedUntil: null };
}
