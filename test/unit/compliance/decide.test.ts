// The decision as a whole: DNC with expiry, protected numbers, unknown zones, campaign policy on
// top of the global one (strictest wins), full explanations, history horizon and list scrubbing.
import { describe, expect, it } from 'vitest';
import { classifyForScrub, decide, historyHorizonHours, parsePhone, PRESETS, type DecisionFacts, type Policy } from '../../../src/compliance/index.js';
import { at, attempt, expectNextAllowedIsExact, facts, failed, policy } from './helpers.js';

const US = [PRESETS['us-federal']];
const NOON = at('2026-01-13T17:00:00Z'); // Tue 12:00 EST

type Row = [label: string, f: DecisionFacts, policies: Policy[], rules: string[], next: string | null];

const rows: Row[] = [
  ['global DNC, no expiry → never', facts({ dncHits: [{ list: 'global', source: 'complaint', expiresAt: null }] }), US, ['dnc'], null],
  ['campaign DNC expiring tonight → next morning', facts({ dncHits: [{ list: 'campaign', source: 'api', expiresAt: at('2026-01-14T03:00:00Z') }] }), US, ['dnc'], '2026-01-14T13:00:00.000Z'],
  ['campaign DNC expiring this afternoon → then', facts({ dncHits: [{ list: 'campaign', source: 'api', expiresAt: at('2026-01-13T19:30:00Z') }] }), US, ['dnc'], '2026-01-13T19:30:00.000Z'],
  ['DNC entry already expired → allowed', facts({ dncHits: [{ list: 'global', source: 'manual', expiresAt: at('2026-01-13T16:59:59Z') }] }), US, [], '2026-01-13T17:00:00.000Z'],
  ['campaign DNC ignored by a policy honouring only the global list', facts({ dncHits: [{ list: 'campaign', source: 'api', expiresAt: null }] }), [policy({ dnc: { lists: ['global'] } })], [], '2026-01-13T17:00:00.000Z'],
  ['premium rate → never', facts({ phone: '+19005551234', numberType: 'PREMIUM_RATE' }), US, ['protected'], null],
  ['payphone list hit → never', facts({ protectedHits: [{ list: 'payphone', source: 'carrier file' }] }), US, ['protected'], null],
  ['protected person list hit → never', facts({ protectedHits: [{ list: 'protected-person' }] }), US, ['protected'], null],
  ['list not named by the policy is ignored', facts({ protectedHits: [{ list: 'vip' }] }), [policy({ protected: { lists: ['payphone'] } })], [], '2026-01-13T17:00:00.000Z'],
  ['configured prefix → never', facts({ phone: '+12125550199' }), [policy({ protected: { prefixes: ['+1212555019'] } })], ['protected'], null],
  ['configured number → never', facts({ phone: '+12125550123' }), [policy({ protected: { numbers: ['+12125550123'] } })], ['protected'], null],
  ['emergency short code → never', facts({ phone: '+44999', numberType: null }), US, ['protected'], null],
  ['no time zone → never (unknown time zone)', facts({ timeZones: [] }), US, ['time-zone', 'hours'], null],
  ['Etc/Unknown counts as unknown', facts({ timeZones: ['Etc/Unknown'] }), US, ['time-zone', 'hours'], null],
  ['a bogus zone among known ones → denied', facts({ timeZones: ['America/New_York', 'Mars/Olympus'] }), US, ['time-zone', 'hours'], null],
];

