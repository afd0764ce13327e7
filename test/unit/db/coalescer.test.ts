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

  describe('gather window', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const recorder = () => {
      const batches: string[][] = [];
      const write = async (items: string[]) => {
        batches.push(items);
        return items.map((i) => `ok ${i}`);
      };
      return { batches, write };
    };
    const urgent = (i: string) => i.startsWith('new');

    it('holds items nobody waits on until the window has passed, so they go in one batch', async () => {
      const { batches, write } = recorder();
      const c = new Coalescer(write, { maxBatch: 64, maxParallel: 1, gatherMs: 200, urgent });
      const t0 = performance.now();
      const a = c.push('end a');
      await sleep(20);
      expect(batches).toEqual([]);
      const b = c.push('end b');
      expect(await Promise.all([a, b])).toEqual(['ok end a', 'ok end b']);
      // From the oldest item's push (timers may fire a millisecond early).
      expect(performance.now() - t0).toBeGreaterThanOrEqual(195);
      expect(batches).toEqual([['end a', 'end b']]);
    });

    it('never holds an urgent item: it takes what was gathered along at once', async () => {
      const { batches, write } = recorder();
      const c = new Coalescer(write, { maxBatch: 64, maxParallel: 1, gatherMs: 10_000, urgent });
      const t0 = performance.now();
      const a = c.push('end a');
      await sleep(10);
      const b = c.push('new b');
      expect(await Promise.all([a, b])).toEqual(['ok end a', 'ok new b']);
      expect(await c.push('new c')).toBe('ok new c');
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(batches).toEqual([['end a', 'new b'], ['new c']]);
    });

    it('keeps the order of batches: what gathers behind one in flight goes after it', async () => {
      const batches: string[][] = [];
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const c = new Coalescer(async (items: string[]) => {
        batches.push(items);
        if (items.includes('new a')) await held;
        return items.map((i) => `ok ${i}`);
      }, { maxBatch: 64, maxParallel: 1, gatherMs: 30, urgent });
      const a = c.push('new a');
      const b = c.push('join b');
      const d = c.push('end b');
      await sleep(60);
      expect(batches).toEqual([['new a']]);
      release();
      await Promise.all([a, b, d]);
      expect(batches).toEqual([['new a'], ['join b', 'end b']]);
    });

    it('refuses a window that is not a number of milliseconds', () => {
      expect(() => new Coalescer(async (i: number[]) => i, { maxBatch: 1, maxParallel: 1, gatherMs: -1 })).toThrow(/gatherMs/);
      expect(() => new Coalescer(async (i: number[]) => i, { maxBatch: 1, maxParallel: 1, gatherMs: Number.NaN })).toThrow(/gatherMs/);
    });
  });
});
