// numberTypeOf (the dial path's one-match number type) agrees with parsePhone's type on valid,
// invalid, premium, toll-free and emergency numbers of several countries.
import { describe, expect, it } from 'vitest';
import { numberTypeOf, parsePhone } from '../../../src/compliance/phone.js';

describe('numberTypeOf', () => {
  it('gives the type parsePhone gives, and null where parsePhone refuses the number', () => {
    // A fixed pseudo-random walk over national numbers of a few countries: valid and invalid alike.
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const samples = ['+911', '+1911', '+112', '+18005550100', '+19005550100', '+447911123456', '+442071234567', '+449098790000', '+8613812345678', '+33612345678', '+12125550100', '+1212'];
    for (const cc of ['1', '44', '86', '33', '49', '61']) {
      for (let i = 0; i < 400; i++) samples.push(`+${cc}${String(next()).padStart(10, '0').slice(0, cc === '1' ? 10 : 9 + (i % 3))}`);
    }
    let typed = 0;
    for (const n of samples) {
      const parsed = parsePhone(n);
      const want = parsed.ok ? parsed.type : null;
      expect(numberTypeOf(n), n).toBe(want);
      if (want) typed++;
    }
    // The sample has numbers of each kind (not a test of nulls only).
    expect(typed).toBeGreaterThan(100);
    expect(samples.length - typed).toBeGreaterThan(100);
  });
});
