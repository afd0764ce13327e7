// Frequency rules over the attempt history: caps at exactly N and N+1, rest periods of each
// kind, the product offer interval, stop-after-refusals, segments, with exact nextAllowedAt.
import { describe, expect, it } from 'vitest';
import { decide, PRESETS, type AttemptRecord, type DecisionFacts, type Policy } from '../../../src/compliance/index.js';
import { at, attempt, expectNextAllowedIsExact, facts, failed, policy } from './helpers.js';

const ALL_DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const CC = [PRESETS['callcentre-default']];
const US = [PRESETS['us-federal']];
const CN = (more: Partial<DecisionFacts> = {}): DecisionFacts =>
  facts({ phone: '+8613812345678', timeZones: ['Asia/Shanghai'], region: 'CN', product: 'p1', ...more });
const FL = (history: AttemptRecord[]): DecisionFacts => facts({ phone: '+13055550123', region: 'US-FL', history });
const hoursAgo = (now: Date, h: number, more: Partial<AttemptRecord> = {}): AttemptRecord =>
  attempt(new Date(now.getTime() - h * 3_600_000).toISOString(), more);

type Row = [label: string, policies: Policy[], f: DecisionFacts, now: string, allowed: boolean, rule: string | null, next: string | null];

const NOON = '2026-06-10T16:00:00Z'; // 12:00 EDT in New York
const noon = at(NOON);
const SH = '2026-02-25T02:00:00Z'; // 10:00 in Shanghai

const rows: Row[] = [
  // Florida: 3 per 24 h (region overlay of us-federal). 2 earlier calls → the 3rd is allowed; 3 → the 4th is denied.
  ['FL cap: 2 calls in 24 h, 3rd allowed', US, FL([hoursAgo(noon, 1), hoursAgo(noon, 2)]), NOON, true, null, NOON],
  ['FL cap: 3 calls in 24 h, 4th denied until the oldest ages out', US, FL([hoursAgo(noon, 1), hoursAgo(noon, 2), hoursAgo(noon, 3)]), NOON, false, 'cap', '2026-06-11T13:00:00.000Z'],
  ['FL cap: call exactly 24 h ago no longer counts', US, FL([hoursAgo(noon, 24), hoursAgo(noon, 2), hoursAgo(noon, 3)]), NOON, true, null, NOON],
  ['FL cap: expiry at 22:00 local → next window opens 08:00', US, FL([attempt('2026-06-10T02:00:00Z'), attempt('2026-06-10T02:10:00Z'), attempt('2026-06-10T02:20:00Z')]), '2026-06-10T14:00:00Z', false, 'cap', '2026-06-11T12:00:00.000Z'],
  ['NY: no state cap, 3 calls fine', US, facts({ history: [hoursAgo(noon, 1), hoursAgo(noon, 2), hoursAgo(noon, 3)] }), NOON, true, null, NOON],
  // Section A: 2 per 30 days, then a 90-day rest after the 2nd call.
  ['A1: 1 call this month → 2nd allowed', CC, CN({ history: [attempt('2026-02-20T02:00:00Z')] }), SH, true, null, SH],
  ['A1: 2 calls this month → denied, 90-day rest from the 2nd', CC, CN({ history: [attempt('2026-02-10T02:00:00Z'), attempt('2026-02-20T02:00:00Z')] }), SH, false, 'cap', '2026-05-21T02:00:00.000Z'],
  ['A1: cap window passed but the 90-day rest still runs', CC, CN({ history: [attempt('2026-01-05T02:00:00Z'), attempt('2026-01-20T02:00:00Z')] }), SH, false, 'rest', '2026-04-20T02:00:00.000Z'],
  ['A1: rest over after 90 days', CC, CN({ history: [attempt('2026-01-05T02:00:00Z'), attempt('2026-01-20T02:00:00Z')] }), '2026-04-20T02:00:00Z', true, null, '2026-04-20T02:00:00.000Z'],
  ['A1: two calls 31 days apart never reach the monthly cap', CC, CN({ history: [attempt('2026-01-05T02:00:00Z'), attempt('2026-02-05T02:00:00Z')] }), SH, true, null, SH],
  // Product offer interval (A3): one offer (conversation) of a product per 30 days; other outcomes are not offers.
  ['A3: p1 offered 20 days ago → denied', CC, CN({ history: [attempt('2026-02-05T02:00:00Z', { product: 'p1', outcome: 'conversation' })] }), SH, false, 'product-interval', '2026-03-07T02:00:00.000Z'],
  ['A3: p1 no-answer 20 days ago is not an offer', CC, CN({ history: [attempt('2026-02-05T02:00:00Z', { product: 'p1', outcome: 'no-answer' })] }), SH, true, null, SH],
  ['A3: p2 offered does not block p1', CC, CN({ history: [attempt('2026-02-05T02:00:00Z', { product: 'p2', outcome: 'conversation' })] }), SH, true, null, SH],
  ['A3: p1 offered exactly 30 days ago → allowed', CC, CN({ history: [attempt('2026-01-26T02:00:00Z', { product: 'p1', outcome: 'conversation' })] }), SH, true, null, SH],
  // Stop after 3 refusals of a product (A4): never again, for that product only.
  ['A4: 2 refusals → allowed', CC, CN({ refusalsByProduct: { p1: 2 } }), SH, true, null, SH],
  ['A4: 3 refusals (tally) → never', CC, CN({ refusalsByProduct: { p1: 3 } }), SH, false, 'refusals', null],
  ['A4: 3 refusals in history → never', CC, CN({ history: [attempt('2025-03-01T02:00:00Z', { product: 'p1', refused: true }), attempt('2025-06-01T02:00:00Z', { product: 'p1', refused: true }), attempt('2025-10-01T02:00:00Z', { product: 'p1', refused: true })] }), SH, false, 'refusals', null],
  ['A4: 3 refusals of p1 do not stop p2', CC, CN({ product: 'p2', refusalsByProduct: { p1: 3 } }), SH, true, null, SH],
];

