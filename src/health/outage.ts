// One dependency's outages (PostgreSQL, Redis, ...), logged once when each starts and once when it
// ends, with its duration: an operator reads two JSON lines per outage, not a stack dump per
// failed request. The owner of the connection reports failures and recoveries; listeners (the
// dialer holding its work, readiness) follow the typed 'down' / 'up' events.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.js';

export interface OutageEvents {
  down: [err: Error];
  up: [downMs: number];
}

export class Outage extends EventEmitter<OutageEvents> {
  private since: number | null = null;
  private failures = 0;
  private lastError = '';

  constructor(
    /** The dependency's name in the logs and in /readyz ("postgresql", "redis"). */
    readonly dependency: string,
    private readonly log: Logger,
  ) {
    super();
  }

  get isDown(): boolean {
    return this.since !== null;
  }

  /** What failed last while down (for /readyz), or '' when up. */
  get reason(): string {
    return this.since === null ? '' : this.lastError;
  }

  get downSince(): Date | null {
    return this.since === null ? null : new Date(this.since);
  }

  /** A request to the dependency failed for want of a connection. Logged only when it starts an outage. */
  fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.lastError = describe(e);
    this.failures++;
    if (this.since !== null) return;
    this.since = Date.now();
    this.failures = 1;
    this.log.error({ dependency: this.dependency, err: this.lastError, code: (e as { code?: unknown }).code }, `${this.dependency} unreachable: outage started`);
    this.emit('down', e);
  }

  /** The dependency answers again. Logged only when it ends an outage. */
  recover(): void {
    if (this.since === null) return;
    const downMs = Date.now() - this.since;
    this.log.warn({ dependency: this.dependency, downMs, failures: this.failures, lastError: this.lastError }, `${this.dependency} reachable again: outage over`);
    this.since = null;
    this.failures = 0;
    this.lastError = '';
    this.emit('up', downMs);
  }
}

function describe(e: Error): string {
  // AggregateError (ECONNREFUSED on both ::1 and 127.0.0.1) has an empty message.
  if (!e.message && e instanceof AggregateError) return e.errors.map((x: unknown) => (x instanceof Error ? x.message : String(x))).join('; ');
  return e.message || String((e as { code?: unknown }).code ?? e.name);
}
