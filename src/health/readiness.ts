// What GET /readyz reports: each part this process depends on, checked now, and whether the
// process takes work (not while it is stopping). A part that does not answer within the timeout
// counts as down; the JSON names it and says why.
import type { Db } from '../db/database.js';
import { healthOf } from '../db/database.js';
import { schemaStatus } from '../db/migrate.js';
import type { Engine } from '../app/engine.js';

export interface ReadinessProbe {
  name: string;
  /** Resolves when the part is usable; throws an Error saying what is wrong otherwise. */
  check(): Promise<void>;
}

export interface CheckResult {
  ok: boolean;
  /** Why the part is down (absent when ok). */
  error?: string;
  ms: number;
}

export interface ReadinessReport {
  ready: boolean;
  stopping: boolean;
  checks: Record<string, CheckResult>;
}

export class Readiness {
  private stopping = false;

  constructor(
    private readonly probes: readonly ReadinessProbe[],
    private readonly timeoutMs = 2000,
  ) {}

  /** From now on /readyz answers 503: a load balancer stops sending work while the process drains. */
  markStopping(): void {
    this.stopping = true;
  }

  async report(): Promise<ReadinessReport> {
    const results = await Promise.all(this.probes.map(async (p) => [p.name, await this.run(p)] as const));
    const checks = Object.fromEntries(results);
    return { ready: !this.stopping && results.every(([, r]) => r.ok), stopping: this.stopping, checks };
  }

  private async run(p: ReadinessProbe): Promise<CheckResult> {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        p.check(),
        new Promise((_r, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs))),
      ]);
      return { ok: true, ms: Date.now() - started };
    } catch (err) {
      return { ok: false, error: (err as Error).message || String(err), ms: Date.now() - started };
    } finally {
      clearTimeout(timer);
    }
  }
}

/** PostgreSQL answers, and its schema is the one this program knows (no migration pending or unknown). */
export function databaseProbes(db: Db): ReadinessProbe[] {
  const health = healthOf(db);
  return [
    {
      name: 'postgresql',
      async check() {
        if (!(await health.probe())) throw new Error(health.outage.reason || 'PostgreSQL did not answer');
      },
    },
    {
      name: 'migrations',
      async check() {
        const s = await schemaStatus(db);
        if (s.unknown.length) throw new Error(`the database has migrations this version does not know (it is newer): ${s.unknown.join(', ')}`);
        if (s.pending.length) throw new Error(`migrations not applied yet: ${s.pending.join(', ')} (run dialwell migrate)`);
      },
    },
  ];
}

/** The engine's own dependencies: Redis (the dial queue) and its Asterisk gateways. */
export function engineProbes(engine: Pick<Engine, 'health' | 'ari' | 'ami'>): ReadinessProbe[] {
  return engineHostProbes({ redisPing: (ms) => engine.health.redisPing(ms), engine });
}

/**
 * An engine host's (src/app/engine-host.ts): Redis, and the gateways of the node it drives, read
 * at each check (the engine comes and goes with the node's lease). A host driving no node stands
 * by: it has no gateway to be down.
 */
export function engineHostProbes(host: { redisPing(timeoutMs: number): Promise<void>; readonly engine: Pick<Engine, 'ari' | 'ami'> | undefined }): ReadinessProbe[] {
  return [
    { name: 'redis', check: () => host.redisPing(1500) },
    {
      name: 'asterisk-ari',
      async check() {
        const engine = host.engine;
        if (engine && !engine.ari.connected) throw new Error('the ARI event websocket is not connected (dialing is held)');
      },
    },
    {
      name: 'asterisk-ami',
      async check() {
        const engine = host.engine;
        if (engine && !engine.ami.connected) throw new Error('not logged in to AMI (CDR events are missed; the CEL record covers them)');
      },
    },
  ];
}
