// `dialwell serve` processes a test starts (bin/dialwell.js, one process each, so that kill -9
// hits the server itself), each one's log lines (pino JSON on stdout, not the run's LOG_FILE), the
// API they answer, and the wrap-up a test's agents need between calls.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Db } from '../../src/db/database.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export class ServeProcesses {
  private readonly children: ChildProcess[] = [];
  private readonly output = new Map<ChildProcess, string[]>();

  /** `env` over this process's environment; LOG_FILE is unset so that the log comes on stdout. */
  start(role: 'all' | 'api' | 'engine', env: Record<string, string>): ChildProcess {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/dialwell.js'), 'serve', '--role', role], {
      cwd: ROOT,
      env: { ...process.env, LOG_FILE: undefined, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.children.push(child);
    const lines: string[] = [];
    this.output.set(child, lines);
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    return child;
  }

  /** The log lines the process has written so far. */
  linesOf(child: ChildProcess): string[] {
    return this.output.get(child) ?? [];
  }

  all(): IterableIterator<[ChildProcess, string[]]> {
    return this.output.entries();
  }

  /** SIGTERM to every process still running, then kill -9 of any not gone within `graceMs`. */
  async stopAll(graceMs = 20_000): Promise<void> {
    for (const c of this.children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, graceMs))]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
  }

  /** kill -9 of every process still running (afterAll). */
  killAll(): void {
    for (const c of this.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}

export type ApiCall = (port: number, method: string, url: string, body?: unknown) => Promise<Response>;

/** Requests to the API on 127.0.0.1:port with a bearer token read at each call. */
export function apiWithToken(token: () => string): ApiCall {
  return (port, method, url, body) =>
    fetch(`http://127.0.0.1:${port}${url}`, {
      method, headers: { authorization: `Bearer ${token()}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : null,
    });
}

/** Gives a disposition for every call an agent of the campaigns took, through the first of the
 * API processes that answers it, every 300 ms until cleared. */
export function dispositionLoop(db: Db, api: ApiCall, campaignIds: string[], ports: readonly number[]): NodeJS.Timeout {
  const disposed = new Set<string>();
  return setInterval(() => {
    void (async () => {
      const done = await db.selectFrom('calls').where('campaign_id', 'in', campaignIds).where('ended_at', 'is not', null).where('agent_id', 'is not', null)
        .where('disposition', 'is', null).select('attempt_id').execute();
      for (const c of done) {
        if (disposed.has(c.attempt_id)) continue;
        for (const port of ports) {
          const r = await api(port, 'POST', `/api/v1/attempts/${c.attempt_id}/disposition`, { result: 'no-sale' }).catch(() => null);
          if (r?.ok) {
            disposed.add(c.attempt_id);
            break;
          }
        }
      }
    })().catch(() => undefined);
  }, 300);
}
