// A network namespace of a test's own, for what must not run on loopback: Asterisk never offers
// 127.0.0.1 as an ICE candidate, so a browser phone and its Asterisk meet on a veth pair's
// addresses instead (10.231.N.0/30: .1 on the host's end, .2 inside). Traffic stays between the
// host and this namespace; `close()` removes both (the veth pair goes with the namespace).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Netns {
  name: string;
  /** The host's end of the veth pair. */
  hostAddr: string;
  /** The namespace's end: where its Asterisk and browser are reached. */
  nsAddr: string;
  /** Runs a command inside the namespace, waiting for it; returns its output. */
  run(cmd: string, args: string[], opts?: { cwd?: string; timeoutMs?: number }): string;
  close(): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8' });

export function createNetns(prefix: string): Netns {
  if (process.getuid?.() !== 0) throw new Error('creating a network namespace needs root (ip netns add)');
  const tag = randomBytes(3).toString('hex');
  const name = `${prefix}-${tag}`;
  // Interface names hold 15 characters at most.
  const hostIf = `dwv${tag}h`;
  const nsIf = `dwv${tag}n`;
  const used = ip('-o', '-4', 'addr', 'show');
  let third = randomBytes(1)[0]!;
  for (let i = 0; i < 256 && used.includes(`10.231.${third}.`); i++) third = (third + 1) % 256;
  const hostAddr = `10.231.${third}.1`;
  const nsAddr = `10.231.${third}.2`;
  ip('netns', 'add', name);
  try {
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', name, 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf);
    ip('-n', name, 'link', 'set', nsIf, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (err) {
    ip('netns', 'delete', name);
    throw err;
  }
  return {
    name, hostAddr, nsAddr,
    run(cmd, args, opts = {}) {
      return execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', cwd: opts.cwd, timeout: opts.timeoutMs ?? 120_000 });
    },
    close() {
      try {
        ip('link', 'delete', hostIf);
      } catch {
        // already gone with the namespace
      }
      ip('netns', 'delete', name);
    },
  };
}
