// Leases on the real PostgreSQL: one holder at a time, taken over after the holder stops renewing
// (its database gone, as when its process dies), at once when released; fenced writes fail for a
// stale holder; a leased task runs in one process only and moves with its lease.
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeaseKeeper } from '../../src/cluster/lease-keeper.js';
import { LeasedTask } from '../../src/cluster/leased-task.js';
import { fenceHolds, leaseHolder, type Fence } from '../../src/cluster/leases.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { createLogger } from '../../src/log.js';
import { until } from '../helpers/engine-harness.js';
import { testConfig } from '../helpers/env.js';

const opts = { ttlMs: 800, beatMs: 200 };

describe('leases (PostgreSQL)', () => {
  const cfg = testConfig();
  const log = createLogger('silent');
  let db: Db;
  const keepers: LeaseKeeper[] = [];
  const dbs: Db[] = [];

  beforeAll(() => {
    db = createDb(cfg.DATABASE_URL, 4);
  });
  afterAll(async () => {
    for (const k of keepers) await k.stop().catch(() => undefined);
    for (const d of dbs) await d.destroy().catch(() => undefined);
    await db.destroy();
  });

  /** A keeper with a database connection of its own (destroying it is its process dying). */
  function keeper(owner: string): { k: LeaseKeeper; own: Db; events: string[] } {
    const own = createDb(cfg.DATABASE_URL, 2);
    dbs.push(own);
    const k = new LeaseKeeper(own, owner, log, opts);
    keepers.push(k);
    const events: string[] = [];
    k.on('acquired', (name, epoch) => events.push(`acquired ${name} ${epoch}`));
    k.on('lost', (name, reason) => events.push(`lost ${name} ${reason}`));
    return { k, own, events };
  }

  const fencedWrite = async (fence: Fence) =>
    (await sql<{ ok: boolean }>`select ${fenceHolds(fence)} as ok`.execute(db)).rows[0]!.ok;

  it('one holder at a time; a holder that stops renewing loses the lease, and the other takes it with a new epoch', async () => {
    const name = `test-${randomUUID()}`;
    const a = keeper('a');
    const b = keeper('b');
    a.k.want(name);
    a.k.start();
    await a.k.beat();
    b.k.want(name);
    b.k.start();
    await b.k.beat();
    expect(a.k.holds(name)).toBe(true);
    expect(b.k.holds(name)).toBe(false);
    // Renewals keep it well past the lease time.
    await new Promise((r) => setTimeout(r, opts.ttlMs * 2));
    expect(a.k.holds(name)).toBe(true);
    expect(b.k.holds(name)).toBe(false);
    const aFence = a.k.fence(name)!;
    expect(await fencedWrite(aFence)).toBe(true);

    // A's database is gone (its process died, or it cannot reach PostgreSQL).
    const t0 = Date.now();
    await a.own.destroy();
    await until(() => b.k.holds(name), 5000, 'b to take the lease');
    const takeoverMs = Date.now() - t0;
    expect(takeoverMs).toBeLessThan(opts.ttlMs + 3 * opts.beatMs + 500);
    // A knows on its own, by its deadline, even without the database.
    await until(() => a.events.some((e) => e.startsWith(`lost ${name}`)), 2000, 'a to drop the lease');
    expect(a.k.holds(name)).toBe(false);
    const bFence = b.k.fence(name)!;
    expect(bFence.epoch).toBe(aFence.epoch + 1);
    expect(await leaseHolder(db, name)).toMatchObject({ owner: 'b', epoch: bFence.epoch });
    // The stale holder's fenced writes fail; the new holder's pass.
    expect(await fencedWrite(aFence)).toBe(false);
    expect(await fencedWrite(bFence)).toBe(true);
    expect(b.events).toEqual([`acquired ${name} ${bFence.epoch}`]);
  }, 20_000);

  it('a released lease is taken at the next beat, not after its expiry; the epoch still grows', async () => {
    const name = `test-${randomUUID()}`;
    const a = keeper('a2');
    const b = keeper('b2');
    a.k.want(name);
    a.k.start();
    await a.k.beat();
    const first = a.k.fence(name)!;
    b.k.want(name);
    b.k.start();
    await a.k.unwant(name);
    const t0 = Date.now();
    await until(() => b.k.holds(name), 3000, 'b to take the released lease');
    expect(Date.now() - t0).toBeLessThan(opts.beatMs + 300);
    expect(b.k.fence(name)!.epoch).toBe(first.epoch + 1);
    expect(await fencedWrite(first)).toBe(false);
  }, 10_000);

  it('a leased task runs in the holder only, and moves with the lease', async () => {
    const name = `test-${randomUUID()}`;
    const a = keeper('a3');
    const b = keeper('b3');
    const runs = { a: 0, b: 0 };
    const ta = new LeasedTask(a.k, log, { lease: name, everyMs: 100, run: async () => void runs.a++ });
    a.k.start();
    await a.k.beat();
    const tb = new LeasedTask(b.k, log, { lease: name, everyMs: 100, run: async () => void runs.b++ });
    b.k.start();
    await new Promise((r) => setTimeout(r, 1000));
    expect(runs.a).toBeGreaterThan(3);
    expect(runs.b).toBe(0);
    await a.own.destroy();
    await until(() => runs.b > 3, 5000, "b's task to run");
    const aRunsAfterLoss = runs.a;
    await new Promise((r) => setTimeout(r, 500));
    // Nothing ran in a after it lost the lease.
    expect(runs.a).toBe(aRunsAfterLoss);
    await ta.close();
    await tb.close();
    expect(await leaseHolder(db, name)).toBeNull();
  }, 20_000);
});
