// Holiday calendars for working-day arithmetic: built-in ones (src/qa/data/holiday-calendars.ts)
// and an admin's own, stored (holiday_calendars, holiday_dates), each optionally adding to a
// built-in one; and which calendar complaint due dates use (the `complaint_calendar` setting;
// none = weekends only).
import { sql } from 'kysely';
import type { Db } from '../db/database.js';
import type { HolidayKind } from '../db/schema.js';
import { BUILT_IN_CALENDARS, type CalendarDate } from './data/holiday-calendars.js';
import { QaError } from './scorecards.js';
import { WEEKENDS_ONLY, type WorkingCalendar } from './working-days.js';

const SETTING = 'complaint_calendar';

export interface CalendarView {
  name: string;
  description: string;
  builtIn: boolean;
  /** The built-in calendar this one adds to. */
  base: string | null;
  /** Its own dates (a stored calendar's base dates are not repeated here). */
  dates: CalendarDate[];
}

export interface CalendarInput {
  description: string;
  base?: string | null;
  dates: { date: string; name: string; kind?: HolidayKind }[];
}

const builtInView = (name: string): CalendarView | null => {
  const b = BUILT_IN_CALENDARS[name];
  return b ? { name: b.name, description: b.description, builtIn: true, base: null, dates: [...b.dates] } : null;
};

export async function getCalendar(db: Db, name: string): Promise<CalendarView> {
  const built = builtInView(name);
  if (built) return built;
  const cal = await db.selectFrom('holiday_calendars').where('name', '=', name).selectAll().executeTakeFirst();
  if (!cal) throw new QaError(`no holiday calendar named "${name}" (built in: ${Object.keys(BUILT_IN_CALENDARS).join(', ')})`, 404);
  const dates = await db.selectFrom('holiday_dates').where('calendar', '=', name).select(['date', 'name', 'kind']).orderBy('date').execute();
  return { name: cal.name, description: cal.description, builtIn: false, base: cal.base, dates };
}

export async function listCalendars(db: Db): Promise<{ name: string; description: string; builtIn: boolean; base: string | null; dates: number }[]> {
  const stored = await db
    .selectFrom('holiday_calendars as c')
    .select(['c.name', 'c.description', 'c.base', (eb) => eb.selectFrom('holiday_dates as d').whereRef('d.calendar', '=', 'c.name').select(sql<number>`count(*)::int`.as('n')).as('dates')])
    .orderBy('c.name')
    .execute();
  return [
    ...Object.values(BUILT_IN_CALENDARS).map((b) => ({ name: b.name, description: b.description, builtIn: true, base: null, dates: b.dates.length })),
    ...stored.map((c) => ({ name: c.name, description: c.description, builtIn: false, base: c.base, dates: c.dates ?? 0 })),
  ];
}

/** Creates or replaces a stored calendar with exactly these dates. Built-in names are refused. */
export async function saveCalendar(db: Db, name: string, input: CalendarInput): Promise<{ before: CalendarView | null; after: CalendarView }> {
  if (BUILT_IN_CALENDARS[name]) throw new QaError(`"${name}" is a built-in calendar and cannot change; create one of your own with base "${name}"`, 409);
  if (input.base && !BUILT_IN_CALENDARS[input.base]) {
    throw new QaError(`base must be a built-in calendar (${Object.keys(BUILT_IN_CALENDARS).join(', ')}), not "${input.base}"`, 400, 'base');
  }
  const seen = new Set<string>();
  for (const d of input.dates) {
    if (seen.has(d.date)) throw new QaError(`date ${d.date} is listed twice`, 400, 'dates');
    seen.add(d.date);
    // A worked day is dated: a weekend day worked, or a base calendar's holiday this site works.
    if ((d.kind ?? 'holiday') === 'workday' && d.date.length !== 10) throw new QaError(`date ${d.date}: a worked day must be a full date (YYYY-MM-DD)`, 400, 'dates');
  }
  const before = await getCalendar(db, name).catch((err: unknown) => {
    if (err instanceof QaError && err.status === 404) return null;
    throw err;
  });
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('holiday_calendars')
      .values({ name, description: input.description, base: input.base ?? null })
      .onConflict((oc) => oc.column('name').doUpdateSet({ description: input.description, base: input.base !== undefined ? input.base : (before?.base ?? null), updated_at: new Date() }))
      .execute();
    await trx.deleteFrom('holiday_dates').where('calendar', '=', name).execute();
    if (input.dates.length) {
      await trx.insertInto('holiday_dates').values(input.dates.map((d) => ({ calendar: name, date: d.date, name: d.name, kind: d.kind ?? 'holiday' }))).execute();
    }
  });
  return { before, after: await getCalendar(db, name) };
}

export async function deleteCalendar(db: Db, name: string): Promise<CalendarView> {
  if (BUILT_IN_CALENDARS[name]) throw new QaError(`"${name}" is a built-in calendar and cannot be deleted`, 409);
  const cal = await getCalendar(db, name);
  if ((await getComplaintCalendarName(db)) === name) throw new QaError(`"${name}" is the calendar complaint due dates use; choose another first`, 409);
  await db.deleteFrom('holiday_calendars').where('name', '=', name).execute();
  return cal;
}

export async function getComplaintCalendarName(db: Db): Promise<string | null> {
  const row = await db.selectFrom('settings').where('key', '=', SETTING).select('value').executeTakeFirst();
  return typeof row?.value === 'string' ? row.value : null;
}

/** Chooses the calendar complaint due dates skip the holidays of; null = weekends only. */
export async function setComplaintCalendar(db: Db, name: string | null): Promise<void> {
  if (name !== null) await getCalendar(db, name);
  await db
    .insertInto('settings')
    .values({ key: SETTING, value: JSON.stringify(name) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(name), updated_at: new Date() }))
    .execute();
}

/** A calendar's dates (its base's included) as the working-day arithmetic reads them. */
export function workingCalendarOf(dates: readonly CalendarDate[]): WorkingCalendar {
  const holidays = new Set<string>();
  const yearly = new Set<string>();
  const workdays = new Set<string>();
  for (const d of dates) {
    if (d.kind === 'workday') workdays.add(d.date);
    else if (d.date.length === 5) yearly.add(d.date);
    else holidays.add(d.date);
  }
  return { holidays, yearly, workdays };
}

/** The working calendar complaint due dates use now. */
export async function complaintWorkingCalendar(db: Db): Promise<{ name: string | null; calendar: WorkingCalendar }> {
  const name = await getComplaintCalendarName(db);
  if (name === null) return { name, calendar: WEEKENDS_ONLY };
  const cal = await getCalendar(db, name);
  const base = cal.base ? (BUILT_IN_CALENDARS[cal.base]?.dates ?? []) : [];
  // The calendar's own dates win over its base's on the same day (a base holiday made a workday).
  const own = new Set(cal.dates.map((d) => d.date));
  return { name, calendar: workingCalendarOf([...base.filter((d) => !own.has(d.date)), ...cal.dates]) };
}
