// Calling hours in the callee's local time: window edges (end exclusive), daylight-saving days,
// multi-zone numbers, regional hours, holidays, Sundays and blackouts, with exact nextAllowedAt.
import { describe, expect, it } from 'vitest';
import { decide, PRESETS, type DecisionFacts, type Policy } from '../../../src/compliance/index.js';
import { at, expectNextAllowedIsExact, facts, failed, policy } from './helpers.js';

const US = [PRESETS['us-federal']];
const UK = [PRESETS['uk-ofcom']];
const NY = facts({ timeZones: ['America/New_York'], region: 'US-NY' });
const FL = facts({ phone: '+13055550123', timeZones: ['America/New_York'], region: 'US-FL' });
const AL = facts({ phone: '+12055550123', timeZones: ['America/Chicago'], region: 'US-AL' });
const LA = facts({ phone: '+15045550123', timeZones: ['America/Chicago'], region: 'US-LA' });
const LONDON = facts({ phone: '+442071234567', timeZones: ['Europe/London'], region: 'GB' });
const ALASKA = facts({ phone: '+19075550123', timeZones: ['America/Adak', 'America/Anchorage'], region: 'US-AK' });
const NORTH_DAKOTA = facts({ phone: '+17015550123', timeZones: ['America/Denver', 'America/North_Dakota/Center'], region: 'US-ND' });
const EVERY_DAY_8_21 = [policy({ windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '08:00', end: '21:00' }] })];

type Row = [label: string, f: DecisionFacts, policies: Policy[], instant: string, allowed: boolean, next?: string | null];