describe('decide: lists, protection and time zones', () => {
  it.each(rows)('%s', (_l, f, policies, rules, next) => {
    const d = decide(f, policies, NOON);
    expect(failed(d)).toEqual(rules);
    expect(d.allowed).toBe(rules.length === 0);
    expect(d.nextAllowedAt?.toISOString() ?? null).toBe(next);
    expectNextAllowedIsExact(f, policies, d, NOON);
  });

  it('unknown time zone reads "unknown time zone"', () => {
    const d = decide(facts({ timeZones: [] }), US, NOON);
    expect(d.reasons[0]).toEqual({ rule: 'time-zone', policy: null, passed: false, detail: 'unknown time zone', inputs: { zones: [], unknown: [] } });
    expect(d.timeZones).toEqual([]);
  });

  it('DNC explains list, source and expiry', () => {
    const d = decide(facts({ dncHits: [{ list: 'campaign', source: 'api', expiresAt: at('2026-02-01T00:00:00Z') }] }), US, NOON);
    const dnc = d.reasons.find((r) => r.rule === 'dnc')!;
    expect(dnc.detail).toBe('on the do-not-call list: campaign (api, until 2026-02-01T00:00:00.000Z)');
    expect(dnc.inputs.hits).toEqual([{ list: 'campaign', source: 'api', expiresAt: '2026-02-01T00:00:00.000Z' }]);
  });

  it('protected explains what matched', () => {
    const d = decide(facts({ numberType: 'PREMIUM_RATE', protectedHits: [{ list: 'payphone' }] }), US, NOON);
    expect(d.reasons.find((r) => r.rule === 'protected')!.detail).toBe('protected: number type PREMIUM_RATE, list payphone');
  });

  it('throws on an empty policy list rather than allowing', () => {
    expect(() => decide(facts(), [], NOON)).toThrow(/at least the global policy/);
  });
});

describe('decide: campaign policy on top of the global one', () => {
  const campaign = policy({
    name: 'spring-promo', version: 4,
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '10:00', end: '18:00' }],
    caps: [{ scope: 'campaign', max: 1, windowHours: 72 }],
  });
  const both = [PRESETS['us-federal'], campaign];

  it.each([
    ['19:00 EST: global allows, campaign denies', '2026-01-14T00:00:00Z', [], false, '2026-01-14T15:00:00.000Z'],
    ['09:30 EST: campaign window not open yet', '2026-01-13T14:30:00Z', [], false, '2026-01-13T15:00:00.000Z'],
    ['12:00 EST, one campaign call yesterday: campaign cap', '2026-01-13T17:00:00Z', [attempt('2026-01-12T17:00:00Z')], false, '2026-01-15T17:00:00.000Z'],
    ['12:00 EST, clean history: allowed by both', '2026-01-13T17:00:00Z', [], true, '2026-01-13T17:00:00.000Z'],
    ['Sat 12:00: global allows, campaign has no weekend → Monday 10:00', '2026-01-17T17:00:00Z', [], false, '2026-01-19T15:00:00.000Z'],
  ])('%s', (_l, instant, history, allowed, next) => {
    const f = facts({ history });
    const now = at(instant);
    const d = decide(f, both, now);
    expect(d.allowed).toBe(allowed);
    expect(d.nextAllowedAt?.toISOString()).toBe(next);
    expect(d.reasons.filter((r) => !r.passed).every((r) => r.policy === 'spring-promo')).toBe(true);
    expectNextAllowedIsExact(f, both, d, now);
  });

  it('Florida 20:00 from the global policy beats a campaign window to 21:00', () => {
    const late = policy({ name: 'late', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '21:00' }] });
    const d = decide(facts({ region: 'US-FL' }), [PRESETS['us-federal'], late], at('2026-01-14T01:30:00Z'));
    expect(d.allowed).toBe(false);
    expect(d.reasons.filter((r) => !r.passed).map((r) => r.policy)).toEqual(['us-federal']);
  });

  it('lists every rule of every policy, passed or not, with policy versions', () => {
    const f = facts({ region: 'US-FL', product: 'p1' });
    const d = decide(f, [PRESETS['us-federal'], PRESETS['callcentre-default']], NOON);
    expect(d.reasons.map((r) => `${r.policy ?? '-'}:${r.rule}`)).toEqual([
      '-:time-zone',
      'us-federal:protected', 'us-federal:dnc', 'us-federal:hours', 'us-federal:cap',
      'callcentre-default:protected', 'callcentre-default:dnc', 'callcentre-default:hours',
      'callcentre-default:cap', 'callcentre-default:cap', 'callcentre-default:rest',
      'callcentre-default:product-interval', 'callcentre-default:refusals',
    ]);
    expect(d.policyVersions).toEqual([{ name: 'us-federal', version: 1 }, { name: 'callcentre-default', version: 1 }]);
    expect(d.allowed).toBe(true);
    expect(JSON.parse(JSON.stringify(d.reasons))).toEqual(d.reasons); // storable as JSON
  });

  it('a country-level region overlay ("US") applies to its subdivisions ("US-FL") too', () => {
    const p = [policy({ regions: { US: { windows: [{ days: ['tue'], start: '09:00', end: '10:00' }] } } })];
    expect(decide(facts({ region: 'US-FL' }), p, NOON).allowed).toBe(false);
    expect(decide(facts({ region: 'GB', timeZones: ['Europe/London'] }), p, NOON).allowed).toBe(true);
    expect(decide(facts({ region: 'US-FL' }), p, at('2026-01-13T14:30:00Z')).allowed).toBe(true);
  });

  it('AL adds the calendar rule', () => {
    const d = decide(facts({ region: 'US-AL', timeZones: ['America/Chicago'] }), US, NOON);
    expect(d.reasons.map((r) => r.rule)).toEqual(['time-zone', 'protected', 'dnc', 'hours', 'calendar']);
  });
});

