// Before any test: dist/ is compiled and current (scripts/build.mjs builds it only when src/ or
// migrations/ is newer), since the tests that spawn bin/dialwell.js run the compiled program.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`building dist/ failed (node scripts/build.mjs exited ${r.status ?? r.signal})`);
}
