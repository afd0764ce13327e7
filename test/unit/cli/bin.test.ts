// bin/dialwell.js runs the compiled program in dist/, and says how to make it when it is missing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/dialwell.js');

describe('bin/dialwell.js', () => {
  it('runs dist/ (built by the tests\' setup): --help prints the usage', () => {
    const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^usage: dialwell <command>/);
  });

  it('without dist/ exits 1 and says to run npm run build', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dialwell-bin-'));
    mkdirSync(path.join(dir, 'bin'));
    copyFileSync(bin, path.join(dir, 'bin/dialwell.js'));
    const r = spawnSync(process.execPath, [path.join(dir, 'bin/dialwell.js'), '--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('run npm run build');
    expect(r.stdout).toBe('');
  });
});
