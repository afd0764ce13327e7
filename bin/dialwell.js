#!/usr/bin/env node
// The `dialwell` command: runs the compiled CLI in dist/ (`npm run build`; `npm install`, `npm run
// demo` and `npm test` build it when the sources are newer). Stack traces point at the TypeScript.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('dialwell: the compiled program (dist/) is missing: run npm run build\n');
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(main.href);