describe('historyHorizonHours', () => {
  it.each([
    ['us-federal', [PRESETS['us-federal']], 24],
    ['uk-ofcom', [PRESETS['uk-ofcom']], 72],
    ['callcentre-default', [PRESETS['callcentre-default']], 8760],
    ['rest after a cap counts window + rest', [policy({ caps: [{ id: 'm', scope: 'phone', max: 2, windowHours: 720 }], rests: [{ after: 'cap-reached', cap: 'm', hours: 2160 }] })], 2880],
    ['product interval', [policy({ productOffers: { minIntervalHours: 1000 } })], 1000],
    ['segment overlay caps count', [policy({ segments: { owner: { caps: [{ scope: 'phone', max: 1, windowHours: 400 }] } } })], 400],
    ['nothing configured', [policy({})], 0],
  ])('%s → %i h', (_l, policies, hours) => {
    expect(historyHorizonHours(policies)).toBe(hours);
  });
});

describe('classifyForScrub', () => {
  const base = { timeZones: ['America/New_York'], region: 'US-NY', segment: null, campaignId: 'c1', product: null, history: [], dncHits: [], protectedHits: [] };
  const night = at('2026-01-13T07:00:00Z'); // 02:00 local: hours do not matter for scrubbing
  it.each([
    ['invalid', parsePhone('12345', 'US'), base, 'invalid'],
    ['premium rate', parsePhone('+1 900 555 1234'), base, 'protected'],
    ['payphone', parsePhone('+1 212 555 0123'), { ...base, protectedHits: [{ list: 'payphone' }] }, 'protected'],
    ['on DNC', parsePhone('(212) 555-0123', 'US'), { ...base, dncHits: [{ list: 'global' as const, source: 'registry', expiresAt: null }] }, 'dnc'],
    ['no zone', parsePhone('+1 212 555 0123'), { ...base, timeZones: [] }, 'unknown-time-zone'],
    ['over caps', parsePhone('+1 212 555 0123'), { ...base, history: [attempt('2026-01-10T15:00:00Z'), attempt('2026-01-12T15:00:00Z')] }, 'over-caps'],
    ['eligible at night', parsePhone('+1 212 555 0123'), base, 'eligible'],
  ])('%s → %s', (_l, parsed, f, status) => {
    const r = classifyForScrub(parsed, f, [PRESETS['us-federal'], PRESETS['callcentre-default']], night);
    expect(r.status).toBe(status);
    if (status !== 'invalid') expect(r.phone).toMatch(/^\+1\d{10}$/);
  });
});
