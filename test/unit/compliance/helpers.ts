// Builders shared by the compliance tests: facts with sensible defaults, policies from input,
// attempts from ISO instants, and a check that nextAllowedAt is really the first allowed minute.
import { expect } from 'vitest';
import { decide, policySchema, type AttemptRecord, type Decision, type DecisionFacts, type Policy, type PolicyInput } from '../../../src/compliance/index.js';

export const at = (iso: string): Date => new Date(iso);

export function policy(input: Partial<PolicyInput> & { name?: string }): Policy {
  return policySchema.parse({ name: 'test', version: 1, ...input });
}

export function attempt(iso: string, more: Partial<AttemptRecord> = {}): AttemptRecord {
  return { at: at(iso), campaignId: 'c1', product: null, outcome: 'no-answer', refused: false, ...more };
}

export function facts(more: Partial<DecisionFacts> = {}): DecisionFacts {
  return {
    phone: '+12125550123', numberType: 'FIXED_LINE_OR_MOBILE', timeZones: ['America/New_York'], region: 'US-NY',
    segment: null, campaignId: 'c1', product: null, history: [], dncHits: [], protectedHits: [], ...more,
  };
}

export const failed = (d: Decision): string[] => d.reasons.filter((r) => !r.passed).map((r) => r.rule);

/** nextAllowedAt must be allowed itself and, unless it is now, the instant 1 ms before must not be. */
export function expectNextAllowedIsExact(f: DecisionFacts, policies: Policy[], d: Decision, now: Date): void {
  if (d.nextAllowedAt === null) return;
  expect(decide(f, policies, d.nextAllowedAt).allowed).toBe(true);
  if (d.nextAllowedAt.getTime() > now.getTime()) {
    expect(decide(f, policies, new Date(d.nextAllowedAt.getTime() - 1)).allowed).toBe(false);
  }
}
