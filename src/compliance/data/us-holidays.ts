// US federal holidays, used by the us-federal preset for the states that ban holiday calls
// (Alabama, Louisiana). Fixed-date holidays recur every year ("MM-DD"); floating ones and the
// Friday/Monday on which a weekend holiday is observed are dated, so this list needs extending
// each year (dated through 2027). States' own holiday lists differ: check the statute.
import type { Holiday } from '../policy.js';

const FIXED: [string, string][] = [
  ['01-01', "New Year's Day"], ['06-19', 'Juneteenth'], ['07-04', 'Independence Day'],
  ['11-11', 'Veterans Day'], ['12-25', 'Christmas Day'],
];

const DATED: [string, string][] = [
  ['2026-01-19', 'Martin Luther King Jr. Day'], ['2026-02-16', "Washington's Birthday"],
  ['2026-05-25', 'Memorial Day'], ['2026-07-03', 'Independence Day (observed)'], ['2026-09-07', 'Labor Day'],
  ['2026-10-12', 'Columbus Day'], ['2026-11-26', 'Thanksgiving Day'],
  ['2027-01-18', 'Martin Luther King Jr. Day'], ['2027-02-15', "Washington's Birthday"],
  ['2027-05-31', 'Memorial Day'], ['2027-06-18', 'Juneteenth (observed)'], ['2027-07-05', 'Independence Day (observed)'],
  ['2027-09-06', 'Labor Day'], ['2027-10-11', 'Columbus Day'], ['2027-11-25', 'Thanksgiving Day'],
  ['2027-12-24', 'Christmas Day (observed)'],
];

export function usFederalHolidays(regions: string[]): Holiday[] {
  return [...FIXED, ...DATED].map(([date, name]) => ({ date, name, regions }));
}