describe('frequency caps, rests, offers and refusals', () => {
  it.each(rows)('%s', (_label, policies, f, instant, allowed, rule, next) => {
    const now = at(instant);
    const d = decide(f, policies, now);
    expect(d.allowed).toBe(allowed);
    if (rule !== null) expect(failed(d)).toContain(rule);
    expect(d.nextAllowedAt?.toISOString() ?? null).toBe(next === null ? null : new Date(next).toISOString());
    expectNextAllowedIsExact(f, policies, d, now);
  });

  it('the cap detail states count, window, region and cap', () => {
    const d = decide(FL([hoursAgo(noon, 1), hoursAgo(noon, 2), hoursAgo(noon, 3)]), US, noon);
    const cap = d.reasons.find((r) => r.rule === 'cap')!;
    expect(cap.detail).toBe('3 calls in the last 24 h in US-FL, cap is 3');
    expect(cap.inputs).toMatchObject({ count: 3, max: 3, windowHours: 24, scope: 'phone', where: 'in US-FL' });
  });

  it.each([
    [29, true],
    [30, false],
  ])('30 per 365 days: %i earlier calls → allowed %s', (n, allowed) => {
    const p = [policy({ caps: [{ scope: 'phone', max: 30, windowHours: 365 * 24 }] })];
    const now = at('2026-06-10T12:00:00Z');
    const history = Array.from({ length: n }, (_, i) => hoursAgo(now, 24 * (i * 12 + 1)));
    const d = decide(facts({ history }), p, now);
    expect(d.allowed).toBe(allowed);
    expect(d.reasons.find((r) => r.rule === 'cap')!.inputs.count).toBe(n);
    if (!allowed) expect(d.nextAllowedAt?.toISOString()).toBe(new Date(history[n - 1]!.at.getTime() + 365 * 86_400_000).toISOString());
  });

  it('section A1 as two separate caps (2 per 30 days and 2 per 90 days) is expressible too', () => {
    const p = [policy({ caps: [{ scope: 'phone', max: 2, windowHours: 720 }, { scope: 'phone', max: 2, windowHours: 2160 }] })];
    const f = CN({ history: [attempt('2026-01-05T02:00:00Z'), attempt('2026-01-20T02:00:00Z')] });
    const d = decide(f, p, at('2026-03-01T02:00:00Z'));
    expect(d.reasons.filter((r) => r.rule === 'cap').map((r) => r.passed)).toEqual([true, false]);
    expect(d.nextAllowedAt?.toISOString()).toBe('2026-04-05T02:00:00.000Z'); // Jan 5 + 90 days
  });

  it('campaign and product scoped caps count only their own attempts; countOutcomes filters', () => {
    const p = [policy({ caps: [
      { scope: 'campaign', max: 1, windowHours: 24 },
      { scope: 'product', max: 2, windowHours: 24 },
      { scope: 'phone', max: 1, windowHours: 24, countOutcomes: ['conversation'] },
    ] })];
    const now = noon;
    const history = [hoursAgo(now, 1, { campaignId: 'other', product: 'p1' }), hoursAgo(now, 2, { campaignId: 'other', product: 'p2' })];
    const d = decide(facts({ campaignId: 'c1', product: 'p1', history }), p, now);
    expect(d.reasons.filter((r) => r.rule === 'cap').map((r) => r.inputs.count)).toEqual([0, 1, 0]);
    expect(d.allowed).toBe(true);
    const d2 = decide(facts({ campaignId: 'other', product: 'p1', history: [...history, hoursAgo(now, 3, { outcome: 'conversation' })] }), p, now);
    expect(d2.reasons.filter((r) => r.rule === 'cap').map((r) => [r.inputs.count, r.passed])).toEqual([[2, false], [1, true], [1, false]]);
  });

  it('Regulation F: more than 7 calls in 7 days about one debt, or any call within 7 days after a conversation', () => {
    const p = [policy({
      windows: [{ days: [...ALL_DAYS], start: '08:00', end: '21:00' }],
      caps: [{ scope: 'product', max: 7, windowHours: 168 }],
      rests: [{ after: 'conversation', hours: 168, scope: 'product' }],
    })];
    const seven = Array.from({ length: 7 }, (_, i) => hoursAgo(noon, 10 * (i + 1), { product: 'debt-1' }));
    expect(decide(facts({ product: 'debt-1', history: seven.slice(0, 6) }), p, noon).allowed).toBe(true);
    expect(failed(decide(facts({ product: 'debt-1', history: seven }), p, noon))).toEqual(['cap']);
    const talked = [hoursAgo(noon, 100, { product: 'debt-1', outcome: 'conversation' })];
    const d = decide(facts({ product: 'debt-1', history: talked }), p, noon);
    expect(failed(d)).toEqual(['rest']);
    expect(d.nextAllowedAt?.toISOString()).toBe(new Date(noon.getTime() + 68 * 3_600_000).toISOString());
    expect(decide(facts({ product: 'debt-2', history: talked }), p, noon).allowed).toBe(true);
  });

  it.each([
    ['71 h after an abandoned call → denied', 71, false, false],
    ['72 h after an abandoned call → allowed', 72, false, true],
    ['71 h, agent guaranteed → allowed', 71, true, true],
  ])('Ofcom: %s', (_l, h, agentGuaranteed, allowed) => {
    const now = at('2026-01-14T12:00:00Z'); // Wed 12:00 GMT
    const f = facts({ phone: '+442071234567', timeZones: ['Europe/London'], region: 'GB', agentGuaranteed, history: [hoursAgo(now, h, { outcome: 'abandoned' })] });
    const d = decide(f, [PRESETS['uk-ofcom']], now);
    expect(d.allowed).toBe(allowed);
    const rest = d.reasons.find((r) => r.rule === 'rest')!;
    expect(rest.passed).toBe(allowed);
    if (!allowed) {
      expect(d.nextAllowedAt?.toISOString()).toBe('2026-01-14T13:00:00.000Z');
      expect(rest.detail).toBe('an abandoned call at 2026-01-11T13:00:00.000Z: resting 72 h until 2026-01-14T13:00:00.000Z');
    }
  });

  it('rest after a refusal and China-style stop after any refusal', () => {
    const now = at(SH);
    const refusedYesterday = [hoursAgo(now, 24, { product: 'p9', refused: true, outcome: 'conversation' })];
    const rest = [policy({ rests: [{ after: 'refusal', hours: 720 }] })];
    const d = decide(CN({ history: refusedYesterday }), rest, now);
    expect(failed(d)).toEqual(['rest']);
    expect(d.nextAllowedAt?.toISOString()).toBe(new Date(now.getTime() + 29 * 86_400_000).toISOString());
    const china = [policy({ refusals: { stopAfter: 1, scope: 'any' } })];
    const d2 = decide(CN({ history: refusedYesterday }), china, now);
    expect(failed(d2)).toEqual(['refusals']);
    expect(d2.nextAllowedAt).toBeNull();
  });

  it('refusal tally and history: the larger count wins', () => {
    const now = at(SH);
    const h = [attempt('2026-02-01T02:00:00Z', { product: 'p1', refused: true })];
    const d = decide(CN({ history: h, refusalsByProduct: { p1: 2 } }), CC, now);
    expect(d.reasons.find((r) => r.rule === 'refusals')!.inputs).toMatchObject({ refusals: 2, source: 'tally' });
    expect(decide(CN({ history: [...h, ...h, ...h], refusalsByProduct: { p1: 1 } }), CC, now).allowed).toBe(false);
  });
});

