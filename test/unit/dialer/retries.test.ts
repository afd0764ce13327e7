import { describe, expect, it } from 'vitest';
import { retryRulesOf, scheduleRetry } from '../../../src/dialer/retries.js';

describe('campaign retry rules', () => {
  it('reads rules per outcome', () => {
    const r = retryRulesOf({ retry: { busy: { afterMinutes: 10, maxAttempts: 3 }, 'no-answer': { afterMinutes: 120, maxAttempts: 2 } } });
    expect(r.error).toBeNull();
    expect(r.rules.busy).toEqual({ afterMinutes: 10, maxAttempts: 3 });
    expect(r.rules.congestion).toBeUndefined();
  });
  it('no settings, no retries', () => {
    expect(retryRulesOf({})).toEqual({ rules: {}, error: null });
  });
  it('says which setting is wrong and retries nothing', () => {
    const r = retryRulesOf({ retry: { busy: { afterMinutes: -1, maxAttempts: 3 }, answered: { afterMinutes: 1, maxAttempts: 1 } } });
    expect(r.rules).toEqual({});
    expect(r.error).toMatch(/retry.busy.afterMinutes: must be 0 or more minutes/);
    expect(r.error).toMatch(/answered/);
  });
  it('an outcome no rule can name (answered) is not looked up at all: the close of an answered call costs no query', async () => {
    const noDb = new Proxy({}, { get: () => { throw new Error('the database was used'); } }) as never;
    await expect(scheduleRetry(noDb, { attemptId: 'a', outcome: 'answered', endedAt: new Date() })).resolves.toBeNull();
    await expect(scheduleRetry(noDb, { attemptId: 'a', outcome: 'busy', endedAt: new Date() })).rejects.toThrow(/database was used/);
  });
});
