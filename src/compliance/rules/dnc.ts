// Do-not-call: a hit on a list the policy honours denies the call until the entry expires (or for
// good). Expiry is re-checked here so a stale cache of hits can never let a call through late.
import type { DncListName } from '../policy.js';
import type { DecisionFacts, JsonValue, RuleResult } from './types.js';

export function evaluateDnc(lists: readonly DncListName[], policy: string, f: DecisionFacts, now: number): RuleResult {
  const hits: { [k: string]: JsonValue }[] = [];
  let until: number | null = 0;
  for (const h of f.dncHits) {
    if (!lists.includes(h.list)) continue;
    const exp = h.expiresAt === null ? null : h.expiresAt.getTime();
    if (exp !== null && exp <= now) continue;
    hits.push({ list: h.list, source: h.source, expiresAt: exp === null ? null : h.expiresAt!.toISOString() });
    until = until === null || exp === null ? null : Math.max(until, exp);
  }
  const inputs = { lists: [...lists], hits };
  if (hits.length === 0) {
    return { reason: { rule: 'dnc', policy, passed: true, detail: `not on the ${lists.join(' or ')} do-not-call list`, inputs } };
  }
  const first = hits.map((h) => `${String(h.list)} (${String(h.source)}${h.expiresAt ? `, until ${String(h.expiresAt)}` : ''})`).join(', ');
  return { reason: { rule: 'dnc', policy, passed: false, detail: `on the do-not-call list: ${first}`, inputs }, blockedUntil: until };
}
