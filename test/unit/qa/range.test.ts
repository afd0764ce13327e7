// HTTP Range parsing for audio: single byte ranges, suffixes, open ends, and what is refused.
import { describe, expect, it } from 'vitest';
import { parseRange } from '../../../src/http/range.js';

describe('parseRange', () => {
  const size = 1000;
  it('serves the whole file without a Range header, for another unit, or for several ranges', () => {
    expect(parseRange(undefined, size)).toEqual({ kind: 'full' });
    expect(parseRange('', size)).toEqual({ kind: 'full' });
    expect(parseRange('items=0-5', size)).toEqual({ kind: 'full' });
    expect(parseRange('bytes=0-1,5-6', size)).toEqual({ kind: 'full' });
  });

  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=0-', 0, 999],
    ['bytes=500-', 500, 999],
    ['bytes=990-2000', 990, 999], // an end past the file is clipped
    ['bytes=-100', 900, 999],
    ['bytes=-5000', 0, 999], // a suffix longer than the file is the whole file
    ['bytes=999-999', 999, 999],
    ['Bytes = 10-20', 10, 20],
  ])('%s → %i-%i', (h, start, end) => {
    expect(parseRange(h, size)).toEqual({ kind: 'partial', start, end });
  });

  it.each(['bytes=1000-', 'bytes=5000-6000', 'bytes=-0', 'bytes=20-10', 'bytes=-', 'bytes=abc', 'bytes=1-2-3', 'garbage'])('%s is unsatisfiable', (h) => {
    expect(parseRange(h, size).kind).toBe('unsatisfiable');
  });

  it('has nothing to give from an empty file', () => {
    expect(parseRange('bytes=0-', 0).kind).toBe('unsatisfiable');
    expect(parseRange('bytes=-1', 0).kind).toBe('unsatisfiable');
  });
});
