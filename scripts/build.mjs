#!/usr/bin/env node
// Compiles src/ and migrations/ to dist/ (tsc -p tsconfig.build.json, with source maps) when dist/
// is missing or older than any file it is built from; `--force` always builds. Used by
// `npm run build`, `npm install` (prepare), scripts/deps.sh (demo, test) and the tests' global
// setup, so `dialwell` never runs a stale build. A lock directory keeps two callers (vitest's two
// projects, two shells) from compiling into dist/ at once.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
const stamp = path.join(dist, '.build-stamp');
const lock = path.join(root, '.build.lock');
const inputs = ['src', 'migrations', 'tsconfig.json', 'tsconfig.build.json'];

function newest(p) {
  const st = statSync(p, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs; // a deleted file changes its directory's time
  for (const e of readdirSync(p)) m = Math.max(m, newest(path.join(p, e)));
  return m;
}

function stale() {
  const built = statSync(stamp, { throwIfNoEntry: false });
  return !built || inputs.some((i) => newest(path.join(root, i)) > built.mtimeMs);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function lockOwner() {
  try {
    return Number(readFileSync(path.join(lock, 'pid'), 'utf8')) || 0;
  } catch {
    return 0; // being created or just released
  }
}

/** Takes the lock, waiting for another builder; a lock left by a dead process is taken over. */
async function withLock(run) {
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const owner = lockOwner();
      if (owner && !alive(owner)) rmSync(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  writeFileSync(path.join(lock, 'pid'), String(process.pid));
  try {
    return run();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function build() {
  let tsc;
  try {
    tsc = createRequire(path.join(root, 'package.json')).resolve('typescript/bin/tsc');
  } catch {
    // An install without dev dependencies (a production image) gets dist/ from its build stage.
    console.error('[build] typescript is not installed: dist/ not rebuilt (npm install, then npm run build)');
    return existsSync(stamp) ? 0 : 1;
  }
  console.error('[build] tsc -p tsconfig.build.json');
  rmSync(dist, { recursive: true, force: true }); // no output of a deleted source survives
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) return r.status ?? 1;
  writeFileSync(stamp, `${new Date().toISOString()}\n`);
  return 0;
}

const force = process.argv.includes('--force');
if (force || stale()) process.exitCode = await withLock(() => (force || stale() ? build() : 0));
