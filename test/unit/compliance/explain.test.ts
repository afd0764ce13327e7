// Stored decisions in plain words: the sentences supervisors read, from real decide() output and
// from stored reason JSON (an older decision reads the same after a policy changes).
import { describe, expect, it } from 'vitest';
import { decide } from '../../../src/compliance/decide.js';
import { describeGroup, explainDecision, localInstant } from '../../../src/compliance/explain.js';
import { policySchema } from '../../../src/compliance/policy.js';
import { PRESETS } from '../../../src/compliance/presets.js';
import type { DecisionFacts } from '../../../src/compliance/rules/types.js';

const facts = (over: Partial<DecisionFacts> = {}): DecisionFacts => ({
  phone: '+13055550123', numberType: 'FIXED_LINE_OR_MOBILE', timeZones: ['America/New_York'], region: 'US-NY', segment: null,
  campaignId: 'c1', product: null, history: [], dncHits: [], protectedHits: [], ...over,
});
const us = [PRESETS['us-federal']];
// Sunday 2026-03-01 06:00Z is 01:00 EST in New York.
const sunNight = new Date('2026-03-01T06:00:00Z');

describe('explainDecision', () => {
  it('says outside allowed hours, with the window and the next allowed local time', () => {
    const d = decide(facts(), us, sunNight);
    const e = explainDecision({ ...d }, sunNight);
    expect(e.reasons).toEqual([{
      rule: 'hours', policy: 'us-federal',
      sentence: 'Outside allowed hours in America/New_York (08:00-21:00) at 01:00 local; next allowed Sun 08:00 local',
    }]);
    expect(e.summary).toBe('Not dialed; next allowed Sun 08:00 in America/New_York (2026-03-01T13:00:00.000Z)');
  });

  it('dates the next allowed instant when it is a week or more away, and reads it in the callee zone', () => {
    expect(localInstant(new Date('2026-03-09T13:00:00Z'), 'America/New_York', new Date('2026-03-01T06:00:00Z'))).toBe('Mon 2026-03-09 09:00');
    expect(localInstant(new Date('2026-03-02T01:00:00Z'), 'Asia/Shanghai', new Date('2026-03-01T06:00:00Z'))).toBe('Mon 09:00');
  });

  it('explains a cap, a DNC entry, a protected number and an unknown zone', () => {
    const capped = policySchema.parse({ name: 'cap', version: 1, caps: [{ scope: 'phone', max: 2, windowHours: 24 }] });
    const at = new Date('2026-03-02T15:00:00Z');
    const history = [1, 2].map((h) => ({ at: new Date(at.getTime() - h * 3_600_000), campaignId: 'c1', product: null, outcome: 'no-answer' as const, refused: false }));
    const c = decide(facts({ history }), [capped], at);
    expect(explainDecision(c, at).reasons[0]!.sentence).toBe('Call limit reached: 2 calls to this number in the last 24 hours, at most 2 allowed; next allowed Tue 08:00 local');

    const dnc = decide(facts({ dncHits: [{ list: 'global', source: 'complaint', expiresAt: null }] }), us, at);
    const e = explainDecision(dnc, at);
    expect(e.reasons[0]!.sentence).toBe('On the do-not-call list (global list, from complaint), with no end date');
    expect(e.summary).toBe('Not dialed, and never will be under these rules (dnc)');

    const premium = decide(facts({ numberType: 'PREMIUM_RATE' }), us, at);
    expect(explainDecision(premium, at).reasons[0]!.sentence).toBe('A protected number (number type PREMIUM_RATE): never called');

    const nowhere = decide(facts({ timeZones: [] }), us, at);
    expect(explainDecision(nowhere, at).reasons.map((r) => r.rule)).toEqual(['time-zone', 'hours']);
    expect(explainDecision(nowhere, at).reasons[0]!.sentence).toMatch(/time zone is unknown/);
  });

  it('says allowed in one sentence, and reads stored JSON it cannot parse fully without failing', () => {
    const at = new Date('2026-03-02T15:00:00Z');
    const ok = decide(facts(), us, at);
    expect(explainDecision(ok, at)).toEqual({ summary: `Allowed: all ${ok.reasons.length} checks passed`, reasons: [] });
    const odd = explainDecision({ allowed: false, reasons: [null, { rule: 'hours', passed: false, detail: 'old detail', inputs: {} }], timeZones: [], nextAllowedAt: null }, at);
    expect(odd.reasons).toEqual([{ rule: 'hours', policy: null, sentence: 'Outside allowed calling hours (old detail)' }]);
  });
});

describe('describeGroup', () => {
  it('turns a progress group key into words', () => {
    expect(describeGroup('cap+hours')).toBe('call limit reached; outside calling hours');
    expect(describeGroup('callback')).toBe('a callback promised for that time');
    expect(describeGroup('something-new')).toBe('something-new');
  });
});