const rows: Row[] = [
  // First and last minute of the federal window (Tue 13 Jan 2026, EST = UTC-5); the end is exclusive.
  ['NY 07:59 EST denied', NY, US, '2026-01-13T12:59:00Z', false, '2026-01-13T13:00:00.000Z'],
  ['NY 08:00 EST allowed', NY, US, '2026-01-13T13:00:00Z', true],
  ['NY 20:59 EST allowed', NY, US, '2026-01-14T01:59:00Z', true],
  ['NY 21:00 EST denied', NY, US, '2026-01-14T02:00:00Z', false, '2026-01-14T13:00:00.000Z'],
  ['NY 08:00 EDT allowed (summer)', NY, US, '2026-07-14T12:00:00Z', true],
  ['NY 07:59 EDT denied (summer)', NY, US, '2026-07-14T11:59:00Z', false, '2026-07-14T12:00:00.000Z'],
  // Florida 08:00-20:00.
  ['FL 07:59 denied', FL, US, '2026-01-13T12:59:00Z', false, '2026-01-13T13:00:00.000Z'],
  ['FL 08:00 allowed', FL, US, '2026-01-13T13:00:00Z', true],
  ['FL 19:59 allowed', FL, US, '2026-01-14T00:59:00Z', true],
  ['FL 20:00 denied', FL, US, '2026-01-14T01:00:00Z', false, '2026-01-14T13:00:00.000Z'],
  ['FL Sunday allowed', FL, US, '2026-01-11T15:00:00Z', true],
  ['FL Christmas allowed (holidays only close AL/LA)', FL, US, '2026-12-25T15:00:00Z', true],
  // US spring forward, Sun 8 Mar 2026 02:00 → 03:00: 12:30Z is 08:30 EDT (07:30 if EST were assumed).
  ['NY 08:30 on spring-forward morning allowed', NY, US, '2026-03-08T12:30:00Z', true],
  ['NY 07:59 EDT on spring-forward morning denied', NY, US, '2026-03-08T11:59:00Z', false, '2026-03-08T12:00:00.000Z'],
  ['NY 08:00 EDT on spring-forward morning allowed', NY, US, '2026-03-08T12:00:00Z', true],
  ['NY Sat 22:00 EST → next is Sun 08:00 EDT', NY, US, '2026-03-08T03:00:00Z', false, '2026-03-08T12:00:00.000Z'],
  // US fall back, Sun 1 Nov 2026 02:00 → 01:00: 12:30Z is 07:30 EST (08:30 if EDT were assumed).
  ['NY 07:30 EST on fall-back morning denied', NY, US, '2026-11-01T12:30:00Z', false, '2026-11-01T13:00:00.000Z'],
  ['NY 08:30 EST on fall-back morning allowed', NY, US, '2026-11-01T13:30:00Z', true],
  ['NY Sat 21:30 EDT → next is Sun 08:00 EST', NY, US, '2026-11-01T01:30:00Z', false, '2026-11-01T13:00:00.000Z'],
  // UK, Ofcom guideline hours: Mon-Sat 08:00-21:00, Sun 10:00-21:00.
  ['London Mon 07:59 denied', LONDON, UK, '2026-01-12T07:59:00Z', false, '2026-01-12T08:00:00.000Z'],
  ['London Mon 08:00 allowed', LONDON, UK, '2026-01-12T08:00:00Z', true],
  ['London Mon 20:59 allowed', LONDON, UK, '2026-01-12T20:59:00Z', true],
  ['London Mon 21:00 denied', LONDON, UK, '2026-01-12T21:00:00Z', false, '2026-01-13T08:00:00.000Z'],
  ['London Sun 09:59 denied', LONDON, UK, '2026-01-11T09:59:00Z', false, '2026-01-11T10:00:00.000Z'],
  ['London Sun 10:00 allowed', LONDON, UK, '2026-01-11T10:00:00Z', true],
  // UK spring forward Sun 29 Mar 2026 01:00Z: 09:00Z is 10:00 BST.
  ['London Sun 10:00 BST on clock-change day allowed', LONDON, UK, '2026-03-29T09:00:00Z', true],
  ['London Sun 09:59 BST on clock-change day denied', LONDON, UK, '2026-03-29T08:59:00Z', false, '2026-03-29T09:00:00.000Z'],
  ['London Sat 22:00 GMT → next is Sun 10:00 BST', LONDON, UK, '2026-03-28T22:00:00Z', false, '2026-03-29T09:00:00.000Z'],
  ['London 08:30 BST on clock-change morning allowed (08-21 policy)', LONDON, EVERY_DAY_8_21, '2026-03-29T07:30:00Z', true],
  ['London 07:59 BST on clock-change morning denied (08-21 policy)', LONDON, EVERY_DAY_8_21, '2026-03-29T06:59:00Z', false, '2026-03-29T07:00:00.000Z'],
  // UK fall back Sun 25 Oct 2026: 09:59Z is 09:59 GMT (10:59 if BST were assumed).
  ['London Sun 09:59 GMT after fall-back denied', LONDON, UK, '2026-10-25T09:59:00Z', false, '2026-10-25T10:00:00.000Z'],
  // +1 907: Adak (HST, UTC-10) and Anchorage (AKST, UTC-9); the window must hold in both.
  ['AK 08:30 Anchorage / 07:30 Adak denied', ALASKA, US, '2026-01-13T17:30:00Z', false, '2026-01-13T18:00:00.000Z'],
  ['AK 09:00 Anchorage / 08:00 Adak allowed', ALASKA, US, '2026-01-13T18:00:00Z', true],
  ['AK 20:59 Anchorage / 19:59 Adak allowed', ALASKA, US, '2026-01-14T05:59:00Z', true],
  ['AK 21:00 Anchorage denied', ALASKA, US, '2026-01-14T06:00:00Z', false, '2026-01-14T18:00:00.000Z'],
  // +1 701: Denver (MST, UTC-7) and North_Dakota/Center (CST, UTC-6).
  ['ND 08:30 Center / 07:30 Denver denied', NORTH_DAKOTA, US, '2026-01-13T14:30:00Z', false, '2026-01-13T15:00:00.000Z'],
  ['ND 09:00 Center / 08:00 Denver allowed', NORTH_DAKOTA, US, '2026-01-13T15:00:00Z', true],
  ['ND 20:59 Center allowed', NORTH_DAKOTA, US, '2026-01-14T02:59:00Z', true],
  ['ND 21:00 Center denied', NORTH_DAKOTA, US, '2026-01-14T03:00:00Z', false, '2026-01-14T15:00:00.000Z'],
  // Alabama and Louisiana: 08:00-20:00, no Sunday, no holiday calls.
  ['AL Sunday denied → Monday 08:00 CST', AL, US, '2026-01-11T16:00:00Z', false, '2026-01-12T14:00:00.000Z'],
  ['LA Sunday denied → Monday 08:00 CST', LA, US, '2026-01-11T16:00:00Z', false, '2026-01-12T14:00:00.000Z'],
  ['AL Monday 08:00 allowed', AL, US, '2026-01-12T14:00:00Z', true],
  ['AL Saturday 19:59 allowed', AL, US, '2026-01-11T01:59:00Z', true],
  ['AL Saturday 20:00 denied → Monday (Sunday skipped)', AL, US, '2026-01-11T02:00:00Z', false, '2026-01-12T14:00:00.000Z'],
  ['AL Christmas (Fri) denied → Sat 08:00', AL, US, '2026-12-25T15:00:00Z', false, '2026-12-26T14:00:00.000Z'],
  ['LA Thanksgiving denied → Fri 08:00', LA, US, '2026-11-26T15:00:00Z', false, '2026-11-27T14:00:00.000Z'],
  ['AL Jul 3 (observed) denied → Jul 4 holiday, Jul 5 Sunday → Mon Jul 6 08:00 CDT', AL, US, '2026-07-03T15:00:00Z', false, '2026-07-06T13:00:00.000Z'],
];

