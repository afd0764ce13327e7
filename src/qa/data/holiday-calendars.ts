// Built-in holiday calendars for working-day arithmetic (complaint due dates). Each entry is a
// date off work ("YYYY-MM-DD", or "MM-DD" every year) or, kind "workday", a weekend date worked.
// An admin adds a site's own days in a calendar of their own based on one of these.
import { usFederalHolidays } from '../../compliance/data/us-holidays.js';
import type { HolidayKind } from '../../db/schema.js';

export interface CalendarDate {
  date: string;
  name: string;
  kind: HolidayKind;
}

export interface BuiltInCalendar {
  name: string;
  description: string;
  dates: readonly CalendarDate[];
}

const off = (name: string, ...dates: string[]): CalendarDate[] => dates.map((date) => ({ date, name, kind: 'holiday' }));
const worked = (name: string, ...dates: string[]): CalendarDate[] => dates.map((date) => ({ date, name, kind: 'workday' }));

// The State Council's 2026 schedule: each holiday period with the weekend days worked to bridge it.
const CN_2026: CalendarDate[] = [
  ...off("New Year's Day", '2026-01-01', '2026-01-02', '2026-01-03'), ...worked("New Year's Day (worked)", '2026-01-04'),
  ...off('Spring Festival', '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23'),
  ...worked('Spring Festival (worked)', '2026-02-14', '2026-02-28'),
  ...off('Qingming Festival', '2026-04-04', '2026-04-05', '2026-04-06'),
  ...off('Labour Day', '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05'), ...worked('Labour Day (worked)', '2026-05-09'),
  ...off('Dragon Boat Festival', '2026-06-19', '2026-06-20', '2026-06-21'),
  ...off('Mid-Autumn Festival', '2026-09-25', '2026-09-26', '2026-09-27'),
  ...off('National Day', '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07'),
  ...worked('National Day (worked)', '2026-09-20', '2026-10-10'),
];

// 2027: the 13 statutory days (lunar dates checked against Intl's Chinese calendar in the unit
// test). The State Council publishes the bridged schedule late in the year before: add its extra
// days off and weekend working days in a calendar based on this one.
const CN_2027: CalendarDate[] = [
  ...off("New Year's Day", '2027-01-01'),
  ...off('Spring Festival', '2027-02-05', '2027-02-06', '2027-02-07', '2027-02-08'),
  ...off('Qingming Festival', '2027-04-05'),
  ...off('Labour Day', '2027-05-01', '2027-05-02'),
  ...off('Dragon Boat Festival', '2027-06-09'),
  ...off('Mid-Autumn Festival', '2027-09-15'),
  ...off('National Day', '2027-10-01', '2027-10-02', '2027-10-03'),
];

export const BUILT_IN_CALENDARS: Readonly<Record<string, BuiltInCalendar>> = {
  'us-federal': {
    name: 'us-federal',
    description: 'US federal holidays (OPM), with the Friday or Monday a weekend holiday is observed on; dated through 2027',
    dates: [
      ...usFederalHolidays([]).map((h) => ({ date: h.date, name: h.name, kind: 'holiday' as const })),
      // 1 January 2028 is a Saturday: observed on Friday 31 December 2027.
      ...off("New Year's Day 2028 (observed)", '2027-12-31'),
    ],
  },
  'cn-public': {
    name: 'cn-public',
    description: "China's public holidays: the State Council's 2026 schedule with its weekend working days; 2027 statutory days only",
    dates: [...CN_2026, ...CN_2027],
  },
};
