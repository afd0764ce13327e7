import { describe, expect, it } from 'vitest';
import { chooseCallerId, type CallerIdCandidate } from '../../../src/dialer/caller-id.js';

const c = (number: string, over: Partial<CallerIdCandidate> = {}): CallerIdCandidate => ({ number, isHotline: false, dailyCap: null, usedToday: 0, ...over });
const pool = [c('+12125550100'), c('+13055550100'), c('+13055550101', { usedToday: 5 }), c('+18005550199', { isHotline: true }), c('+442079460000')];

describe('caller id by rule', () => {
  it.each([
    ['a customer who called the hotline sees it', '+13055551234', { calledHotline: '+18005550199', localPresence: true }, '+18005550199', 'hotline-called'],
    ['local presence: same NANP area code, least used', '+13055551234', { calledHotline: null, localPresence: true }, '+13055550100', 'local-presence'],
    ['local presence abroad: same country code prefix', '+442071234567', { calledHotline: null, localPresence: true }, '+442079460000', 'local-presence'],
    ['no local number: the campaign default', '+14155551234', { calledHotline: null, localPresence: true }, '+12125550100', 'campaign-default'],
    ['local presence off: the default', '+13055551234', { calledHotline: null, localPresence: false }, '+12125550100', 'campaign-default'],
    ['an unknown "hotline" is ignored', '+13055551234', { calledHotline: '+19995550000', localPresence: false }, '+12125550100', 'campaign-default'],
  ])('%s', (_n, callee, o, want, rule) => {
    expect(chooseCallerId(callee, { defaultNumber: '+12125550100', pool, ...o })).toEqual({ number: want, rule });
  });

  it('passes over numbers at their daily cap, and says so when all are', () => {
    const capped = [c('+12125550100', { dailyCap: 100, usedToday: 100 }), c('+13055550100', { dailyCap: 3, usedToday: 3 }), c('+16175550100', { dailyCap: 3, usedToday: 2 })];
    expect(chooseCallerId('+13055551234', { defaultNumber: '+12125550100', pool: capped, localPresence: true, calledHotline: null })).toEqual({ number: '+16175550100', rule: 'pool' });
    const full = capped.map((x) => ({ ...x, usedToday: x.dailyCap! }));
    expect(chooseCallerId('+13055551234', { defaultNumber: '+12125550100', pool: full, localPresence: true, calledHotline: null })).toEqual({ number: null, rule: 'none-under-cap' });
  });
});
