// Upgrades: processes started together migrate a fresh database exactly once (a transaction-level
// advisory lock), and a program refuses a database migrated by a newer version of itself.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.js';
import { createDb, recreateDatabase, type Db } from '../../src/db/database.js';
import { migrateToLatest, schemaStatus, SchemaNewerError } from '../../src/db/migrate.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { testConfig } from '../helpers/env.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dialwell.js');

describe('migrations', () => {
  const url = new URL(testConfig().DATABASE_URL);
  url.pathname = `${url.pathname}_migrations`;
  const dbUrl = url.toString();
  const dbs: Db[] = [];

  beforeAll(async () => {
    await recreateDatabase(dbUrl);
  });
  afterAll(async () => {
    for (const db of dbs) await db.destroy();
  });

  it('run once when four processes start together against a fresh database', async () => {
    // Four pools (four "processes"), each migrating at the same instant.
    for (let i = 0; i < 4; i++) dbs.push(createDb(dbUrl, 2));
    const results = await Promise.all(dbs.map((db) => migrateToLatest(db)));
    const applied = results.map((r) => r.results?.length ?? 0).sort((a, b) => a - b);
    const all = Object.keys(migrations).length;
    expect(applied).toEqual([0, 0, 0, all]);
    const rows = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(dbs[0]!);
    expect(rows.rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
    expect(await schemaStatus(dbs[0]!)).toEqual({ pending: [], unknown: [] });
    // Again: nothing to do.
    expect((await migrateToLatest(dbs[1]!)).results).toEqual([]);
  });

  it('refuse a database a newer version migrated, and `dialwell serve` says so and exits 1', async () => {
    const db = dbs[0]!;
    await sql`insert into kysely_migration (name, timestamp) values ('20991231_9999_from_the_future', ${new Date().toISOString()})`.execute(db);
    try {
      expect(await schemaStatus(db)).toEqual({ pending: [], unknown: ['20991231_9999_from_the_future'] });
      await expect(migrateToLatest(db)).rejects.toThrow(SchemaNewerError);
      await expect(migrateToLatest(db)).rejects.toThrow(/newer Dialwell.*20991231_9999_from_the_future/);
      const run = spawnSync(process.execPath, [bin, 'serve', '--no-dialer'], {
        env: { ...process.env, DATABASE_URL: dbUrl, PORT: '6391', LOG_LEVEL: 'warn' }, encoding: 'utf8', timeout: 60_000,
      });
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr).toMatch(/^dialwell: the database was migrated by a newer Dialwell: it has migration\(s\) 20991231_9999_from_the_future/);
      expect(run.stderr).not.toMatch(/\n\s+at /); // a message, not a stack trace
      // A process already running when a newer version migrated says so in /readyz.
      const app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
      try {
        const ready = await app.inject({ method: 'GET', url: '/readyz' });
        expect(ready.statusCode).toBe(503);
        expect(ready.json()).toMatchObject({ ready: false, checks: { postgresql: { ok: true }, migrations: { ok: false } } });
        expect(ready.json().checks.migrations.error).toMatch(/newer\): 20991231_9999_from_the_future/);
      } finally {
        await app.close();
      }
    } finally {
      await sql`delete from kysely_migration where name = '20991231_9999_from_the_future'`.execute(db);
    }
  }, 90_000);
});
