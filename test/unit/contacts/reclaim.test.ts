// The date rule behind taking contact data back from agents: calendar months, UTC, month ends.
import { describe, expect, it } from 'vitest';
import { isDueForReclaim, reclaimCutoff } from '../../../src/contacts/reclaim.js';

const d = (s: string) => new Date(s);

describe('reclaimCutoff', () => {
  it.each([
    ['2026-11-23T10:00:00.000Z', 10, '2026-01-23T10:00:00.000Z'],
    ['2026-03-15T00:00:00.000Z', 10, '2025-05-15T00:00:00.000Z'], // across a year
    ['2026-12-31T12:34:56.789Z', 10, '2026-02-28T12:34:56.789Z'], // February has no 31st
    ['2028-12-30T00:00:00.000Z', 10, '2028-02-29T00:00:00.000Z'], // leap year
    ['2026-05-31T23:59:59.999Z', 1, '2026-04-30T23:59:59.999Z'],
    ['2026-01-01T00:00:00.000Z', 12, '2025-01-01T00:00:00.000Z'],
    ['2026-01-01T00:00:00.000Z', 25, '2023-12-01T00:00:00.000Z'],
  ])('%s minus %i months is %s', (now, months, cutoff) => {
    expect(reclaimCutoff(d(now), months).toISOString()).toBe(cutoff);
  });

  it('refuses a period that is not a whole number of months', () => {
    expect(() => reclaimCutoff(d('2026-01-01T00:00:00Z'), 0)).toThrow(RangeError);
    expect(() => reclaimCutoff(d('2026-01-01T00:00:00Z'), 1.5)).toThrow(/whole number/);
    expect(() => reclaimCutoff(new Date('nope'), 10)).toThrow(RangeError);
  });
});

describe('isDueForReclaim', () => {
  const now = d('2026-11-23T10:00:00Z');
  it('takes back at exactly the period and after, not before', () => {
    expect(isDueForReclaim(d('2026-01-23T10:00:00Z'), now)).toBe(true);
    expect(isDueForReclaim(d('2025-06-01T00:00:00Z'), now)).toBe(true);
    expect(isDueForReclaim(d('2026-01-23T10:00:00.001Z'), now)).toBe(false);
    expect(isDueForReclaim(d('2026-11-01T00:00:00Z'), now)).toBe(false);
    expect(isDueForReclaim(d('2026-10-23T10:00:00Z'), now, 1)).toBe(true);
  });
});
