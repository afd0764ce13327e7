// LOG_FILE: the JSON log goes to the named file (appended, shared by several loggers), not stdout.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.js';
import { createLogger } from '../../../src/log.js';

describe('createLogger with a file', () => {
  it('appends JSON lines from every logger to the file, secrets redacted, directory created', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'dialwell-log-')), 'run/dialwell.log');
    const cfg = loadConfig({ LOG_FILE: file });
    expect(cfg.LOG_FILE).toBe(file);
    const a = createLogger('info', cfg.LOG_FILE);
    const b = createLogger('warn', cfg.LOG_FILE);
    a.info({ password: 'hunter2' }, 'first');
    b.info('below warn: not written');
    b.warn('second');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.msg)).toEqual(['first', 'second']);
    expect(lines[0]).toMatchObject({ name: 'dialwell', level: 30, password: '[redacted]' });
  });

  it('LOG_FILE unset: no file (stdout)', () => {
    expect(loadConfig({}).LOG_FILE).toBeUndefined();
  });
});
