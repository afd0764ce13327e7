import { describe, expect, it } from 'vitest';
import { permissionsOf, roleHas } from '../../../src/auth/permissions.js';
import { hashToken, looksLikeToken, newToken } from '../../../src/auth/tokens.js';
import { FailureLimiter, maskNumbersIn } from '../../../src/http/auth.js';

describe('failed token checks limiter', () => {
  it('allows a burst, then one more per refill period, per address', () => {
    let now = 0;
    const l = new FailureLimiter({ failureBurst: 3, failureRefillMs: 1000 }, () => now);
    for (let i = 0; i < 3; i++) {
      expect(l.blockedFor('a')).toBe(0);
      l.fail('a');
    }
    expect(l.blockedFor('a')).toBe(1);
    expect(l.blockedFor('b')).toBe(0);
    now = 999;
    expect(l.blockedFor('a')).toBe(1);
    now = 1000;
    expect(l.blockedFor('a')).toBe(0);
    l.fail('a');
    expect(l.blockedFor('a')).toBeGreaterThan(0);
    now = 10_000;
    for (let i = 0; i < 3; i++) l.fail('a');
    expect(l.blockedFor('a')).toBeGreaterThan(0);
  });
});

describe('masking numbers in responses', () => {
  it('hides the middle four digits of every E.164 number and leaves other text alone', () => {
    const body = JSON.stringify({ phone: '+13055550177', uk: '+442079460123', at: '2026-11-23T01:00:00+01:00', id: 'a1b2', n: 13055550177 });
    const masked = maskNumbersIn(body);
    expect(masked).not.toContain('+13055550177');
    expect(masked).toContain('+1 305****177');
    expect(masked).not.toContain('2079460123');
    expect(masked).toContain('2026-11-23T01:00:00+01:00');
    expect(masked).toContain('"n":13055550177');
  });
});

describe('roles and tokens', () => {
  it('grants configuration changes to admins only and numbers by role or per user', () => {
    expect(roleHas('admin', 'config.write')).toBe(true);
    for (const r of ['supervisor', 'qa', 'agent'] as const) expect(roleHas(r, 'config.write')).toBe(false);
    expect(roleHas('qa', 'recordings.read')).toBe(true);
    expect(roleHas('agent', 'calls.read')).toBe(false);
    expect(permissionsOf('qa', false).has('numbers.view')).toBe(false);
    expect(permissionsOf('qa', true).has('numbers.view')).toBe(true);
  });

  it('makes high-entropy tokens that are looked up by hash', () => {
    const a = newToken();
    const b = newToken();
    expect(a.token).not.toBe(b.token);
    expect(looksLikeToken(a.token)).toBe(true);
    expect(looksLikeToken(`${a.token}x`)).toBe(false);
    expect(a.hash).toBe(hashToken(a.token));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.prefix).toBe(a.token.slice(0, 10));
  });
});
