// Complaint due dates: 2 working days, Monday to Friday, UTC calendar days.
import { describe, expect, it } from 'vitest';
import { addWorkingDays, isOverdue } from '../../../src/qa/working-days.js';

describe('addWorkingDays', () => {
  // 2026-11-23 is a Monday.
  it.each([
    ['2026-11-23T10:00:00Z', '2026-11-25'], // Mon → Wed
    ['2026-11-26T23:59:59Z', '2026-11-30'], // Thu → Mon
    ['2026-11-27T08:00:00Z', '2026-12-01'], // Fri → Tue
    ['2026-11-28T12:00:00Z', '2026-12-01'], // Sat → Tue
    ['2026-11-29T12:00:00Z', '2026-12-01'], // Sun → Tue
    ['2026-12-31T12:00:00Z', '2027-01-04'], // Thu 31 Dec → Mon, across the year
  ])('filed %s is due %s', (at, due) => {
    expect(addWorkingDays(new Date(at), 2)).toBe(due);
  });

  it('counts 0 days as the same day and refuses negative or fractional counts', () => {
    expect(addWorkingDays(new Date('2026-11-28T12:00:00Z'), 0)).toBe('2026-11-28');
    expect(() => addWorkingDays(new Date(), -1)).toThrow(/whole number/);
    expect(() => addWorkingDays(new Date(), 1.5)).toThrow(/whole number/);
  });
});

describe('isOverdue', () => {
  it('is overdue only after the due day has ended (UTC)', () => {
    expect(isOverdue('2026-11-25', new Date('2026-11-25T23:59:59Z'))).toBe(false);
    expect(isOverdue('2026-11-25', new Date('2026-11-26T00:00:00Z'))).toBe(true);
  });
});
