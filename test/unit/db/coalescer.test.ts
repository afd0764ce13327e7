import { describe, expect, it } from 'vitest';
import { Coalescer } from '../../../src/db/coalescer.js';

describe('Coalescer', () => {
  it('writes concurrent items in batches, one batch in flight, each caller getting its own result', async () => {
    const batches: number[][] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const c = new Coalescer<number, string>(async (items) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      batches.push(items);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return items.map((i) => `r${i}`);
    }, { maxBatch: 4, maxParallel: 1 });
    const out = await Promise.all(Array.from({ length: 10 }, (_, i) => c.push(i)));
    expect(out).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    expect(maxInFlight).toBe(1);
    // the first item goes alone; the rest gathered while it was written
    expect(batches).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]);
  });

  it('on a failed batch, writes its items one by one so only the bad one fails', async () => {
    const c = new Coalescer<number, number>(async (items) => {
      if (items.includes(3)) throw new Error(`bad item in ${items.join(',')}`);
      return items.map((i) => i * 10);
    });
    const results = await Promise.allSettled([1, 2, 3, 4].map((i) => c.push(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : 'rejected'))).toEqual([10, 20, 'rejected', 40]);
    expect((results[2] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
  });

  it('rejects every item when the write returns the wrong number of results', async () => {
    const c = new Coalescer<number, number>(async () => []);
    await expect(c.push(1)).rejects.toThrow(/0 results for 1 items/);
  });
});
