// Whether PostgreSQL is reachable, for the parts that must hold their work while it is not (the
// dial worker and pacer) and the writes that must wait for it (a call's end, agent history)
// rather than be lost. A connection-class error from any query, or a failed probe, starts an
// outage; a probe that answers ends it. Every outage is logged once at each end (Outage).
import type pg from 'pg';
import type { Logger } from '../log.js';
import { Outage } from '../health/outage.js';

/** Errors that say "no connection to the database", not "this statement is wrong". */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof AggregateError && err.errors.some(isConnectionError)) return true;
  const code = String((err as { code?: unknown }).code ?? '');
  if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code)) return true;
  // 08: connection exception; 57P01-03: administrator shutdown, crash shutdown, cannot connect now.
  if (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code)) return true;
  // 55000 is broad; with this text it is ALLOW_CONNECTIONS false (or the database being dropped).
  if (code === '55000' && /not currently accepting connections/.test(err.message)) return true;
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/i.test(err.message);
}

export interface DatabaseHealthOptions {
  /** Probe interval while up (watch()), and while down (always). */
  probeEveryMs: number;
  /** A probe that takes longer fails (a frozen server does not refuse, it hangs). */
  probeTimeoutMs: number;
}

export const defaultDatabaseHealthOptions: DatabaseHealthOptions = { probeEveryMs: 2000, probeTimeoutMs: 3000 };

export class DatabaseHealth {
  readonly outage: Outage;
  private watching: NodeJS.Timeout | null = null;
  private watchers = 0;
  private recovering: NodeJS.Timeout | null = null;
  private probing: Promise<boolean> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    log: Logger,
    private readonly opts: DatabaseHealthOptions = defaultDatabaseHealthOptions,
  ) {
    this.outage = new Outage('postgresql', log);
    // An idle client whose server went away emits 'error' on the pool; with no listener, Node
    // throws it and the process dies (`Unhandled 'error' event`).
    pool.on('error', (err) => this.noteError(err));
    // A client checked out (a transaction, a COPY) has no pool listener while it is out: one that
    // loses its server between two statements would emit an unhandled 'error' too.
    pool.on('connect', (client) => client.on('error', (err) => this.noteError(err)));
  }

  get up(): boolean {
    return !this.outage.isDown;
  }

  /** Any query's error: a connection-class one starts an outage (and probing for its end). */
  noteError(err: unknown): void {
    if (!isConnectionError(err)) return;
    this.outage.fail(err);
    this.probeUntilUp();
  }

  /**
   * For a periodic job's failure: true when it was for want of the database (the outage is noted
   * and logged once, so the caller logs nothing more), false for any other error (log it).
   */
  failed(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    this.noteError(err);
    return true;
  }

  /** Probes even while up, so an outage is noticed with no traffic (the engine runs this). */
  watch(): () => void {
    // Several engines of one process (an engine host's nodes) share the pool: the probe runs
    // while any of them still watches.
    this.watchers++;
    if (!this.watching) {
      this.watching = setInterval(() => void this.probe(), this.opts.probeEveryMs);
      this.watching.unref();
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.watchers > 0) return;
      if (this.watching) clearInterval(this.watching);
      this.watching = null;
    };
  }

  /** One `select 1` (shared by concurrent callers): true when the database answered. */
  probe(): Promise<boolean> {
    if (this.poolEnded()) return Promise.resolve(false);
    this.probing ??= this.runProbe().finally(() => (this.probing = null));
    return this.probing;
  }

  /** Resolves when the database answers again (at once when up); rejects after `maxMs`. */
  async waitUntilUp(maxMs: number): Promise<void> {
    const deadline = Date.now() + maxMs;
    while (!this.up || !(await this.probe())) {
      if (this.poolEnded()) throw new Error('the database pool was closed while waiting for PostgreSQL');
      if (Date.now() >= deadline) throw new Error(`PostgreSQL still unreachable after ${Math.round(maxMs / 1000)} s: ${this.outage.reason}`);
      await new Promise((r) => setTimeout(r, Math.min(this.opts.probeEveryMs, 1000)));
    }
  }

  private async runProbe(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.pool.query('select 1'),
        new Promise((_r, reject) => {
          timer = setTimeout(() => reject(Object.assign(new Error(`no answer to a probe within ${this.opts.probeTimeoutMs} ms`), { code: 'ETIMEDOUT' })), this.opts.probeTimeoutMs);
        }),
      ]);
      this.outage.recover();
      return true;
    } catch (err) {
      if (this.poolEnded()) return false;
      // A probe that timed out waiting for a free connection says the pool is busy (a burst of
      // load), not that the server is away: the pool's own errors will say if it is.
      if ((err as { code?: unknown }).code === 'ETIMEDOUT' && this.pool.waitingCount > 0 && this.up) return false;
      this.noteError(isConnectionError(err) ? err : Object.assign(new Error(`probe failed: ${(err as Error).message}`), { code: '08000' }));
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private probeUntilUp(): void {
    if (this.recovering || this.poolEnded()) return;
    this.recovering = setInterval(() => {
      if (this.up || this.poolEnded()) {
        if (this.recovering) clearInterval(this.recovering);
        this.recovering = null;
        return;
      }
      void this.probe();
    }, Math.min(this.opts.probeEveryMs, 1000));
    this.recovering.unref();
  }

  private poolEnded(): boolean {
    const p = this.pool as pg.Pool & { ending?: boolean; ended?: boolean };
    return p.ending === true || p.ended === true;
  }
}

/**
 * Runs a write, and when it fails for want of a connection, waits for PostgreSQL and runs it
 * again, up to `maxWaitMs`: the write must be safe to repeat (idempotent), since a statement
 * whose connection broke may or may not have committed.
 */
export async function retryWhileUnreachable<T>(health: DatabaseHealth, write: () => Promise<T>, maxWaitMs = 15 * 60_000): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    try {
      return await write();
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      health.noteError(err);
      const left = deadline - Date.now();
      if (left <= 0) throw err;
      await health.waitUntilUp(left);
    }
  }
}
