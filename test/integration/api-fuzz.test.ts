// Hostile input at every route, as an admin (who passes every permission check): malformed and
// hostile bodies, params and queries — wrong types, SQL fragments, overlong strings, odd unicode,
// NUL, prototype poisoning, broken and huge payloads. No response may be 5xx, and malformed input
// must leave every table as it was. Then hostile-but-plausible values in each field of valid
// create requests: either refused with a 4xx naming a field, or stored exactly as sent.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCallerId, createTrunk } from '../../src/admin/provision.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

const hostileStrings = [
  "' OR 1=1; --",
  "'; DROP TABLE campaigns; --",
  '1; SELECT pg_sleep(5)',
  '$1 $$ \\ %s %n {{7*7}} ${process.exit()}',
  '<script>alert(1)</script>',
  '\u0000nul',
  'lone \ud800 surrogate',
  '\u202eright-to-left \u200b zero width \ufeff',
  'Ｆｕｌｌｗｉｄｔｈ ١٢٣ 💥'.repeat(3),
  '../../etc/passwd',
  'x'.repeat(100_000),
  '',
  ' ',
];
const wrongTypes: unknown[] = [0, -1, 1.5, 1e308, -1e308, true, [], {}, [1, 'a'], { $gt: '' }, '9'.repeat(400)];
const hostileValues: unknown[] = [...hostileStrings, ...wrongTypes];

/** URL-encodes, writing a lone surrogate as the bytes a hostile client would send for it. */
const enc = (v: string) => {
  try {
    return encodeURIComponent(v);
  } catch {
    return v.split('').map((c) => (/[\uD800-\uDFFF]/.test(c) ? '%ED%A0%80' : encodeURIComponent(c))).join('');
  }
};

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

