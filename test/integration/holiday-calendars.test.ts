// Holiday calendars over HTTP against real PostgreSQL: built-in ones listed and read, an admin's
// own created on a built-in base, validated, audited, chosen for complaints (and then not
// deletable); complaint due dates skip the chosen calendar's holidays.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { insertCall } from '../../src/cdr/cdr.repository.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { fileComplaint } from '../../src/qa/complaints.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

describe('holiday calendars and complaint due dates', () => {
  let db: Db;
  let app: FastifyInstance;
  let admin: Api;
  let qa: Api;
  let callId: string;
  /** The audit log's last row before this file ran: other files change the setting too. */
  let auditBefore = 0;
  const name = `site-${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, 4);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
    admin = await apiAs(app, db, 'admin');
    auditBefore = Number((await db.selectFrom('audit_log').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst())?.id ?? 0);
    qa = await apiAs(app, db, 'qa');
    const trunk = await createTrunk(db, { name: `h-${name}`, host: '127.0.0.1', port: 5999 });
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `holidays ${name}`, trunkId: trunk.id, callerIdId: cid.id });
    const contact = await addContact(db, { campaignId: camp.id, phone: '+13055550140' });
    const attempt = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });
    callId = await insertCall(db, { attemptId: attempt.id, campaignId: camp.id, contactId: contact.id, phone: contact.phone, callerId: '+17865550100', trunkId: trunk.id, channelId: randomUUID() });
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const put = (url: string, payload: object) => admin.inject({ method: 'PUT', url, payload });
  const setCalendar = (calendar: string | null) => put('/api/v1/settings/complaint-calendar', { calendar });
  // Wednesday 25 November 2026, the day before Thanksgiving.
  const filedAt = new Date('2026-11-25T15:00:00Z');
  const dueOn = async () => (await fileComplaint(db, { userId: null, name: 'test' }, callId, { summary: 'rude' }, filedAt)).due_on;

  it('lists and reads the built-in calendars', async () => {
    const list = (await qa.inject({ method: 'GET', url: '/api/v1/holiday-calendars' })).json();
    expect(list.calendars.filter((c: { builtIn: boolean }) => c.builtIn).map((c: { name: string }) => c.name)).toEqual(['us-federal', 'cn-public']);
    const cn = (await qa.inject({ method: 'GET', url: '/api/v1/holiday-calendars/cn-public' })).json();
    expect(cn.dates).toEqual(expect.arrayContaining([{ date: '2026-02-14', name: 'Spring Festival (worked)', kind: 'workday' }]));
    expect((await qa.inject({ method: 'GET', url: '/api/v1/holiday-calendars/nowhere' })).statusCode).toBe(404);
  });

  it("validates an admin's calendar, stores it on a built-in base and audits the change", async () => {
    expect((await put('/api/v1/holiday-calendars/us-federal', { description: 'x', dates: [] })).statusCode).toBe(409);
    const badBase = await put(`/api/v1/holiday-calendars/${name}`, { description: 'x', base: 'mars', dates: [] });
    expect(badBase.statusCode).toBe(400);
    expect(badBase.json().error).toMatch(/base must be a built-in calendar/);
    const badDate = await put(`/api/v1/holiday-calendars/${name}`, { description: 'x', dates: [{ date: '2026-02-30', name: 'x' }] });
    expect(badDate.statusCode).toBe(400);
    expect(badDate.json().issues[0].field).toBe('body.dates.0.date');
    expect((await put(`/api/v1/holiday-calendars/${name}`, { description: 'x', dates: [{ date: '11-27', name: 'x', kind: 'workday' }] })).statusCode).toBe(400);
    expect((await put(`/api/v1/holiday-calendars/${name}`, { description: 'x', dates: [{ date: '2026-11-27', name: 'a' }, { date: '2026-11-27', name: 'b' }] })).statusCode).toBe(400);
    expect((await put(`/api/v1/holiday-calendars/${name}`, { dates: [] })).json().issues[0].field).toBe('body.description');
    const ok = await put(`/api/v1/holiday-calendars/${name}`, {
      description: 'our site', base: 'us-federal', dates: [{ date: '2026-11-27', name: 'Day after Thanksgiving' }],
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ name, builtIn: false, base: 'us-federal', dates: [{ date: '2026-11-27', name: 'Day after Thanksgiving', kind: 'holiday' }] });
    const audit = await db.selectFrom('audit_log').where('resource', '=', 'holiday-calendar').where('resource_id', '=', name).select(['action', 'user_id']).execute();
    expect(audit).toEqual([{ action: 'holiday-calendar.created', user_id: admin.userId }]);
    expect((await qa.inject({ method: 'PUT', url: `/api/v1/holiday-calendars/${name}`, payload: { description: 'x', dates: [] } })).statusCode).toBe(403);
  });

  it('skips the chosen calendar\'s holidays in complaint due dates', async () => {
    expect((await setCalendar(null)).statusCode).toBe(200);
    expect(await dueOn()).toBe('2026-11-27'); // Thu, Fri: weekends only
    expect((await setCalendar('us-federal')).statusCode).toBe(200);
    expect(await dueOn()).toBe('2026-11-30'); // Thanksgiving off: Fri, Mon
    expect((await setCalendar(name)).statusCode).toBe(200);
    expect(await dueOn()).toBe('2026-12-01'); // and the site's Friday: Mon, Tue
    expect((await admin.inject({ method: 'GET', url: '/api/v1/settings/complaint-calendar' })).json()).toEqual({ calendar: name });
    // Through the API too (now: the due date is at least two days out).
    const filed = await qa.inject({ method: 'POST', url: `/api/v1/calls/${callId}/complaints`, payload: { summary: 'again' } });
    expect(filed.statusCode, filed.body).toBe(201);
    expect(filed.json().dueOn > new Date().toISOString().slice(0, 10)).toBe(true);
    const unknown = await setCalendar('nowhere');
    expect(unknown.statusCode).toBe(404);
    const settingAudit = await db.selectFrom('audit_log').where('resource_id', '=', 'complaint_calendar').where('id', '>', auditBefore).select('after').orderBy('id').execute();
    expect(settingAudit.map((a) => a.after)).toEqual([{ calendar: null }, { calendar: 'us-federal' }, { calendar: name }]);
  });

  it('refuses to delete the calendar in use, deletes it once another is chosen', async () => {
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/holiday-calendars/${name}` })).statusCode).toBe(409);
    await setCalendar('cn-public');
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/holiday-calendars/${name}` })).statusCode).toBe(204);
    expect((await admin.inject({ method: 'GET', url: `/api/v1/holiday-calendars/${name}` })).statusCode).toBe(404);
    expect((await admin.inject({ method: 'DELETE', url: '/api/v1/holiday-calendars/cn-public' })).statusCode).toBe(409);
    await setCalendar(null);
  });
});
