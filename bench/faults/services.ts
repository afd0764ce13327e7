// The fault suite's private services: a PostgreSQL cluster, a Redis, an AMI relay, a recordings
// filesystem and an Asterisk node of its own, so that stopping, freezing or filling them never
// touches the shared stack other work depends on. Each is started and stopped by its own PID
// (or data directory), never by name.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open, rm, statfs } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: () => Promise<boolean>, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${label}`);
}

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

export async function assertPortFree(port: number, what: string): Promise<void> {
  if (await portOpen(port)) throw new Error(`port ${port} (${what}) is already in use: another fault run? stop it first`);
}

/** A PostgreSQL cluster in a directory of its own, run as the postgres OS user on its own port. */
export class PrivatePostgres {
  readonly url: string;
  private readonly data: string;
  private readonly bin: string;

  constructor(private readonly dir: string, readonly port: number) {
    const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
    const v = versions.at(-1);
    if (!v) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (apt-get install postgresql)');
    this.bin = `/usr/lib/postgresql/${v}/bin`;
    this.data = path.join(dir, 'data');
    this.url = `postgres://postgres@127.0.0.1:${port}/dialwell_faults`;
  }

  private asPostgres(cmd: string, args: string[]) {
    return run('runuser', ['-u', 'postgres', '--', path.join(this.bin, cmd), ...args], { timeout: 120_000 });
  }

  async init(): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    chownSync(this.dir, uid('postgres'), gid('postgres'));
    await this.asPostgres('initdb', ['-D', this.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  }

  async start(): Promise<void> {
    const opts = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    await this.asPostgres('pg_ctl', ['-D', this.data, '-l', path.join(this.dir, 'postgres.log'), '-o', opts, '-w', '-t', '60', 'start']);
  }

  /** Fast shutdown: every connection is cut, as when a database server restarts. */
  async stop(): Promise<void> {
    if (!this.pid()) return;
    await this.asPostgres('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  pid(): number | null {
    const f = path.join(this.data, 'postmaster.pid');
    if (!existsSync(f)) return null;
    const pid = Number(readFileSync(f, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  }
}

function idOf(flag: '-u' | '-g', user: string): number {
  const out = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!out) throw new Error(`no OS user ${user}`);
  return Number(out.split(':')[flag === '-u' ? 2 : 3]);
}
const uid = (u: string) => idOf('-u', u);
const gid = (u: string) => idOf('-g', u);

/** A redis-server child with an append-only file, so it comes back with its data after a stop. */
export class PrivateRedis {
  private child: ChildProcess | null = null;
  readonly url: string;

  constructor(private readonly dir: string, readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    const child = spawn('redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always',
      '--save', '', '--logfile', path.join(this.dir, 'redis.log'),
    ], { stdio: 'ignore' });
    this.child = child;
    await waitFor(() => portOpen(this.port), 15_000, `redis on ${this.port}`);
  }

  /** SIGTERM: redis flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    this.child = null;
  }

  async dbsize(): Promise<number> {
    const { stdout } = await run('redis-cli', ['-p', String(this.port), 'dbsize'], { timeout: 5000 });
    return Number(stdout.trim());
  }
}

/**
 * A TCP relay in front of Asterisk's AMI. "AMI refused" closes every relayed connection and the
 * listening socket, so connects get ECONNREFUSED, exactly what a dead or firewalled AMI gives;
 * Asterisk itself is not touched.
 */
export class AmiRelay {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(readonly port: number, private readonly target: number) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const up = net.connect({ host: '127.0.0.1', port: this.target });
      this.sockets.add(client).add(up);
      const drop = () => {
        client.destroy();
        up.destroy();
        this.sockets.delete(client);
        this.sockets.delete(up);
      };
      client.on('error', drop).on('close', drop);
      up.on('error', drop).on('close', drop);
      client.pipe(up);
      up.pipe(client);
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(this.port, '127.0.0.1', () => resolve()));
    this.server = server;
  }

  async refuse(): Promise<void> {
    const s = this.server;
    this.server = null;
    for (const sock of this.sockets) sock.destroy();
    this.sockets.clear();
    if (s) await new Promise((r) => s.close(r));
  }

  connections(): number {
    return this.sockets.size / 2;
  }
}

/** A tmpfs the suite mounts for the recordings store; "full" is a filler file taking all its space. */
export class RecordingsFs {
  readonly filler: string;
  constructor(readonly dir: string, private readonly sizeMb: number) {
    this.filler = path.join(dir, '.faults-filler');
  }

