// The agent view's JavaScript, gzipped, from the console build's manifest (web/dist): the entry
// chunk, the agent view's chunk and every chunk they import statically. `npx tsx
// test/helpers/console-size.ts` prints it; the console e2e test holds it under 300 KB.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { defaultConsoleDir } from '../../src/http/console.js';

interface Chunk { file: string; imports?: string[]; isEntry?: boolean }

export function agentViewSize(dir = defaultConsoleDir()): { files: string[]; gzipBytes: number; rawBytes: number } {
  const manifest = JSON.parse(readFileSync(path.join(dir, '.vite', 'manifest.json'), 'utf8')) as Record<string, Chunk>;
  const seen = new Set<string>();
  const walk = (key: string) => {
    if (seen.has(key) || !manifest[key]) return;
    seen.add(key);
    for (const i of manifest[key]!.imports ?? []) walk(i);
  };
  walk('index.html');
  walk('src/views/Agent.tsx');
  const files = [...seen].map((k) => manifest[k]!.file).filter((f) => f.endsWith('.js'));
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const f of files) {
    const b = readFileSync(path.join(dir, f));
    rawBytes += b.length;
    gzipBytes += gzipSync(b, { level: 9 }).length;
  }
  return { files, gzipBytes, rawBytes };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const s = agentViewSize();
  console.log(`agent view JS: ${(s.gzipBytes / 1024).toFixed(1)} KB gzipped (${(s.rawBytes / 1024).toFixed(1)} KB raw) in ${s.files.join(', ')}`);
}
