// Due dates counted in working days (Monday to Friday; public holidays are not counted out):
// a complaint filed on any day is due by the end of the second working day after that day.
/** Working days (Mon-Fri) after the UTC calendar day of `from`, as a "YYYY-MM-DD" date. */
export function addWorkingDays(from: Date, days: number): string {
  if (!Number.isInteger(days) || days < 0) throw new Error(`working days must be a whole number ≥ 0, got ${days}`);
  const d = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  let left = days;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) left--;
  }
  return d.toISOString().slice(0, 10);
}

/** Whether a due date ("YYYY-MM-DD", the last allowed day) has passed at `now` (UTC). */
export function isOverdue(dueOn: string, now: Date): boolean {
  return now.toISOString().slice(0, 10) > dueOn;
}
