// Due dates counted in working days: Monday to Friday, less the public holidays of the holiday
// calendar that applies (src/qa/holidays.ts), plus the weekend days that calendar makes working
// days (China moves working days onto weekends around its holidays). A complaint filed on any day
// is due by the end of the second working day after that day. UTC calendar days throughout.

/** Which dates are not working days (and which weekend dates are). */
export interface WorkingCalendar {
  /** "YYYY-MM-DD" dates off work. */
  holidays: ReadonlySet<string>;
  /** "MM-DD" dates off work every year. */
  yearly: ReadonlySet<string>;
  /** "YYYY-MM-DD" weekend dates that are working days. */
  workdays: ReadonlySet<string>;
}

export const WEEKENDS_ONLY: WorkingCalendar = { holidays: new Set(), yearly: new Set(), workdays: new Set() };

/** Whether a "YYYY-MM-DD" date is a working day under the calendar. */
export function isWorkingDay(date: string, cal: WorkingCalendar = WEEKENDS_ONLY): boolean {
  if (cal.workdays.has(date)) return true;
  if (cal.holidays.has(date) || cal.yearly.has(date.slice(5))) return false;
  const wd = new Date(`${date}T00:00:00Z`).getUTCDay();
  return wd !== 0 && wd !== 6;
}

/** The date that many working days after the UTC calendar day of `from`, as "YYYY-MM-DD". */
export function addWorkingDays(from: Date, days: number, cal: WorkingCalendar = WEEKENDS_ONLY): string {
  if (!Number.isInteger(days) || days < 0) throw new Error(`working days must be a whole number ≥ 0, got ${days}`);
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  let left = days;
  // A calendar could in principle close every day; no real one closes a year.
  for (let guard = 0; left > 0; guard++) {
    if (guard > 366 + days * 7) throw new Error(`no ${days} working days within a year after ${from.toISOString().slice(0, 10)}: check the holiday calendar`);
    d.setUTCDate(d.getUTCDate() + 1);
    if (isWorkingDay(d.toISOString().slice(0, 10), cal)) left--;
  }
  return d.toISOString().slice(0, 10);
}

/** Whether a due date ("YYYY-MM-DD", the last allowed day) has passed at `now` (UTC). */
export function isOverdue(dueOn: string, now: Date): boolean {
  return now.toISOString().slice(0, 10) > dueOn;
}
