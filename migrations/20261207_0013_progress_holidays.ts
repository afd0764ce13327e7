// Campaign progress and holiday calendars: attempts listed per campaign and per contact newest
// first (keyset pages on created_at, id); decisions keep their failed rules; holiday calendars an
// admin keeps (days off, and days worked all the same) for complaint due dates. Built-in calendars
// live in code (src/qa/data/holiday-calendars.ts); the `complaint_calendar` setting picks one.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The rules a decision failed, "+"-joined in name order ("cap+hours"; '' when allowed): progress
  // groups contacts by them without parsing every decision's reasons (docs/campaign-progress.md).
  await sql`alter table decisions add column failed_rules text`.execute(db);
  await sql`update decisions d set failed_rules = coalesce((
      select string_agg(distinct r->>'rule', '+' order by r->>'rule') from json_array_elements(d.reasons) r
      where (r->>'passed')::boolean = false), '')`.execute(db);
  await sql`create index attempts_campaign_created_idx on attempts (campaign_id, created_at, id)`.execute(db);
  await sql`create index attempts_contact_created_idx on attempts (contact_id, created_at, id)`.execute(db);

  await db.schema
    .createTable('holiday_calendars')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    /** A built-in calendar whose dates this one adds to (e.g. a site's own days on top of us-federal). */
    .addColumn('base', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema
    .createTable('holiday_dates')
    .addColumn('calendar', 'text', (c) => c.notNull().references('holiday_calendars.name').onDelete('cascade'))
    .addColumn('date', 'date', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    /** holiday: not a working day; workday: a day worked all the same (China's weekend working days, a base holiday the site works). */
    .addColumn('kind', 'text', (c) => c.notNull().defaultTo('holiday').check(sql`kind in ('holiday', 'workday')`))
    .addPrimaryKeyConstraint('holiday_dates_pk', ['calendar', 'date'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('holiday_dates').ifExists().execute();
  await db.schema.dropTable('holiday_calendars').ifExists().execute();
  await sql`drop index if exists attempts_contact_created_idx`.execute(db);
  await sql`drop index if exists attempts_campaign_created_idx`.execute(db);
  await sql`alter table decisions drop column if exists failed_rules`.execute(db);
}
