// Leases in PostgreSQL: who holds a named piece of work (a node, a campaign's pacer, a singleton
// such as the queue reconciler) until when. Every statement is one short transaction on its own,
// timed by the database's clock (never a process's), and works behind a transaction pooler
// (unlike session advisory locks). The epoch grows by one each time a lease is (re)acquired, so a
// write fenced by (name, owner, epoch) fails for an owner that lost the lease, even if it took it
// back since.
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.js';

/** The lease a node's owner holds it by. */
export const nodeLease = (node: string): string => `node:${node}`;

export interface HeldLease {
  name: string;
  epoch: number;
}

/** Takes those of the named leases that are free (never held, released or expired); returns the ones taken. */
export async function acquireLeases(db: Db, names: readonly string[], owner: string, ttlMs: number): Promise<HeldLease[]> {
  if (names.length === 0) return [];
  const r = await sql<HeldLease>`
    insert into leases (name, owner, epoch, expires_at, acquired_at, renewed_at)
    select n, ${owner}, 1, now() + ${ttlMs} * interval '1 millisecond', now(), now() from unnest(${[...names]}::text[]) as n
    on conflict (name) do update set
      owner = excluded.owner, epoch = leases.epoch + 1, expires_at = excluded.expires_at, acquired_at = now(), renewed_at = now()
    where leases.expires_at <= now()
    returning name, epoch`.execute(db);
  return r.rows;
}

/** Extends the leases still held at these epochs; returns the names renewed (the others are lost). */
export async function renewLeases(db: Db, held: readonly HeldLease[], owner: string, ttlMs: number): Promise<Set<string>> {
  if (held.length === 0) return new Set();
  const r = await sql<{ name: string }>`
    update leases l set expires_at = now() + ${ttlMs} * interval '1 millisecond', renewed_at = now()
    from unnest(${held.map((h) => h.name)}::text[], ${held.map((h) => h.epoch)}::bigint[]) as h(name, epoch)
    where l.name = h.name and l.epoch = h.epoch and l.owner = ${owner} and l.expires_at > now()
    returning l.name`.execute(db);
  return new Set(r.rows.map((x) => x.name));
}

/** Gives leases up at once (the next taker does not wait for the expiry). */
export async function releaseLeases(db: Db, held: readonly HeldLease[], owner: string): Promise<void> {
  if (held.length === 0) return;
  await sql`
    update leases l set expires_at = now()
    from unnest(${held.map((h) => h.name)}::text[], ${held.map((h) => h.epoch)}::bigint[]) as h(name, epoch)
    where l.name = h.name and l.epoch = h.epoch and l.owner = ${owner}`.execute(db);
}

/** Who holds a lease now (null: nobody). */
export async function leaseHolder(db: Db, name: string): Promise<{ owner: string; epoch: number; expiresAt: Date } | null> {
  const row = await db
    .selectFrom('leases')
    .where('name', '=', name)
    .where('expires_at', '>', sql<Date>`now()`)
    .select(['owner', 'epoch', 'expires_at'])
    .executeTakeFirst();
  return row ? { owner: row.owner, epoch: row.epoch, expiresAt: row.expires_at } : null;
}

/** What a fenced write carries: the lease it is made under. */
export interface Fence {
  lease: string;
  owner: string;
  epoch: number;
}

/** A fence as three statement parameters (lease, owner, epoch), all null when unfenced; the
 * statement checks `($n::text is null or exists (select 1 from leases ... ))`. */
export function fenceParams(fence: Fence | null): [string | null, string | null, number | null] {
  return fence ? [fence.lease, fence.owner, fence.epoch] : [null, null, null];
}

/**
 * A condition for a fenced statement's WHERE: true while no other owner has taken the lease since
 * this one held it at this epoch (the row still names this owner, at this epoch or a later one it
 * took back itself). Checked in the same statement as the write, so no gap lets a stale owner
 * through once a successor exists; a lease that merely lapsed, with nobody to take it, does not
 * cost the owner the writes of its calls in progress.
 */
export function fenceHolds(fence: Fence): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from leases f where f.name = ${fence.lease} and f.owner = ${fence.owner} and f.epoch >= ${fence.epoch})`;
}
