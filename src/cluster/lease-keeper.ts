// Keeps this process's leases: takes the ones it wants when they are free, renews the ones it
// holds, and says so with typed events. One beat renews every held lease in one statement and
// asks for every wanted one in another, so a process holding many leases (one per campaign's
// pacer) costs two short statements per beat. A lease counts as held only until the local
// deadline of its last renewal (ttl after the renewal was sent): a process that cannot reach the
// database, or that was stopped (SIGSTOP) past the deadline, drops it on its own.
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { acquireLeases, releaseLeases, renewLeases, type Fence, type HeldLease } from './leases.repository.js';

export interface LeaseKeeperEvents {
  /** This process now holds the lease, at this epoch (its fenced writes carry it). */
  acquired: [name: string, epoch: number];
  /** This process no longer holds the lease (taken over, expired, released): stop its work now. */
  lost: [name: string, reason: string];
}

export interface LeaseKeeperOptions {
  /** How long a lease lasts without renewal: a dead holder's leases move after about this. */
  ttlMs: number;
  /** How often held leases are renewed and free wanted ones asked for (well under ttlMs). */
  beatMs: number;
}

export const defaultLeaseOptions: LeaseKeeperOptions = { ttlMs: 3000, beatMs: 1000 };

/** A process's identity as a lease owner: readable in the leases table, unique per start. */
export function newOwnerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  private readonly wanted = new Set<string>();
  private readonly held = new Map<string, { epoch: number; until: number }>();
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    readonly owner: string,
    private readonly log: Logger,
    private readonly opts: LeaseKeeperOptions = defaultLeaseOptions,
  ) {
    super();
    if (!(opts.beatMs * 2 <= opts.ttlMs)) throw new Error(`lease beat (${opts.beatMs} ms) must be at most half the lease time (${opts.ttlMs} ms)`);
  }

  /** Asks for a lease (taken on a coming beat, when free) and keeps it until `unwant`. */
  want(name: string): void {
    if (this.wanted.has(name)) return;
    this.wanted.add(name);
    // A new wish is tried at once, not a beat later.
    if (this.timer) void this.beat();
  }

  /** Gives a lease up (released at once if held). */
  async unwant(name: string): Promise<void> {
    this.wanted.delete(name);
    const h = this.held.get(name);
    if (!h) return;
    this.drop(name, 'released');
    await releaseLeases(this.db, [{ name, epoch: h.epoch }], this.owner).catch((err: unknown) => this.log.warn({ err, lease: name }, 'releasing a lease failed (it expires on its own)'));
  }

  /** Whether this process holds the lease now. */
  holds(name: string): boolean {
    const h = this.held.get(name);
    if (!h) return false;
    if (performance.now() < h.until) return true;
    this.drop(name, 'not renewed in time');
    return false;
  }

  /** The fence for writes made under a held lease (null when not held). */
  fence(name: string): Fence | null {
    const h = this.held.get(name);
    return h && this.holds(name) ? { lease: name, owner: this.owner, epoch: h.epoch } : null;
  }

  /** Names wanted, held or not. */
  wishes(): string[] {
    return [...this.wanted];
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.beat(), this.opts.beatMs);
    void this.beat();
  }

  /** One renew-and-acquire round (also run by the timer); resolves when done. */
  beat(): Promise<void> {
    this.beating ??= this.round().finally(() => (this.beating = null));
    return this.beating;
  }

  private async round(): Promise<void> {
    const sent = performance.now();
    const until = sent + this.opts.ttlMs;
    try {
      const mine: HeldLease[] = [...this.held].map(([name, h]) => ({ name, epoch: h.epoch }));
      if (mine.length > 0) {
        const renewed = await renewLeases(this.db, mine, this.owner, this.opts.ttlMs);
        for (const l of mine) {
          const h = this.held.get(l.name);
          if (!h || h.epoch !== l.epoch) continue;
          if (renewed.has(l.name)) h.until = until;
          else this.drop(l.name, 'taken over or expired');
        }
      }
      const free = [...this.wanted].filter((n) => !this.held.has(n));
      for (const l of await acquireLeases(this.db, free, this.owner, this.opts.ttlMs)) {
        if (!this.wanted.has(l.name)) {
          // Given up while the statement ran.
          await releaseLeases(this.db, [l], this.owner);
          continue;
        }
        this.held.set(l.name, { epoch: l.epoch, until });
        this.log.info({ lease: l.name, epoch: l.epoch }, 'lease acquired');
        this.emit('acquired', l.name, l.epoch);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'lease beat failed (held leases are kept until their deadline)');
    }
    // Past a deadline, whatever the database said (or could not say).
    for (const name of [...this.held.keys()]) this.holds(name);
  }

  private drop(name: string, reason: string): void {
    if (!this.held.delete(name)) return;
    if (reason === 'released') this.log.info({ lease: name }, 'lease released');
    else this.log.warn({ lease: name, reason }, 'lease lost');
    this.emit('lost', name, reason);
  }

  /** Stops beating and releases every held lease. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    const mine: HeldLease[] = [...this.held].map(([name, h]) => ({ name, epoch: h.epoch }));
    this.wanted.clear();
    for (const l of mine) this.drop(l.name, 'released');
    await releaseLeases(this.db, mine, this.owner).catch((err: unknown) => this.log.warn({ err }, 'releasing leases failed (they expire on their own)'));
  }
}
