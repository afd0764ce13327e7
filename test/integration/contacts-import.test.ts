// Contact import against real PostgreSQL, through the HTTP API and the `dialwell contacts` CLI:
// good rows stored, bad rows reported by line, nothing duplicated on a second import (contacts or
// attempts), single contacts, masked listing, and taking contact data back from agents.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { assignContact } from '../../src/contacts/contacts.repository.js';
import { reclaimContacts } from '../../src/contacts/reclaim.js';
import { createDb, type Db } from '../../src/db/database.js';
import { buildServer } from '../../src/http/server.js';
import { apiAs, type Api } from '../helpers/api.js';
import { createLogger } from '../../src/log.js';
import { testConfig, randomCallerNumber } from '../helpers/env.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dialwell.js');

// Line numbers are the file's: the quoted line break in row 3 makes it span lines 4 and 5.
const CSV = [
  'phone,name,segment,time_zone,priority,external_id,product interest',
  '"(305) 555-0100","Lee, Ann",owner,America/New_York,5,crm-1,loan', // 2
  '305-555-0101,"Bob ""B"" Smith",,america/chicago,,crm-2,', // 3
  '+1 305 555 0102,"Multi\nline",Renter,,1,crm-3,card', // 4-5
  'not a phone,X,,,,crm-4,', // 6: bad phone
  '+13055550103,Y,,Mars/Olympus,abc,crm-5,', // 7: bad zone and priority
  '+13055550104,Z,extra,,,,,', // 8: one field too many
  '(305) 555-0100,Dup,,,,crm-6,', // 9: same number as line 2
  '911,Emergency,,,,,', // 10
  '+13055550105,"Al"ex,,,,,', // 11: text after a closing quote
].join('\r\n') + '\r\n';

interface Report {
  rows: number; imported: number; inserted: number; updated: number; unchanged: number; rejected: number;
  attemptsCreated: number; errorCount: number; errors: { line: number; field: string; value: string; problem: string }[];
}

