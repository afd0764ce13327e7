// Runs sipp as a child process playing a customer, carrier or softphone (for the demo, the tests
// and the benchmarks); stops it by its own PID. Scenarios live in test/sipp/.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../paths.js';

const scenarioDir = path.join(projectRoot, 'test/sipp');

export interface SippOptions {
  scenario: string;
  port: number;
  mediaPort: number;
  /** Value of -d: the scenario's default pause, in ms. */
  pauseMs?: number;
  /** Exit after this many calls. */
  maxCalls?: number;
  /** Values for @name@ placeholders in the scenario (sipp cannot take a status code from -key). */
  vars?: Record<string, string>;
  extraArgs?: string[];
  /** Run inside this network namespace (`ip netns exec`), e.g. beside an Asterisk a test isolated there. */
  netns?: string;
  /** The local address sipp binds and names in its SDP (default 127.0.0.1). */
  address?: string;
}

export class Sipp {
  private exited: Promise<number | null>;
  private stderr = '';
  readonly dir: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly opts: SippOptions,
    dir: string,
  ) {
    this.dir = dir;
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.stdout?.resume();
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  static async start(opts: SippOptions): Promise<Sipp> {
    if (!existsSync('/usr/bin/sipp')) throw new Error('sipp is not installed: run `bash scripts/stack.sh up`');
    const dir = mkdtempSync(path.join(tmpdir(), `sipp-${opts.port}-`));
    let scenario = path.join(scenarioDir, opts.scenario);
    if (opts.vars) {
      let text = readFileSync(scenario, 'utf8');
      for (const [k, v] of Object.entries(opts.vars)) text = text.replaceAll(`@${k}@`, v);
      scenario = path.join(dir, opts.scenario);
      writeFileSync(scenario, text);
    }
    const args = [
      '-sf', scenario,
      '-i', opts.address ?? '127.0.0.1', '-p', String(opts.port), '-mp', String(opts.mediaPort),
      '-d', String(opts.pauseMs ?? 0),
      '-buff_size', '212992', '-nostdin', '-trace_err', '-error_file', path.join(dir, 'errors.log'),
      '-trace_stat', '-stf', path.join(dir, 'stats.csv'),
      ...(opts.maxCalls ? ['-m', String(opts.maxCalls)] : []),
      ...(opts.extraArgs ?? []),
    ];
    // `ip netns exec` execs sipp itself: the child's PID is sipp's.
    const [cmd, argv] = opts.netns ? ['ip', ['netns', 'exec', opts.netns, '/usr/bin/sipp', ...args]] : ['/usr/bin/sipp', args];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    const s = new Sipp(child, opts, dir);
    // sipp binds its port at once; give it a moment, and fail loudly if it died.
    const early = await Promise.race([s.exited, new Promise((r) => setTimeout(() => r('running'), 300))]);
    if (early !== 'running') throw new Error(`sipp ${opts.scenario} on ${opts.port} exited at start (${String(early)}): ${s.stderr}`);
    return s;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  errors(): string {
    const f = path.join(this.dir, 'errors.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** Waits for sipp to exit by itself (with -m), up to timeoutMs. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    return Promise.race([this.exited, new Promise<null>((_, rej) => setTimeout(() => rej(new Error('sipp did not exit')), timeoutMs))]);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