describe('segments', () => {
  const p = [policy({
    windows: [{ days: [...ALL_DAYS], start: '08:00', end: '21:00' }],
    segments: {
      owner: { windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '12:00' }], caps: [{ scope: 'phone', max: 1, windowHours: 168 }] },
      technician: { windows: [{ days: [...ALL_DAYS], start: '18:00', end: '20:00' }] },
      association: { windows: [{ days: ['tue'], start: '10:00', end: '11:00' }] },
    },
  })];
  const tue = (hhmmUtc: string): Date => at(`2026-01-13T${hhmmUtc}:00Z`); // EST = UTC-5

  it.each([
    ['no segment at 13:00', null, '18:00', true],
    ['owner at 13:00 (outside 09-12)', 'owner', '18:00', false],
    ['owner at 11:59', 'owner', '16:59', true],
    ['owner at 12:00 (end exclusive)', 'owner', '17:00', false],
    ['technician at 13:00', 'technician', '18:00', false],
    ['technician at 18:30', 'technician', '23:30', true],
    ['association at 10:30 Tuesday', 'association', '15:30', true],
    ['unknown segment follows base rules', 'retail', '18:00', true],
  ])('%s', (_l, segment, utc, allowed) => {
    expect(decide(facts({ segment }), p, tue(utc)).allowed).toBe(allowed);
  });

  it('segment caps apply on top and explain where they come from', () => {
    const now = tue('15:00');
    const d = decide(facts({ segment: 'owner', history: [hoursAgo(now, 48)] }), p, now);
    expect(failed(d)).toEqual(['cap']);
    expect(d.reasons.find((r) => r.rule === 'cap')!.detail).toBe('1 call in the last 7 days for segment owner, cap is 1');
    expect(d.nextAllowedAt?.toISOString()).toBe('2026-01-19T14:00:00.000Z'); // Mon 09:00 after the cap frees on Sat
    expect(decide(facts({ segment: 'technician', history: [hoursAgo(now, 48)] }), p, at('2026-01-13T23:30:00Z')).allowed).toBe(true);
  });
});
