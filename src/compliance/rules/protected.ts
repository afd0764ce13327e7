// Protected numbers are never dialed: emergency short codes, number types such as premium rate,
// configured prefixes and numbers, and hits on protected lists (payphones, protected persons).
import type { Policy } from '../policy.js';
import type { DecisionFacts, JsonValue, RuleResult } from './types.js';

export function evaluateProtected(p: Policy['protected'], policy: string, f: DecisionFacts): RuleResult {
  const found: string[] = [];
  const digits = f.phone.startsWith('+') ? f.phone.slice(1) : f.phone;
  // E.164 carries no separator after the country code (1-3 digits): a short code is what remains.
  for (const e of p.emergencyNumbers) {
    if (digits.endsWith(e) && digits.length - e.length <= 3) { found.push(`emergency number ${e}`); break; }
  }
  if (f.numberType !== null && p.types.includes(f.numberType)) found.push(`number type ${f.numberType}`);
  for (const pre of p.prefixes) if (f.phone.startsWith(pre)) found.push(`prefix ${pre}`);
  if (p.numbers.includes(f.phone)) found.push('protected number');
  const anyList = p.lists.includes('*');
  const listHits: JsonValue[] = [];
  for (const h of f.protectedHits) {
    if (anyList || p.lists.includes(h.list)) {
      found.push(`list ${h.list}${h.source ? ` (${h.source})` : ''}`);
      listHits.push({ list: h.list, source: h.source ?? null });
    }
  }
  const inputs = { numberType: f.numberType, listHits, matched: found };
  if (found.length === 0) return { reason: { rule: 'protected', policy, passed: true, detail: 'not a protected number', inputs } };
  return { reason: { rule: 'protected', policy, passed: false, detail: `protected: ${found.join(', ')}`, inputs }, blockedUntil: null };
}
