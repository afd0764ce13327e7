// Policy documents: presets validate and contain what they promise; every rule of the rules
// file is expressible; invalid documents are rejected with the field and the reason.
import { describe, expect, it } from 'vitest';
import { parsePolicy, policySchema, PRESET_INPUTS, PRESETS, isPresetName, maskPhone, type PolicyInput } from '../../../src/compliance/index.js';

const ok = (p: Partial<PolicyInput>): PolicyInput => ({ name: 'x', version: 1, ...p });

describe('presets', () => {
  it.each(Object.keys(PRESET_INPUTS))('%s validates against the schema', (name) => {
    const r = parsePolicy(PRESET_INPUTS[name]);
    expect(r).toMatchObject({ ok: true });
    expect(isPresetName(name)).toBe(true);
  });

  it('us-federal: 08:00-21:00 everywhere, FL/OK/MD 08:00-20:00 and 3 per 24 h, AL/LA no Sunday or holiday', () => {
    const p = PRESETS['us-federal'];
    expect(p.windows).toEqual([{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' }]);
    for (const r of ['US-FL', 'US-OK', 'US-MD']) {
      expect(p.regions[r]!.windows![0]).toMatchObject({ start: '08:00', end: '20:00' });
      expect(p.regions[r]!.caps).toEqual([{ scope: 'phone', max: 3, windowHours: 24 }]);
    }
    for (const r of ['US-AL', 'US-LA']) {
      expect(p.regions[r]!.windows).toEqual([{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '20:00' }]);
    }
    expect(p.holidays.length).toBeGreaterThanOrEqual(20);
    expect(p.holidays.every((h) => h.regions?.join() === 'US-AL,US-LA')).toBe(true);
    expect(p.unknownTimeZone).toBe('deny');
    expect(p.dialing?.maxAbandonedPercent).toBe(3);
  });

  it('uk-ofcom: guideline hours and a 72 h rest after an abandoned call', () => {
    const p = PRESETS['uk-ofcom'];
    expect(p.windows).toEqual([
      { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' },
      { days: ['sun'], start: '10:00', end: '21:00' },
    ]);
    expect(p.rests).toEqual([{ after: 'abandoned', hours: 72, scope: 'phone', unlessAgentGuaranteed: true }]);
  });

  it('callcentre-default: section A', () => {
    const p = PRESETS['callcentre-default'];
    expect(p.caps).toEqual([
      { id: 'month', scope: 'phone', max: 2, windowHours: 720 },
      { id: 'year', scope: 'phone', max: 30, windowHours: 8760 },
    ]);
    expect(p.rests).toEqual([{ after: 'cap-reached', cap: 'month', hours: 2160, scope: 'phone', unlessAgentGuaranteed: false }]);
    expect(p.productOffers).toEqual({ minIntervalHours: 720, countOutcomes: ['conversation'] });
    expect(p.refusals).toEqual({ stopAfter: 3, scope: 'product' });
    expect(p.maskNumbers).toBe(true);
    expect(p.windows).toEqual([{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '09:00', end: '20:00' }]);
  });

  it('defaults: DNC lists, protected premium rate and emergency numbers, unmasked', () => {
    const p = policySchema.parse(ok({}));
    expect(p.dnc.lists).toEqual(['global', 'campaign']);
    expect(p.protected.types).toEqual(['PREMIUM_RATE']);
    expect(p.protected.emergencyNumbers).toContain('911');
    expect(p.protected.lists).toEqual(['*']);
    expect(p.maskNumbers).toBe(false);
  });
});

describe('policy validation names the field and the reason', () => {
  it.each([
    ['bad time', ok({ windows: [{ days: ['mon'], start: '8:00', end: '21:00' }] }), 'windows[0].start: must be a local time "HH:MM" between 00:00 and 24:00, e.g. "08:00"'],
    ['end before start', ok({ windows: [{ days: ['mon'], start: '21:00', end: '08:00' }] }), 'windows[0].end: end must be after start (a window cannot cross midnight: split it in two)'],
    ['no days', ok({ windows: [{ days: [], start: '08:00', end: '21:00' }] }), 'windows[0].days: must list at least one weekday ("mon".."sun")'],
    ['version 0', ok({ version: 0 }), 'version: must be 1 or more'],
    ['fractional cap', ok({ caps: [{ scope: 'phone', max: 2.5, windowHours: 24 }] }), 'caps[0].max: must be a whole number'],
    ['negative window', ok({ caps: [{ scope: 'phone', max: 2, windowHours: -1 }] }), 'caps[0].windowHours: must be a positive number of hours'],
    ['unknown time zone must deny', { ...ok({}), unknownTimeZone: 'allow' }, 'unknownTimeZone: must be "deny": an unknown time zone is never guessed'],
    ['cap-reached without cap', ok({ rests: [{ after: 'cap-reached', hours: 10 }] }), 'rests[0].cap: cap is required when after is "cap-reached" (the id of a cap in this policy) and not allowed otherwise'],
    ['cap-reached with unknown cap', ok({ caps: [{ id: 'm', scope: 'phone', max: 2, windowHours: 720 }], rests: [{ after: 'cap-reached', cap: 'month', hours: 10 }] }), 'rests[0].cap: no cap with id "month" in this policy (known: m)'],
    ['duplicate cap id', ok({ caps: [{ id: 'm', scope: 'phone', max: 2, windowHours: 720 }], regions: { 'US-FL': { caps: [{ id: 'm', scope: 'phone', max: 3, windowHours: 24 }] } } }), 'regions.US-FL.caps[0].id: cap id "m" is used twice; ids must be unique in a policy'],
    ['lower-case region', ok({ regions: { 'us-fl': {} } }), 'regions.us-fl: key must be an ISO 3166 code such as "US-FL" or "GB" (upper case)'],
    ['impossible date', ok({ holidays: [{ date: '2026-02-30', name: 'x' }] }), 'holidays[0].date: is not a real calendar date'],
    ['blackout reversed', ok({ blackouts: [{ from: '2026-05-03', to: '2026-05-01' }] }), 'blackouts[0].to: to must be on or after from'],
    ['typo in a key', { ...ok({}), maskNumber: true }, '(policy): Unrecognized key: "maskNumber"'],
    ['bad outcome', ok({ caps: [{ scope: 'phone', max: 1, windowHours: 1, countOutcomes: ['answered' as 'conversation'] }] }), 'caps[0].countOutcomes[0]'],
    ['bad prefix', ok({ protected: { prefixes: ['1900'] } }), 'protected.prefixes[0]: must be an E.164 prefix such as "+1900"'],
  ])('%s', (_l, input, message) => {
    const r = parsePolicy(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.some((e) => e.startsWith(message))).toBe(true);
  });
});

describe('every rule in the rules file is expressible as configuration', () => {
  it.each<[string, PolicyInput]>([
    ['A1 as rest after the 2nd call', ok({ caps: [{ id: 'm', scope: 'phone', max: 2, windowHours: 720 }], rests: [{ after: 'cap-reached', cap: 'm', hours: 2160 }] })],
    ['A1 as two caps', ok({ caps: [{ scope: 'phone', max: 2, windowHours: 720 }, { scope: 'phone', max: 2, windowHours: 2160 }] })],
    ['A2 30 per year', ok({ caps: [{ scope: 'phone', max: 30, windowHours: 8760 }] })],
    ['A3 one offer per product per month', ok({ productOffers: { minIntervalHours: 720 } })],
    ['A4 stop after 3 refusals', ok({ refusals: { stopAfter: 3 } })],
    ['A5 segments with their own hours and caps', ok({ segments: { owner: { windows: [{ days: ['mon'], start: '09:00', end: '11:00' }], caps: [{ scope: 'phone', max: 1, windowHours: 168 }] }, association: { windows: [{ days: ['tue'], start: '10:00', end: '11:00' }] } } })],
    ['A6 payphones and protected persons', ok({ protected: { lists: ['payphone', 'protected-person'], types: ['PREMIUM_RATE'] } })],
    ['A8 callback caller id', ok({ dialing: { callbackCallerId: 'called-hotline' } })],
    ['A9 masked numbers', ok({ maskNumbers: true })],
    ['A12 maximum call duration', ok({ dialing: { maxCallSeconds: 1800 } })],
    ['B TCPA DNC timing', ok({ dnc: { lists: ['global'], honourRequestsWithinBusinessDays: 10, registryRescrubDays: 31 } })],
    ['B FTC abandonment', ok({ dialing: { maxAbandonedPercent: 3, abandonedMeasurement: 'rolling-30-days', connectToAgentWithinSeconds: 2, minRingSeconds: 15 } })],
    ['B Reg F', ok({ caps: [{ scope: 'product', max: 7, windowHours: 168 }], rests: [{ after: 'conversation', hours: 168, scope: 'product' }] })],
    ['B Ofcom', ok({ rests: [{ after: 'abandoned', hours: 72, unlessAgentGuaranteed: true }], dialing: { abandonedMeasurement: 'calendar-day', amdFalsePositivesCountAsAbandoned: true, presentCallerId: true } })],
    ['B TPS', ok({ dnc: { registrationEffectiveAfterDays: 28 } })],
    ['B China: stop after a refusal', ok({ refusals: { stopAfter: 1, scope: 'any' } })],
    ['C regional hours with country and state keys', ok({ regions: { US: { windows: [{ days: ['mon'], start: '08:00', end: '21:00' }] }, 'US-FL': {} } })],
  ])('%s', (_l, input) => {
    const r = parsePolicy(input);
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.ok).toBe(true);
  });
});

describe('maskPhone (A9)', () => {
  it.each([
    ['+8613812345678', '+86 138****5678'],
    ['13812345678', '138****5678'],
    ['+13055550123', '+1 305****123'],
    ['+442071234567', '+44 207****567'],
  ])('%s → %s', (input, masked) => {
    expect(maskPhone(input)).toBe(masked);
  });
});
