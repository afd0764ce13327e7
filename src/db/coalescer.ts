// Coalesces concurrent writes of one kind into one statement per batch: while a batch is being
// written, the next one gathers. PostgreSQL's cost of a statement (a transaction, a commit, a
// parse, a round trip) is then shared by every item of the batch instead of paid for each.
// Each caller still waits for its own item to be written (nothing is acknowledged before it is).
//
// At a low rate a batch would hold one item and pay that whole cost alone; items nobody is waiting
// on (`urgent` false) may therefore wait a short gather window (`gatherMs`) for company. An urgent
// item is never held: it takes every item gathered so far along with it at once.

interface Pending<I, O> {
  item: I;
  /** When it was pushed (performance.now()). */
  at: number;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export interface CoalescerOptions<I> {
  /** Most items in one batch. */
  maxBatch: number;
  /** Most batches being written at once (1: batches are written in the order they were pushed). */
  maxParallel: number;
  /** How long a batch with no urgent item may wait for more, from its oldest item's push (ms; 0: none). */
  gatherMs?: number;
  /** Items that never wait the gather window (default: all of them). */
  urgent?: (item: I) => boolean;
}

export class Coalescer<I, O> {
  private queue: Pending<I, O>[] = [];
  private running = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly gatherMs: number;
  private readonly urgent: (item: I) => boolean;
  private readonly maxBatch: number;
  private readonly maxParallel: number;

  /**
   * @param write writes the items in one statement and returns one result per item, in order.
   *   Should a batch fail, its items are written again one by one, so that one bad item (e.g. a
   *   constraint it breaks) fails only its own caller.
   */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    opts: CoalescerOptions<I> = { maxBatch: 64, maxParallel: 1 },
  ) {
    if (!(opts.maxBatch >= 1 && opts.maxParallel >= 1)) throw new Error('a coalescer needs maxBatch and maxParallel of at least 1');
    const gatherMs = opts.gatherMs ?? 0;
    if (!(Number.isFinite(gatherMs) && gatherMs >= 0)) throw new Error(`gatherMs must be a number of milliseconds >= 0, not ${gatherMs}`);
    this.maxBatch = opts.maxBatch;
    this.maxParallel = opts.maxParallel;
    this.gatherMs = gatherMs;
    this.urgent = opts.urgent ?? (() => true);
  }

  push(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, at: performance.now(), resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.maxParallel && this.queue.length > 0) {
      if (this.gatherMs > 0 && !this.queue.some((p) => this.urgent(p.item))) {
        const wait = this.queue[0]!.at + this.gatherMs - performance.now();
        if (wait > 0) {
          // An earlier timer fires no later than this one would (the queue's oldest item only
          // gets younger), and pumps again.
          this.timer ??= setTimeout(() => {
            this.timer = null;
            this.pump();
          }, Math.ceil(wait));
          return;
        }
      }
      const batch = this.queue.splice(0, this.maxBatch);
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }

  private async run(batch: Pending<I, O>[]): Promise<void> {
    try {
      const out = await this.write(batch.map((p) => p.item));
      if (out.length !== batch.length) throw new Error(`batched write returned ${out.length} results for ${batch.length} items`);
      batch.forEach((p, k) => p.resolve(out[k]!));
    } catch (err) {
      if (batch.length === 1) return batch[0]!.reject(err);
      await Promise.all(
        batch.map(async (p) => {
          try {
            const [o] = await this.write([p.item]);
            p.resolve(o!);
          } catch (e) {
            p.reject(e);
          }
        }),
      );
    }
  }
}
