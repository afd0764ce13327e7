// The recording's settle after a call's end, on a fake clock: Asterisk's report, its absence
// (the file polled for, with backoff), a file never there (flagged missing at the deadline), a
// failed report, and a store that fails for a while.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { settleRecording, type RecordingSettleOptions } from '../../../src/recordings/settle.js';

const opts: RecordingSettleOptions = { graceMs: 1000, deadlineMs: 20_000, firstPollMs: 250, maxPollMs: 4000 };

function report() {
  let settle!: (r: 'finished' | 'failed') => void;
  const reported = new Promise<'finished' | 'failed'>((r) => (settle = r));
  return { reported, settle };
}

describe('settleRecording', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('stores at once when Asterisk reports the end within the grace period, without asking for the file', async () => {
    const r = report();
    const fileReady = vi.fn(async () => true);
    const p = settleRecording({ reported: r.reported, fileReady, store: async () => 'rec-1' }, opts);
    await vi.advanceTimersByTimeAsync(100);
    r.settle('finished');
    await vi.advanceTimersByTimeAsync(0);
    await expect(p).resolves.toEqual({ status: 'stored', value: 'rec-1', via: 'event', tries: 0 });
    expect(fileReady).not.toHaveBeenCalled();
    expect(Date.now()).toBe(100);
  });

  it('without the report, asks Asterisk with backoff and stores the file once it is there', async () => {
    const asked: number[] = [];
    const p = settleRecording({
      reported: new Promise(() => {}),
      fileReady: async () => {
        asked.push(Date.now());
        return asked.length >= 4;
      },
      store: async () => 'rec-2',
    }, opts);
    let result: unknown;
    void p.then((x) => (result = x));
    await vi.advanceTimersByTimeAsync(999);
    expect(asked).toEqual([]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(result).toEqual({ status: 'stored', value: 'rec-2', via: 'poll', tries: 4 });
    // grace, then +250, +500, +1000
    expect(asked).toEqual([1000, 1250, 1750, 2750]);
  });

  it('flags the recording missing at the deadline when Asterisk never has the file, never earlier', async () => {
    const fileReady = vi.fn(async () => false);
    const p = settleRecording({ reported: new Promise(() => {}), fileReady, store: async () => 'never' }, opts);
    let result: { status: string; reason?: string } | undefined;
    void p.then((x) => (result = x));
    await vi.advanceTimersByTimeAsync(opts.deadlineMs - 1);
    expect(result).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(result?.status).toBe('missing');
    expect(result?.reason).toMatch(/no finished file 20000 ms after/);
    // Backoff: 1000, 1250, 1750, 2750, 4750, 8750, 12750, 16750, 20000 — not a poll every 250 ms.
    expect(fileReady.mock.calls.length).toBe(9);
  });

  it('a report arriving while polling wakes the wait and stores at once', async () => {
    const r = report();
    const store = vi.fn(async () => 'rec-3');
    const p = settleRecording({ reported: r.reported, fileReady: async () => false, store }, opts);
    await vi.advanceTimersByTimeAsync(5000);
    expect(store).not.toHaveBeenCalled();
    r.settle('finished');
    await vi.advanceTimersByTimeAsync(0);
    await expect(p).resolves.toMatchObject({ status: 'stored', via: 'event' });
    expect(Date.now()).toBe(5000);
  });

  it('flags a recording Asterisk reported failed', async () => {
    const r = report();
    r.settle('failed');
    const store = vi.fn(async () => 'x');
    await expect(settleRecording({ reported: r.reported, fileReady: async () => true, store }, opts)).resolves.toMatchObject({ status: 'failed' });
    expect(store).not.toHaveBeenCalled();
  });

  it('retries a store that fails, with pauses (no busy loop), and flags it failed when it never succeeds', async () => {
    const r = report();
    r.settle('finished');
    let n = 0;
    const flaky = settleRecording({ reported: r.reported, fileReady: async () => true, store: async () => (++n < 3 ? Promise.reject(new Error('disk full')) : 'rec-4') }, opts);
    await vi.advanceTimersByTimeAsync(2000);
    await expect(flaky).resolves.toMatchObject({ status: 'stored', value: 'rec-4' });
    expect(n).toBe(3);

    let m = 0;
    const broken = settleRecording({ reported: r.reported, fileReady: async () => true, store: async () => { m++; throw new Error('disk full'); } }, opts);
    let result: { status: string; reason?: string } | undefined;
    void broken.then((x) => (result = x));
    await vi.advanceTimersByTimeAsync(opts.deadlineMs);
    expect(result).toMatchObject({ status: 'failed', reason: 'storing the file failed: disk full' });
    expect(m).toBeLessThan(12);
  });

  it('a reported end with no file behind it (a discarded recording) is flagged missing at the deadline, not failed', async () => {
    const r = report();
    r.settle('finished');
    const p = settleRecording({ reported: r.reported, fileReady: async () => false, store: async () => { throw new Error('HTTP 404: Recording not found'); } }, opts);
    let result: { status: string; reason?: string } | undefined;
    void p.then((x) => (result = x));
    await vi.advanceTimersByTimeAsync(opts.deadlineMs);
    expect(result?.status).toBe('missing');
    expect(result?.reason).toMatch(/reported the end but holds no file/);
  });
});
