// Coalesces concurrent writes of one kind into one statement per batch: while a batch is being
// written, the next one gathers. PostgreSQL's cost of a statement (a transaction, a commit, a
// parse, a round trip) is then shared by every item of the batch instead of paid for each.
// Each caller still waits for its own item to be written (nothing is acknowledged before it is).

interface Pending<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (e: unknown) => void;
}

export class Coalescer<I, O> {
  private queue: Pending<I, O>[] = [];
  private running = 0;

  /**
   * @param write writes the items in one statement and returns one result per item, in order.
   *   Should a batch fail, its items are written again one by one, so that one bad item (e.g. a
   *   constraint it breaks) fails only its own caller.
   */
  constructor(
    private readonly write: (items: I[]) => Promise<O[]>,
    private readonly opts: { maxBatch: number; maxParallel: number } = { maxBatch: 64, maxParallel: 1 },
  ) {}

  push(item: I): Promise<O> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.running < this.opts.maxParallel && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxBatch);
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
