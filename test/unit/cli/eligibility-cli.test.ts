// `dialwell eligibility` without a database: the documented JSON, and exit 0 allowed, 1 denied,
// 2 bad input.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/dialwell.js');
// A database URL nothing listens on: the dry run must not need one.
const env = { ...process.env, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' };
const run = (...args: string[]) => spawnSync(process.execPath, [bin, 'eligibility', ...args], { env, encoding: 'utf8', timeout: 30_000 });

describe('dialwell eligibility (no database)', () => {
  it('allows 08:30 local on the US spring-forward morning and prints the documented JSON', () => {
    const r = run('+13055550123', '--policy', 'us-federal', '--at', '2026-03-08T12:30:00Z', '--json');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ allowed: true, timeZones: ['America/New_York'] });
    expect(out.reasons.find((x: { rule: string }) => x.rule === 'hours')).toMatchObject({ passed: true });
  }, 30_000);

  it('denies at 22:30 local, says why and when it may call, exit 1', () => {
    const r = run('+13055550123', '--policy', 'us-federal', '--at', '2026-03-09T02:30:00Z', '--json');
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.allowed).toBe(false);
    expect(out.reasons.find((x: { rule: string }) => x.rule === 'hours')).toMatchObject({ passed: false });
    expect(out.nextAllowedAt).toBe('2026-03-09T12:00:00.000Z');
  }, 30_000);

  it('exits 2 with a clear message on bad input', () => {
    const bad = run('not-a-number', '--policy', 'us-federal');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/"not-a-number" is not a phone number/);
    const noPolicy = run('+13055550123', '--policy', 'no-such-preset');
    expect(noPolicy.status).toBe(2);
    expect(noPolicy.stderr).toMatch(/neither a built-in preset/);
    const badAt = run('+13055550123', '--policy', 'uk-ofcom', '--at', 'tomorrow');
    expect(badAt.status).toBe(2);
  }, 60_000);
});