describe('calling hours (callee local time)', () => {
  it.each(rows)('%s', (_label, f, policies, instant, allowed, next) => {
    const now = at(instant);
    const d = decide(f, policies, now);
    expect(d.allowed).toBe(allowed);
    if (allowed) {
      expect(d.nextAllowedAt?.toISOString()).toBe(now.toISOString());
    } else {
      expect(failed(d).every((r) => r === 'hours' || r === 'calendar')).toBe(true);
      expect(d.nextAllowedAt?.toISOString() ?? null).toBe(next);
      expectNextAllowedIsExact(f, policies, d, now);
    }
  });

  it('explains the local time, zone and window that failed', () => {
    const d = decide(FL, US, at('2026-01-14T01:00:00Z'));
    const hours = d.reasons.filter((r) => r.rule === 'hours');
    expect(hours).toHaveLength(1);
    expect(hours[0]!.detail).toBe('Tue 20:00 in America/New_York is outside the us-federal region US-FL window 08:00-20:00');
    expect(hours[0]!.inputs).toEqual({
      zones: [{ zone: 'America/New_York', local: '2026-01-13T20:00', weekday: 'tue', windows: { 'us-federal': '08:00-21:00', 'us-federal region US-FL': '08:00-20:00' }, inside: false }],
    });
  });

  it('reports every zone of a multi-zone number and names the one outside', () => {
    const d = decide(ALASKA, US, at('2026-01-13T17:30:00Z'));
    const hours = d.reasons.find((r) => r.rule === 'hours')!;
    expect(hours.detail).toBe('Tue 07:30 in America/Adak is outside the us-federal window 08:00-21:00');
    expect(hours.inputs.zones).toMatchObject([
      { zone: 'America/Adak', local: '2026-01-13T07:30', inside: false },
      { zone: 'America/Anchorage', local: '2026-01-13T08:30', inside: true },
    ]);
    expect(d.timeZones).toEqual(['America/Adak', 'America/Anchorage']);
  });

  it('names the holiday that closes the day', () => {
    const d = decide(AL, US, at('2026-12-25T15:00:00Z'));
    const cal = d.reasons.find((r) => r.rule === 'calendar')!;
    expect(cal.passed).toBe(false);
    expect(cal.detail).toBe('2026-12-25 in America/Chicago is a closed day (holiday Christmas Day) for US-AL: no calls');
  });

  it('Alabama Sunday explains itself', () => {
    const d = decide(AL, US, at('2026-01-11T16:00:00Z'));
    expect(d.reasons.find((r) => r.rule === 'hours')!.detail).toBe('Sun 10:00 in America/Chicago: no calls on Sun under us-federal region US-AL');
  });

  it('a window starting inside the spring-forward gap opens when the clocks jump', () => {
    const p = [policy({ windows: [{ days: ['sun'], start: '02:30', end: '05:00' }] })];
    const now = at('2026-03-08T05:00:00Z'); // 00:00 EST
    const d = decide(NY, p, now);
    expect(d.nextAllowedAt?.toISOString()).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT
    expectNextAllowedIsExact(NY, p, d, now);
  });

  it('a window inside the repeated fall-back hour opens again in its second pass', () => {
    const p = [policy({ windows: [{ days: ['sun'], start: '01:15', end: '01:45' }] })];
    expect(decide(NY, p, at('2026-11-01T05:20:00Z')).allowed).toBe(true); // 01:20 EDT
    const now = at('2026-11-01T05:50:00Z'); // 01:50 EDT
    const d = decide(NY, p, now);
    expect(d.nextAllowedAt?.toISOString()).toBe('2026-11-01T06:15:00.000Z'); // 01:15 EST
    expectNextAllowedIsExact(NY, p, d, now);
  });

  it('blackout dates close every day of the range, optionally per region', () => {
    const p = [policy({
      windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], start: '09:00', end: '17:00' }],
      blackouts: [{ from: '2026-05-01', to: '2026-05-03', reason: 'campaign pause' }, { from: '2026-05-04', to: '2026-05-04', regions: ['US-FL'] }],
    })];
    const now = at('2026-05-02T15:00:00Z');
    const d = decide(NY, p, now);
    expect(d.allowed).toBe(false);
    expect(d.reasons.find((r) => r.rule === 'calendar')!.detail).toBe('2026-05-02 in America/New_York is a closed day (blackout campaign pause) for US-NY: no calls');
    expect(d.nextAllowedAt?.toISOString()).toBe('2026-05-04T13:00:00.000Z');
    expect(decide(FL, p, now).nextAllowedAt?.toISOString()).toBe('2026-05-05T13:00:00.000Z');
  });

  it('yearly holidays ("MM-DD") recur', () => {
    const p = [policy({ holidays: [{ date: '05-01', name: 'Labour Day' }] })];
    expect(decide(NY, p, at('2031-05-01T15:00:00Z')).allowed).toBe(false);
    expect(decide(NY, p, at('2031-05-02T15:00:00Z')).allowed).toBe(true);
  });

  it('never open within the search horizon → nextAllowedAt null', () => {
    const p = [policy({ windows: [{ days: ['mon'], start: '09:00', end: '10:00' }], blackouts: [{ from: '2026-01-01', to: '2028-12-31' }] })];
    const d = decide(NY, p, at('2026-02-02T15:00:00Z'));
    expect(d.allowed).toBe(false);
    expect(d.nextAllowedAt).toBeNull();
  });
});
