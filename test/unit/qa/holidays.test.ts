// Working days under a holiday calendar: US federal holidays (observed days included), China's
// 2026 schedule with its weekend working days, yearly dates; built-in data checked against the
// Chinese lunar calendar where Intl has it.
import { describe, expect, it } from 'vitest';
import { BUILT_IN_CALENDARS } from '../../../src/qa/data/holiday-calendars.js';
import { workingCalendarOf } from '../../../src/qa/holidays.js';
import { addWorkingDays, isWorkingDay } from '../../../src/qa/working-days.js';

const us = workingCalendarOf(BUILT_IN_CALENDARS['us-federal']!.dates);
const cn = workingCalendarOf(BUILT_IN_CALENDARS['cn-public']!.dates);
const due = (at: string, cal = us) => addWorkingDays(new Date(at), 2, cal);

describe('working days under the US federal calendar', () => {
  it.each([
    // Wed before Thanksgiving (Thu 26 Nov 2026): Fri, then Mon.
    ['2026-11-25T10:00:00Z', '2026-11-30', '2026-11-27'],
    // Christmas Eve 2026 (Thu): Christmas (Fri) is off.
    ['2026-12-24T10:00:00Z', '2026-12-29', '2026-12-28'],
    // Independence Day 2026 falls on a Saturday, observed Friday 3 July.
    ['2026-07-01T10:00:00Z', '2026-07-06', '2026-07-03'],
    // 1 January 2028 is a Saturday, observed Friday 31 December 2027.
    ['2027-12-29T10:00:00Z', '2028-01-03', '2027-12-31'],
    // Martin Luther King Jr. Day, Monday 18 January 2027.
    ['2027-01-15T10:00:00Z', '2027-01-20', '2027-01-19'],
  ])('filed %s is due %s (weekends only: %s)', (at, withHolidays, weekendsOnly) => {
    expect(due(at)).toBe(withHolidays);
    expect(addWorkingDays(new Date(at), 2)).toBe(weekendsOnly);
  });

  it('skips yearly dates in any year', () => {
    // 2030: no dated entries, but 11 November (a Monday) recurs.
    expect(isWorkingDay('2030-11-11', us)).toBe(false);
    expect(due('2030-11-08T12:00:00Z')).toBe('2030-11-13');
  });
});

describe("working days under China's public holidays", () => {
  it.each([
    // Fri 13 Feb 2026: Sat 14 Feb is worked, 15-23 Feb are off, Tue 24 Feb.
    ['2026-02-13T09:00:00Z', '2026-02-24'],
    // National Day week: 1-7 Oct off, then Thu 8 and Fri 9 Oct.
    ['2026-09-30T09:00:00Z', '2026-10-09'],
    // Fri 9 Oct: Sat 10 Oct is worked, then Mon 12 Oct.
    ['2026-10-09T09:00:00Z', '2026-10-12'],
    // Thu 31 Dec 2026: New Year's Day (Fri) off, then Mon 4 and Tue 5 Jan 2027.
    ['2026-12-31T09:00:00Z', '2027-01-05'],
    // Sun 4 Jan 2026 is a working day: filed Sat 3 Jan (a holiday), due Mon 5 Jan.
    ['2026-01-03T09:00:00Z', '2026-01-05'],
  ])('filed %s is due %s', (at, expected) => {
    expect(due(at, cn)).toBe(expected);
  });

  it('lists weekend working days only on weekends, and lunar festivals on their lunar dates', () => {
    for (const d of BUILT_IN_CALENDARS['cn-public']!.dates.filter((x) => x.kind === 'workday')) {
      expect([0, 6], d.date).toContain(new Date(`${d.date}T00:00:00Z`).getUTCDay());
    }
    const lunar = new Intl.DateTimeFormat('en-u-ca-chinese', { timeZone: 'Asia/Shanghai', month: 'numeric', day: 'numeric' });
    const md = (date: string) => lunar.formatToParts(new Date(`${date}T12:00:00+08:00`)).filter((p) => p.type === 'month' || p.type === 'day').map((p) => p.value).join('/');
    expect(md('2026-02-17')).toBe('1/1'); // Spring Festival 2026
    expect(md('2026-06-19')).toBe('5/5'); // Dragon Boat 2026
    expect(md('2026-09-25')).toBe('8/15'); // Mid-Autumn 2026
    expect(md('2027-06-09')).toBe('5/5');
    expect(md('2027-09-15')).toBe('8/15');
    for (const d of ['2026-02-17', '2026-06-19', '2026-09-25', '2027-06-09', '2027-09-15']) expect(isWorkingDay(d, cn)).toBe(false);
  });
});

describe('workingCalendarOf', () => {
  it('reads yearly, dated and worked days', () => {
    const cal = workingCalendarOf([
      { date: '05-01', name: 'May Day', kind: 'holiday' },
      { date: '2026-12-28', name: 'site closed', kind: 'holiday' },
      { date: '2026-11-26', name: 'we work Thanksgiving', kind: 'workday' },
    ]);
    expect(isWorkingDay('2031-05-01', cal)).toBe(false);
    expect(isWorkingDay('2026-12-28', cal)).toBe(false);
    expect(isWorkingDay('2026-11-26', cal)).toBe(true);
    expect(isWorkingDay('2026-11-28', cal)).toBe(false); // a Saturday
  });

  it('refuses a calendar with no working day within a year instead of looping', () => {
    const closed = workingCalendarOf([...Array(7).keys()].map((i) => ({ date: `01-0${i + 1}`, name: 'x', kind: 'holiday' as const })));
    expect(addWorkingDays(new Date('2026-01-01T00:00:00Z'), 2, closed)).toBe('2026-01-09');
    const everyDay = { holidays: new Set<string>(), yearly: new Set([...Array(366).keys()].map((i) => new Date(Date.UTC(2000, 0, 1 + i)).toISOString().slice(5, 10))), workdays: new Set<string>() };
    expect(() => addWorkingDays(new Date('2026-01-01T00:00:00Z'), 2, everyDay)).toThrow(/check the holiday calendar/);
  });
});