  async mount(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    await run('mount', ['-t', 'tmpfs', '-o', `size=${this.sizeMb}m,mode=0755`, 'dialwell-faults-recordings', this.dir]);
  }

  async fill(): Promise<number> {
    const s = await statfs(this.dir);
    const free = s.bavail * s.bsize;
    const fh = await open(this.filler, 'w');
    try {
      const block = Buffer.alloc(1 << 20);
      let written = 0;
      for (;;) {
        try {
          await fh.write(block);
          written += block.length;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
      // The last partial block: fill byte by byte chunks until nothing fits.
      for (let size = 65536; size >= 512; size /= 2) {
        try {
          for (;;) {
            await fh.write(Buffer.alloc(size));
            written += size;
          }
        } catch {
          // next smaller size
        }
      }
      return Math.min(written, free);
    } finally {
      await fh.close();
    }
  }

  async free(): Promise<void> {
    await rm(this.filler, { force: true });
  }

  async unmount(): Promise<void> {
    await run('umount', [this.dir]).catch(() => run('umount', ['-l', this.dir]));
  }

  /** Every stored file, relative to the store's root, with its size and modification time. */
  files(): Map<string, { size: number; mtime: Date }> {
    const out = new Map<string, { size: number; mtime: Date }>();
    const walk = (rel: string) => {
      for (const e of readdirSync(path.join(this.dir, rel), { withFileTypes: true })) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) walk(r);
        else if (e.isFile() && !e.name.startsWith('.')) {
          const st = statSync(path.join(this.dir, r));
          out.set(r, { size: st.size, mtime: st.mtime });
        }
      }
    };
    walk('');
    return out;
  }
}

/** Where a private Asterisk node listens and writes, from `scripts/stack.sh node-up N`. */
export interface AsteriskNode {
  n: number;
  ariUrl: string;
  amiPort: number;
  sipPort: number;
  celFile: string;
  /** Where its bridge recordings are written before Dialwell fetches them. */
  spoolDir: string;
  /** The Asterisk process to freeze (SIGSTOP) and thaw (SIGCONT). */
  pid(): Promise<number | null>;
  cli(command: string): Promise<string>;
  down(): Promise<void>;
}

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const CHROOT = `${process.env.DIALWELL_CACHE_DIR ?? '/var/cache/dialwell'}/asterisk22-chroot`;
const stack = (...args: string[]) => run('bash', [path.join(ROOT, 'scripts/stack.sh'), ...args], { timeout: 180_000 });

/**
 * Starts node N with the stack script (`scripts/stack.sh node-up N`: the chroot's Asterisk with
 * its own etc/run/log/spool directories; ARI 8088+100(N-1), AMI 5038+100(N-1), SIP 5060+100(N-1)).
 */
export async function startAsteriskNode(n: number): Promise<AsteriskNode> {
  if (n < 2) throw new Error('the suite needs a node of its own: --node 2 or more (node 1 is the shared Asterisk)');
  await stack('node-up', String(n));
  const offset = 100 * (n - 1);
  return {
    n,
    ariUrl: `http://127.0.0.1:${8088 + offset}`,
    amiPort: 5038 + offset,
    sipPort: 5060 + offset,
    celFile: path.join(CHROOT, `var/log/asterisk-node${n}/cel-custom/dialwell-cel.jsonl`),
    spoolDir: path.join(CHROOT, `var/spool/asterisk-node${n}/recording`),
    async pid() {
      const pid = Number((await stack('node-pid', String(n))).stdout.trim());
      return pid > 0 ? pid : null;
    },
    async cli(command) {
      return (await stack('node-cli', String(n), command)).stdout;
    },
    async down() {
      await stack('node-down', String(n));
    },
  };
}
