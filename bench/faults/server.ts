// The system under test: a real `dialwell serve` child process (bin/dialwell.js) on the suite's
// private services, its JSON log in the run directory, with a probe sampling RSS, file
// descriptors and event-loop delay. Started, killed and restarted by its own PID.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const BIN = path.join(ROOT, 'bin/dialwell.js');
const PROBE = path.join(ROOT, 'bench/faults/probe.mjs');

export interface ProbeSample {
  t: number;
  pid: number;
  rss: number;
  heap: number;
  fds: number;
  elP99: number;
  elMax: number;
  elMean: number;
}

export interface Exit {
  at: Date;
  code: number | null;
  signal: string | null;
  /** The first lines it wrote to stderr (since its start). */
  stderr: string;
}

export class DialwellServer {
  private child: ChildProcess | null = null;
  /** Exits the suite did not cause. */
  readonly crashes: Exit[] = [];
  private stderrTail = '';
  private killing = false;
  readonly logFile: string;
  readonly probeFile: string;

  constructor(private readonly env: Record<string, string>, private readonly dir: string, readonly port: number) {
    this.logFile = path.join(dir, 'serve.log');
    this.probeFile = path.join(dir, 'probe.jsonl');
  }

  /** Runs a `dialwell` command (migrate, token, ...) against the same environment. */
  async cli(...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [BIN, ...args], { env: { ...process.env, ...this.env }, timeout: 120_000 });
    return stdout;
  }

  async start(token: string): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', PROBE, BIN, 'serve'], {
      env: { ...process.env, ...this.env, FAULTS_PROBE_FILE: this.probeFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.stderrTail = '';
    child.stdout?.pipe(log, { end: false });
    child.stderr?.on('data', (d: Buffer) => {
      log.write(d);
      // The start of what it wrote says why it died; keep that, not the end of a long stack dump.
      if (this.stderrTail.length < 8000) this.stderrTail += d.toString();
    });
    child.once('exit', (code, signal) => {
      if (!this.killing) this.crashes.push({ at: new Date(), code, signal, stderr: this.stderrTail });
      this.killing = false;
      if (this.child === child) this.child = null;
    });
    const end = Date.now() + 90_000;
    for (;;) {
      if (!this.alive()) throw new Error(`dialwell serve exited at start: ${this.stderrTail.slice(-600)}`);
      const ok = await fetch(`http://127.0.0.1:${this.port}/api/v1/campaigns`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) })
        .then((r) => r.ok, () => false);
      if (ok) return;
      if (Date.now() > end) throw new Error('dialwell serve did not answer on its port within 90 s');
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stops it: SIGTERM (or SIGKILL, as a crash or the OOM killer would), waiting for the exit. */
  async kill(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || !this.alive()) return;
    this.killing = true;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }

  samples(): ProbeSample[] {
    if (!existsSync(this.probeFile)) return [];
    return readFileSync(this.probeFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as ProbeSample);
  }

  /** Log lines (parsed JSON) written in [from, to], for what the engine said about a fault. */
  logLines(from: Date, to: Date): { time: number; level: number; msg: string; raw: string }[] {
    if (!existsSync(this.logFile)) return [];
    const out: { time: number; level: number; msg: string; raw: string }[] = [];
    for (const raw of readFileSync(this.logFile, 'utf8').split('\n')) {
      if (!raw.startsWith('{')) continue;
      try {
        const v = JSON.parse(raw) as { time?: number | string; level?: number | string; msg?: string };
        const time = typeof v.time === 'number' ? v.time : Date.parse(String(v.time));
        if (time >= from.getTime() && time <= to.getTime()) out.push({ time, level: Number(v.level ?? 30), msg: v.msg ?? '', raw });
      } catch {
        // a line cut short by a kill
      }
    }
    return out;
  }

  /** Lines on stderr that are not JSON (stack dumps, Node's own warnings) since the given offset. */
  unstructuredStderrLines(): number {
    if (!existsSync(this.logFile)) return 0;
    return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l.trim() && !l.startsWith('{')).length;
  }
}
