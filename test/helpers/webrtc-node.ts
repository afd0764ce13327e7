// An Asterisk node inside a test's network namespace, for the browser-phone tests (Asterisk never
// offers 127.0.0.1 as an ICE candidate): its configuration bound to every address of the
// namespace, the wait for its ARI, and the recording measure both tests check audio with.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readWavInfo } from '../../src/recordings/wav.js';
import type { Netns } from './netns.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Starts node N inside the namespace (`stack.sh node-up N <dir>`), with `files` of asterisk-config/
 * bound to 0.0.0.0 (the veth's address, for the browser and the test process; loopback, for sipp
 * and stack.sh's own checks). manager.conf, when given, also permits the host's end of the veth.
 */
export function nodeUpInNetns(ns: Netns, node: number, confDir: string, files: string[]): void {
  const extra = path.join(confDir, 'extra');
  mkdirSync(extra, { recursive: true });
  for (const f of files) {
    const text = readFileSync(path.join(ROOT, 'asterisk-config', f), 'utf8')
      .replace(/^(bindaddr|bind) = 127\.0\.0\.1/gm, '$1 = 0.0.0.0')
      .replace(/^permit = 127\.0\.0\.1\/255\.255\.255\.255$/m, `permit = 127.0.0.1/255.255.255.255\npermit = ${ns.hostAddr}/255.255.255.255`);
    writeFileSync(path.join(extra, f), text);
  }
  ns.run('bash', [path.join(ROOT, 'scripts/stack.sh'), 'node-up', String(node), extra], { cwd: ROOT });
}

export function ariAnswers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(new URL('/ari/asterisk/info', url), { auth: 'dialwell:dialwell-local-ari', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

/** RMS of 16-bit mono samples between two instants of a wav. */
export function rmsBetween(wav: Buffer, fromMs: number, toMs: number): number {
  const info = readWavInfo(wav);
  const start = wav.length - info.dataBytes;
  const perMs = info.sampleRate / 1000;
  const a = Math.floor(fromMs * perMs);
  const b = Math.min(Math.floor(toMs * perMs), info.dataBytes / 2);
  let sum = 0;
  for (let i = a; i < b; i++) sum += wav.readInt16LE(start + i * 2) ** 2;
  return b > a ? Math.sqrt(sum / (b - a)) : 0;
}
