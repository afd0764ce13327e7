// Holiday calendars (built in and an admin's own) and which one complaint due dates skip the
// holidays of. Changes are admin-only and audited.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAudit } from '../../auth/audit.repository.js';
import { deleteCalendar, getCalendar, getComplaintCalendarName, listCalendars, saveCalendar, setComplaintCalendar } from '../../qa/holidays.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../server.js';

const calendarName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a lower-case name such as "acme-us"');
const isRealDate = (s: string) => {
  const [y, m, d] = (s.length === 5 ? `2000-${s}` : s).split('-').map(Number);
  const t = new Date(Date.UTC(y!, m! - 1, d!));
  return t.getUTCMonth() === m! - 1 && t.getUTCDate() === d;
};
const date = z.string().regex(/^(\d{4}-)?\d{2}-\d{2}$/, 'must be a date "YYYY-MM-DD" (or "MM-DD" for every year)').refine(isRealDate, 'is not a calendar date');

export function holidayRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const params = z.object({ name: calendarName });
    app.get('/holiday-calendars', { config: { access: { perm: 'config.read' } } }, async () => ({
      calendars: await listCalendars(deps.db),
      complaintCalendar: await getComplaintCalendarName(deps.db),
    }));
    app.get('/holiday-calendars/:name', { config: { access: { perm: 'config.read' } }, schema: { params } }, async (req) => getCalendar(deps.db, req.params.name));
    app.put(
      '/holiday-calendars/:name',
      {
        config: { access: { perm: 'config.write' } },
        schema: {
          description: 'Creates or replaces a calendar of your own with exactly these dates, optionally adding to a built-in one (base).',
          params,
          body: z.strictObject({
            description: z.string().trim().min(1, 'must say what the calendar is for').max(500),
            base: calendarName.nullable().optional(),
            dates: z.array(z.strictObject({
              date,
              name: z.string().trim().min(1, 'must name the day').max(200),
              /** holiday: off work; workday: worked all the same (a weekend working day, a base holiday the site works). */
              kind: z.enum(['holiday', 'workday']).default('holiday'),
            })).max(2000),
          }),
        },
      },
      async (req) => {
        const { before, after } = await saveCalendar(deps.db, req.params.name, req.body);
        await writeAudit(deps.db, actorOf(req), { action: before ? 'holiday-calendar.updated' : 'holiday-calendar.created', resource: 'holiday-calendar', resourceId: after.name, before, after });
        return after;
      },
    );
    app.delete('/holiday-calendars/:name', { config: { access: { perm: 'config.write' } }, schema: { params } }, async (req, reply) => {
      const gone = await deleteCalendar(deps.db, req.params.name);
      await writeAudit(deps.db, actorOf(req), { action: 'holiday-calendar.deleted', resource: 'holiday-calendar', resourceId: gone.name, before: gone, after: null });
      return reply.status(204).send();
    });
    app.get('/settings/complaint-calendar', { config: { access: { perm: 'config.read' } } }, async () => ({ calendar: await getComplaintCalendarName(deps.db) }));
    app.put(
      '/settings/complaint-calendar',
      {
        config: { access: { perm: 'config.write' } },
        schema: { description: 'The holiday calendar complaint due dates skip, besides weekends; null = weekends only.', body: z.strictObject({ calendar: calendarName.nullable() }) },
      },
      async (req) => {
        const before = await getComplaintCalendarName(deps.db);
        await setComplaintCalendar(deps.db, req.body.calendar);
        await writeAudit(deps.db, actorOf(req), { action: 'setting.updated', resource: 'setting', resourceId: 'complaint_calendar', before: { calendar: before }, after: { calendar: req.body.calendar } });
        return { calendar: req.body.calendar };
      },
    );
  };
}