describe('API fuzz: hostile input at every route (PostgreSQL)', () => {
  const cfg = testConfig();
  let db: Db;
  let app: FastifyInstance;
  let admin: Api;
  let spec: { paths: Record<string, Record<string, OpenApiOperation>> };
  const tag = randomUUID().slice(0, 8);
  let trunkId: string;
  let callerIdId: string;

  /** Every table's row count and content hash: any change to stored data shows. */
  async function snapshot(): Promise<Record<string, string>> {
    const tables = await sql<{ t: string }>`select tablename as t from pg_tables where schemaname = 'public' and tablename not like 'kysely_%' order by 1`.execute(db);
    const out: Record<string, string> = {};
    for (const { t } of tables.rows) {
      // A token's last use is bookkeeping, not data a request may have changed. A read that shows
      // phone numbers is audited (numbers.viewed): that row is the read's required trace, written
      // when earlier tests left calls behind; it is checked apart below, not counted as a change.
      const row = t === 'api_tokens'
        ? await sql<{ v: string }>`select count(*) || ':' || coalesce(sum(hashtext(token_hash || coalesce(revoked_at::text, ''))::bigint), 0) as v from api_tokens`.execute(db)
        : t === 'audit_log'
          ? await sql<{ v: string }>`select count(*) || ':' || coalesce(sum(hashtext(x::text)::bigint), 0) as v from audit_log x where action <> 'numbers.viewed'`.execute(db)
          : await sql<{ v: string }>`select count(*) || ':' || coalesce(sum(hashtext(x::text)::bigint), 0) as v from ${sql.table(t)} x`.execute(db);
      out[t] = row.rows[0]!.v;
    }
    return out;
  }

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 5);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
    admin = await apiAs(app, db, 'admin');
    await admin.inject({ method: 'GET', url: '/api/v1/me' });
    spec = app.swagger() as unknown as typeof spec;
    trunkId = (await createTrunk(db, { name: `fz-${tag}`, host: '127.0.0.1', port: 5999 })).id;
    callerIdId = (await createCallerId(db, randomCallerNumber())).id;
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  const routes = () =>
    app.routeAccess
      .filter((r) => r.url.startsWith('/api/'))
      .map((r) => ({ method: r.method, url: r.url, op: spec.paths[r.url.replace(/:(\w+)/g, '{$1}')]?.[r.method.toLowerCase()] ?? {} }));

  const fill = (url: string, value?: { name: string; v: string }) =>
    url.replace(/:(\w+)/g, (_, name: string) => enc(value && value.name === name ? value.v : name === 'phone' ? '+13055550100' : name === 'name' ? `none-${tag}` : randomUUID()));

  it('answers malformed input at every route with a 4xx and changes nothing', async () => {
    const before = await snapshot();
    const viewedBefore = await db.selectFrom('audit_log').where('action', '=', 'numbers.viewed').select(['id', 'details']).orderBy('id').execute();
    const failures: string[] = [];
    const getsAnswered2xx = new Set<string>();
    let sent = 0;
    const check = async (label: string, opts: Parameters<Api['inject']>[0], route: { url: string }) => {
      const res = await admin.inject(opts);
      sent++;
      if (opts.method === 'GET' && res.statusCode < 300) getsAnswered2xx.add(opts.url as string);
      // 503 on agent sessions means "the dialer runs in another process": a clear refusal, not a crash.
      // A read may find nothing (or everything) for a strange filter; it may not fail or write.
      const ok = (res.statusCode >= 400 && res.statusCode < 500) || (res.statusCode === 503 && route.url.startsWith('/api/v1/agents/:id/'))
        || (opts.method === 'GET' && res.statusCode < 300 && !label.endsWith('unknown query'));
      if (!ok) failures.push(`${label}: ${res.statusCode} ${res.body.slice(0, 200)}`);
      else if (res.statusCode === 400 && !/"error":"[^"]+/.test(res.body)) failures.push(`${label}: 400 without a message`);
    };
    for (const r of routes()) {
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(r.method);
      const name = `${r.method} ${r.url}`;
      const params = [...r.url.matchAll(/:(\w+)/g)].map((m) => m[1]!);
      for (const p of params) {
        for (const v of hostileStrings.filter((s) => s.length < 5000)) {
          await check(`${name} param ${p}=${JSON.stringify(v).slice(0, 30)}`, { method: r.method as 'GET', url: fill(r.url, { name: p, v }), ...(hasBody ? { payload: {} } : {}) }, r);
        }
      }
      const query = (r.op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      for (const q of query) {
        for (const v of hostileStrings.filter((s) => s.length < 5000)) {
          await check(`${name} query ${q}=${JSON.stringify(v).slice(0, 30)}`, { method: r.method as 'GET', url: `${fill(r.url)}?${q}=${enc(v)}`, ...(hasBody ? { payload: {} } : {}) }, r);
        }
      }
      await check(`${name} unknown query`, { method: r.method as 'GET', url: `${fill(r.url)}?${encodeURIComponent("x' OR '1'='1")}=1` }, r);
      if (!hasBody) continue;
      // Whole bodies that are not what the route takes.
      for (const body of ['null', '"text"', '42', 'true', '[]', '[{}]', '{"a":', '{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"x":1}}}', `${'['.repeat(5000)}${']'.repeat(5000)}`]) {
        await check(`${name} body ${body.slice(0, 30)}`, { method: r.method as 'POST', url: fill(r.url), headers: { 'content-type': 'application/json' }, payload: body }, r);
      }
      await check(`${name} 2 MB body`, { method: r.method as 'POST', url: fill(r.url), headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ a: 'x'.repeat(2 << 20) }) }, r);
      await check(`${name} xml body`, { method: r.method as 'POST', url: fill(r.url), headers: { 'content-type': 'application/xml' }, payload: '<a/>' }, r);
      // Each documented field alone with a hostile value (the rest missing, or the ids unknown).
      const props = Object.keys(r.op.requestBody?.content?.['application/json']?.schema?.properties ?? {});
      for (const p of [...props, '__proto__', 'unexpected']) {
        for (const v of hostileValues) {
          await check(`${name} body.${p}=${JSON.stringify(v)?.slice(0, 30)}`, { method: r.method as 'POST', url: fill(r.url), payload: JSON.stringify({ [p]: v }), headers: { 'content-type': 'application/json' } }, r);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(2000);
    // An empty query value is named, not read as 0 or as "no filter".
    const empty = await admin.inject({ method: 'GET', url: '/api/v1/calls?offset=&campaignId=' });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().issues[0].field).toMatch(/^query\.(offset|campaignId)$/);
    expect(await snapshot()).toEqual(before);
    // The only audit rows added are reads' numbers.viewed traces, each of a GET that answered 2xx.
    const viewed = await db.selectFrom('audit_log').where('action', '=', 'numbers.viewed').select(['id', 'details']).orderBy('id').execute();
    expect(viewed.slice(0, viewedBefore.length)).toEqual(viewedBefore);
    for (const v of viewed.slice(viewedBefore.length)) expect(getsAnswered2xx.has((v.details as { url: string }).url), JSON.stringify(v.details)).toBe(true);
  }, 240_000);

  it('refuses or stores exactly each hostile value in each field of a valid create request', async () => {
    const valid = (): Record<string, Record<string, unknown>> => {
      const u = randomUUID().slice(0, 8);
      return {
        '/api/v1/trunks': { name: `fz-${u}`, host: '127.0.0.1', port: 5999, username: `user-${u}`, password: `secret-${u}`, codecs: ['alaw'], maxChannels: 5, maxCps: 2, enabled: false },
        '/api/v1/caller-ids': { number: randomCallerNumber(), label: 'label', isHotline: false, dailyCap: 10, trunkIds: [trunkId], campaignIds: [] },
        '/api/v1/agents': { name: `Agent ${u}`, endpoint: `fz-${u}`, sipPassword: `secret-${u}`, contactUri: null },
        '/api/v1/users': { name: `user ${u}`, role: 'qa', viewNumbers: false },
        '/api/v1/campaigns': { name: `fz ${u}`, trunkId, callerIdId, dialMode: 'progressive', maxConcurrent: 2, maxCps: 2, recordCalls: false, product: 'loan', defaultCountry: 'US' },
        '/api/v1/dnc': { phone: '+13055550142', source: 'manual', reason: 'asked', country: 'US' },
        '/api/v1/protected-numbers': { phone: '+13055550143', list: 'payphone', note: 'lobby' },
      };
    };
    /** What the database holds after an accepted create (lists whose responses do not echo the text are read from their tables, then cleared). */
    const readBack = async (url: string, body: Record<string, unknown>): Promise<unknown> => {
      if (url === '/api/v1/dnc') {
        const row = await db.selectFrom('dnc_entries').selectAll().where('phone', '=', '+13055550142').executeTakeFirst();
        await db.deleteFrom('dnc_entries').where('phone', '=', '+13055550142').execute();
        return row;
      }
      if (url === '/api/v1/protected-numbers') {
        const row = await db.selectFrom('protected_numbers').selectAll().where('phone', '=', '+13055550143').executeTakeFirst();
        await db.deleteFrom('protected_numbers').where('phone', '=', '+13055550143').execute();
        return row;
      }
      return body;
    };
    const failures: string[] = [];
    const strings = hostileStrings.filter((s) => s.length < 5000);
    for (const url of Object.keys(valid())) {
      for (const field of Object.keys(valid()[url]!)) {
        for (const v of [...strings, ...wrongTypes]) {
          const body = { ...valid()[url]!, [field]: v };
          const res = await admin.inject({ method: 'POST', url, payload: body });
          const label = `POST ${url} ${field}=${JSON.stringify(v).slice(0, 30)}`;
          if (res.statusCode >= 500) failures.push(`${label}: ${res.statusCode} ${res.body.slice(0, 200)}`);
          else if (res.statusCode === 400 && !(res.json().issues as { field: string }[] | undefined)?.some((i) => i.field.startsWith(`body.${field}`))) {
            failures.push(`${label}: 400 does not name body.${field}: ${res.body.slice(0, 200)}`);
          } else if (res.statusCode < 300 && typeof v === 'string' && field !== 'phone' && field !== 'number' && !/password/i.test(field)) {
            // Accepted: it must be stored as sent (trimmed names aside), never interpreted.
            const stored = JSON.stringify(await readBack(url, res.json() as Record<string, unknown>));
            if (!stored.includes(JSON.stringify(v.trim()).slice(1, -1))) failures.push(`${label}: stored as ${stored.slice(0, 200)}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    // The tables an injection would have hit are all still there and answer.
    for (const t of ['campaigns', 'trunks', 'users', 'audit_log']) await sql`select 1 from ${sql.table(t)} limit 1`.execute(db);
  }, 240_000);
});