describe('contact import (real PostgreSQL)', () => {
  const cfg = testConfig();
  const tag = randomUUID().slice(0, 8);
  let db: Db;
  let app: FastifyInstance;
  let api: Api;
  let trunkId: string;
  let callerIdId: string;

  const newCampaign = async (name: string, defaultCountry = 'US') => {
    const c = await createCampaign(db, { name: `${name} ${tag}`, trunkId, callerIdId });
    await db.updateTable('campaigns').set({ default_country: defaultCountry }).where('id', '=', c.id).execute();
    return c.id;
  };
  const counts = async (campaignId: string) => {
    const contacts = await db.selectFrom('contacts').where('campaign_id', '=', campaignId).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    const attempts = await db.selectFrom('attempts').where('campaign_id', '=', campaignId).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
    return { contacts: Number(contacts.n), attempts: Number(attempts.n) };
  };
  const importCsv = (campaignId: string, body: string, query = '') =>
    api.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/contacts/import${query}`, headers: { 'content-type': 'text/csv' }, payload: body });

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 5);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
    api = await apiAs(app, db, 'admin');
    trunkId = (await createTrunk(db, { name: `ct-${tag}`, host: '127.0.0.1', port: 5999 })).id;
    callerIdId = (await createCallerId(db, randomCallerNumber())).id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  it('imports good rows through the API, reports bad ones by line, and a second import duplicates nothing', async () => {
    const campaignId = await newCampaign('api import');
    const first = await importCsv(campaignId, CSV);
    expect(first.statusCode, first.body).toBe(200);
    const r = first.json<Report>();
    expect(r).toMatchObject({ rows: 9, imported: 3, inserted: 3, updated: 0, unchanged: 0, rejected: 6, attemptsCreated: 3, errorCount: 7 });
    expect(r.errors.map((e) => [e.line, e.field])).toEqual([
      [6, 'phone'], [7, 'time_zone'], [7, 'priority'], [8, '(row)'], [9, 'phone'], [10, 'phone'], [11, '(row)'],
    ]);
    expect(r.errors[0]).toMatchObject({ value: 'not a phone', problem: expect.stringMatching(/is not a phone number/) });
    expect(r.errors[1]).toMatchObject({ value: 'Mars/Olympus', problem: expect.stringMatching(/IANA/) });
    expect(r.errors[3]!.problem).toMatch(/has 8 fields but the header has 7/);
    expect(r.errors[4]!.problem).toMatch(/\+13055550100, already on line 2/);
    expect(r.errors[5]!.problem).toMatch(/emergency/);
    expect(r.errors[6]).toMatchObject({ value: '+13055550105,Alex,,,,,', problem: expect.stringMatching(/after the closing quote/) });

    const rows = await db.selectFrom('contacts').where('campaign_id', '=', campaignId).orderBy('phone').selectAll().execute();
    expect(rows.map((c) => [c.phone, c.name, c.segment, c.time_zone, c.priority, c.external_id, c.attributes])).toEqual([
      ['+13055550100', 'Lee, Ann', 'owner', 'America/New_York', 5, 'crm-1', { 'product interest': 'loan' }],
      ['+13055550101', 'Bob "B" Smith', null, 'America/Chicago', 0, 'crm-2', {}],
      ['+13055550102', 'Multi\nline', 'renter', null, 1, 'crm-3', { 'product interest': 'card' }],
    ]);
    const attempts = await db.selectFrom('attempts').where('campaign_id', '=', campaignId).select(['contact_id', 'phone', 'state', 'idempotency_key']).execute();
    expect(attempts).toHaveLength(3);
    for (const a of attempts) {
      expect(a.state).toBe('queued');
      expect(a.idempotency_key).toBe(`${campaignId}:${a.contact_id}:initial`);
      expect(rows.find((c) => c.id === a.contact_id)?.phone).toBe(a.phone);
    }

    const again = (await importCsv(campaignId, CSV)).json<Report>();
    expect(again).toMatchObject({ rows: 9, imported: 3, inserted: 0, updated: 0, unchanged: 3, rejected: 6, attemptsCreated: 0 });
    expect(await counts(campaignId)).toEqual({ contacts: 3, attempts: 3 });

    // A changed file updates only what changed; columns it lacks (and attributes set elsewhere) stay.
    await db.updateTable('contacts').set({ attributes: JSON.stringify({ 'product interest': 'loan', postalTimeZone: 'America/New_York' }) })
      .where('campaign_id', '=', campaignId).where('phone', '=', '+13055550100').execute();
    const changed = (await importCsv(campaignId, 'Phone,Name,product interest\n3055550100,Ann Lee,\n3055550101,Bob "B" Smith,\n')).json<Report>();
    expect(changed).toMatchObject({ rows: 2, inserted: 0, updated: 1, unchanged: 1, rejected: 0, attemptsCreated: 0 });
    const ann = await db.selectFrom('contacts').where('campaign_id', '=', campaignId).where('phone', '=', '+13055550100').selectAll().executeTakeFirstOrThrow();
    expect(ann).toMatchObject({ name: 'Ann Lee', segment: 'owner', priority: 5, external_id: 'crm-1', attributes: { postalTimeZone: 'America/New_York' } });
    expect(await counts(campaignId)).toEqual({ contacts: 3, attempts: 3 });
  });

  it('writes large files in batches and reads national numbers with the campaign country', async () => {
    const campaignId = await newCampaign('batches', 'GB');
    const lines = ['phone,priority'];
    for (let i = 0; i < 2500; i++) lines.push(`020 7946 ${String(i).padStart(4, '0')},${i % 7}`);
    const r = (await importCsv(campaignId, lines.join('\n'))).json<Report>();
    expect(r).toMatchObject({ rows: 2500, imported: 2500, inserted: 2500, rejected: 0, attemptsCreated: 2500 });
    expect(await counts(campaignId)).toEqual({ contacts: 2500, attempts: 2500 });
    const one = await db.selectFrom('contacts').where('campaign_id', '=', campaignId).where('phone', '=', '+442079460042').select('priority').executeTakeFirst();
    expect(one?.priority).toBe(0);
    // The country can be overridden per import.
    const us = (await importCsv(campaignId, 'phone\n(305) 555-0199\n', '?country=US')).json<Report>();
    expect(us).toMatchObject({ inserted: 1, rejected: 0 });
  });

  it('refuses what cannot be imported at all with a clear 4xx', async () => {
    const campaignId = await newCampaign('bad input');
    const unknown = await importCsv(randomUUID(), CSV);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error).toMatch(/campaign .* does not exist/);
    expect((await importCsv('not-a-uuid', CSV)).statusCode).toBe(400);
    const noPhone = await importCsv(campaignId, 'name,segment\nAnn,owner\n');
    expect(noPhone.statusCode).toBe(400);
    expect(noPhone.json().error).toMatch(/no "phone" column/);
    expect((await importCsv(campaignId, '')).statusCode).toBe(400);
    expect((await importCsv(campaignId, 'phone\n1\n', '?country=XX')).statusCode).toBe(400);
    const json = await api.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/contacts/import`, payload: { phone: '+13055550100' } });
    expect(json.statusCode).toBe(415);
    expect(await counts(campaignId)).toEqual({ contacts: 0, attempts: 0 });
  });

  it('adds one contact as JSON with the same checks, and lists contacts masked unless asked', async () => {
    const campaignId = await newCampaign('single');
    const url = `/api/v1/campaigns/${campaignId}/contacts`;
    const created = await api.inject({ method: 'POST', url, payload: { phone: '(305) 555-0150', name: 'Cy', timeZone: 'America/New_York', attributes: { vip: true } } });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ phone: '+13055550150', outcome: 'inserted', attemptCreated: true });
    const same = await api.inject({ method: 'POST', url, payload: { phone: '+13055550150', name: 'Cy' } });
    expect(same.statusCode).toBe(200);
    expect(same.json()).toMatchObject({ id: created.json().id, outcome: 'unchanged', attemptCreated: false });
    const upd = await api.inject({ method: 'POST', url, payload: { phone: '+13055550150', priority: 9, attributes: { vip: null, score: 3 } } });
    expect(upd.json()).toMatchObject({ outcome: 'updated', attemptCreated: false });
    const bad = await api.inject({ method: 'POST', url, payload: { phone: 'nope', timeZone: 'Mars/Olympus', segment: 'a b' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues.map((i: { field: string }) => i.field).sort()).toEqual(['body.phone', 'body.segment', 'body.timeZone']);
    const wrongType = await api.inject({ method: 'POST', url, payload: { phone: '+13055550151', priority: 'high', extra: 1 } });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error).toMatch(/priority/);
    expect((await api.inject({ method: 'POST', url: `/api/v1/campaigns/${randomUUID()}/contacts`, payload: { phone: '+13055550150' } })).statusCode).toBe(404);
    await api.inject({ method: 'POST', url, payload: { phone: '+442079460123' } });
    expect(await counts(campaignId)).toEqual({ contacts: 2, attempts: 2 });

    const masked = await api.inject({ method: 'GET', url: `${url}?limit=1` });
    expect(masked.statusCode).toBe(200);
    expect(masked.json()).toMatchObject({ total: 2, limit: 1, offset: 0, masked: true });
    expect(masked.json().contacts).toHaveLength(1);
    expect(masked.json().contacts[0]).toMatchObject({ phone: '+1 305****150', name: 'Cy', priority: 9, timeZone: 'America/New_York', attributes: { score: 3 } });
    const page2 = (await api.inject({ method: 'GET', url: `${url}?limit=1&offset=1&unmasked=true` })).json();
    expect(page2.contacts.map((c: { phone: string }) => c.phone)).toEqual(['+442079460123']);
    expect((await api.inject({ method: 'GET', url: `/api/v1/campaigns/${randomUUID()}/contacts` })).statusCode).toBe(404);
    expect((await api.inject({ method: 'GET', url: `${url}?limit=0` })).statusCode).toBe(400);
  });

  it('imports through `dialwell contacts import` with exit codes 1 (rows rejected), 0 (all imported), 2 (bad input)', async () => {
    const campaignId = await newCampaign('cli');
    const dir = mkdtempSync(path.join(tmpdir(), 'contacts-'));
    const file = path.join(dir, 'contacts.csv');
    writeFileSync(file, `\uFEFF${CSV}`);
    const env = { ...process.env, DATABASE_URL: cfg.DATABASE_URL, LOG_LEVEL: 'warn' };
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'contacts', ...args], { env, encoding: 'utf8', timeout: 60_000 });

    const first = cli('import', file, '--campaign', campaignId);
    expect(first.status, first.stderr).toBe(1);
    const r = JSON.parse(first.stdout) as Report;
    expect(r).toMatchObject({ rows: 9, inserted: 3, rejected: 6, attemptsCreated: 3 });
    expect(r.errors.map((e) => e.line)).toEqual([6, 7, 7, 8, 9, 10, 11]);
    // Not a terminal: no progress bar, one summary line.
    expect(first.stderr).toMatch(/^imported 3 of 9 rows \(3 new, 0 updated, 0 unchanged\), 6 rejected, 3 attempts queued, in [\d.]+ s \(\d+ rows\/s\)\n$/);
    const second = cli('import', file, '--campaign', campaignId);
    expect(second.status).toBe(1);
    expect(JSON.parse(second.stdout)).toMatchObject({ inserted: 0, unchanged: 3, attemptsCreated: 0 });
    expect(await counts(campaignId)).toEqual({ contacts: 3, attempts: 3 });

    const good = path.join(dir, 'good.csv');
    writeFileSync(good, 'phone,name\n020 7946 0999,Dee\n');
    const gb = cli('import', good, '--campaign', campaignId, '--country', 'GB');
    expect(gb.status, gb.stderr).toBe(0);
    expect(JSON.parse(gb.stdout)).toMatchObject({ inserted: 1, rejected: 0 });
    expect(await counts(campaignId)).toEqual({ contacts: 4, attempts: 4 });

    const noPhone = path.join(dir, 'nophone.csv');
    writeFileSync(noPhone, 'name\nAnn\n');
    for (const [args, message] of [
      [['import', file, '--campaign', randomUUID()], /campaign .* does not exist/],
      [['import', file, '--campaign', 'nonsense'], /does not exist/],
      [['import', path.join(dir, 'missing.csv'), '--campaign', campaignId], /cannot read .*missing\.csv: no such file/],
      [['import', dir, '--campaign', campaignId], /is not a file/],
      [['import', noPhone, '--campaign', campaignId], /no "phone" column/],
      [['import', file], /--campaign ID is required/],
      [['import', file, '--campaign', campaignId, '--country', 'XX'], /ISO 3166/],
      [['frobnicate'], /usage: dialwell contacts/],
    ] as const) {
      const res = cli(...args);
      expect(res.status, `${args.join(' ')}: ${res.stderr}`).toBe(2);
      expect(res.stderr).toMatch(message);
    }
    if (process.getuid?.() !== 0) {
      const locked = path.join(dir, 'locked.csv');
      writeFileSync(locked, 'phone\n');
      chmodSync(locked, 0o000);
      expect(cli('import', locked, '--campaign', campaignId).status).toBe(2);
    }
    expect(await counts(campaignId)).toEqual({ contacts: 4, attempts: 4 });
  }, 120_000);

  it('takes contact data back from agents after the period (default 10 months)', async () => {
    const campaignId = await newCampaign('reclaim');
    const agent = await createAgent(db, { name: 'Reclaim Agent', endpoint: `ra-${tag}`, sipPassword: 'test-sip-secret' });
    const lines = ['phone', ...Array.from({ length: 4 }, (_, i) => `+1305555020${i}`)];
    expect((await importCsv(campaignId, lines.join('\n'))).json()).toMatchObject({ inserted: 4 });
    const ids = new Map((await db.selectFrom('contacts').where('campaign_id', '=', campaignId).select(['id', 'phone']).execute()).map((c) => [c.phone, c.id]));
    const id = (phone: string) => ids.get(phone)!;
    // Dates far in the past, so that no other test's assignments fall before this cutoff.
    await assignContact(db, id('+13055550200'), agent.id, new Date('2001-01-10T00:00:00Z')); // older than 10 months
    await assignContact(db, id('+13055550201'), agent.id, new Date('2001-08-01T00:00:00Z')); // exactly 10 months
    await assignContact(db, id('+13055550202'), agent.id, new Date('2001-08-01T00:00:01Z')); // just under
    const now = new Date('2002-06-01T00:00:00Z');
    expect(await reclaimContacts(db, now)).toBe(2);
    const state = async () => Object.fromEntries(
      (await db.selectFrom('contacts').where('campaign_id', '=', campaignId).select(['phone', 'assigned_agent_id', 'assigned_at']).execute())
        .map((c) => [c.phone, c.assigned_agent_id === null ? null : c.assigned_at?.toISOString()]),
    );
    expect(await state()).toEqual({ '+13055550200': null, '+13055550201': null, '+13055550202': '2001-08-01T00:00:01.000Z', '+13055550203': null });
    expect(await reclaimContacts(db, now)).toBe(0);
    expect(await reclaimContacts(db, now, 1)).toBe(1);
    // A half-made assignment is refused by the database.
    await expect(db.updateTable('contacts').set({ assigned_agent_id: agent.id }).where('id', '=', id('+13055550203')).execute()).rejects.toThrow(/contacts_assignment_ck/);

    // The CLI works from the real clock.
    const month = 30 * 24 * 3600 * 1000;
    await assignContact(db, id('+13055550200'), agent.id, new Date(Date.now() - 11 * month));
    await assignContact(db, id('+13055550201'), agent.id, new Date(Date.now() - 9 * month));
    const env = { ...process.env, DATABASE_URL: cfg.DATABASE_URL, LOG_LEVEL: 'warn' };
    const run = spawnSync(process.execPath, [bin, 'contacts', 'reclaim'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ months: 10 });
    expect(JSON.parse(run.stdout).reclaimed).toBeGreaterThanOrEqual(1);
    const after = await state();
    expect(after['+13055550200']).toBeNull();
    expect(after['+13055550201']).not.toBeNull();
    const short = spawnSync(process.execPath, [bin, 'contacts', 'reclaim', '--months', '6'], { env, encoding: 'utf8', timeout: 60_000 });
    expect(short.status, short.stderr).toBe(0);
    expect((await state())['+13055550201']).toBeNull();
    expect(spawnSync(process.execPath, [bin, 'contacts', 'reclaim', '--months', '0'], { env, encoding: 'utf8' }).status).toBe(2);
  }, 120_000);
});
