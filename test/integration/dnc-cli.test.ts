// `dialwell dnc` and `dialwell scrub` against the real database: add, scrub, remove (audited).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../../src/db/database.js';
import { setGlobalPolicy } from '../../src/compliance/store/policies.repository.js';
import { testConfig } from '../helpers/env.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dialwell.js');

describe('dialwell dnc and scrub (real PostgreSQL)', () => {
  const cfg = testConfig();
  const env = { ...process.env, DATABASE_URL: cfg.DATABASE_URL, LOG_LEVEL: 'warn' };
  const cli = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  let db: Db;
  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 2);
    await setGlobalPolicy(db, 'us-federal');
  });
  afterAll(async () => {
    await setGlobalPolicy(db, null);
    await db.destroy();
  });

  it('adds a number, scrubs a list with it, removes it with an audit row', async () => {
    const add = cli('dnc', 'add', '(305) 555-0144', '--country', 'US', '--reason', 'asked by phone');
    expect(add.status, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/\+13055550144 added to the global do-not-call list/);
    const dir = mkdtempSync(path.join(tmpdir(), 'scrub-'));
    const file = path.join(dir, 'list.csv');
    writeFileSync(file, '+13055550144,Ann\n+13055550145,Bob\nhello,Nobody\n+19005550100,Premium\n');
    const scrub = cli('scrub', file);
    expect(scrub.status, scrub.stderr).toBe(0);
    expect(JSON.parse(scrub.stdout)).toMatchObject({ total: 4, counts: { dnc: 1, eligible: 1, invalid: 1, protected: 1 } });
    const rm = cli('dnc', 'remove', '+13055550144', '--reason', 'entered in error');
    expect(rm.status, rm.stderr).toBe(0);
    expect(cli('dnc', 'remove', '+13055550144').status).toBe(1);
    expect(cli('dnc', 'add', 'nonsense').status).toBe(2);
    const audit = await db.selectFrom('dnc_audit').where('phone', '=', '+13055550144').select('action').orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['add', 'remove']);
  }, 120_000);
});
