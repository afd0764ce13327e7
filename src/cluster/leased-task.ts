// Periodic work that must run in one process at a time (the queue reconciler, the recording purge,
// ...): it runs only while this process holds the task's lease, starts when the lease is taken
// (here or after its holder died) and stops the moment it is lost.
import type { Logger } from '../log.js';
import type { LeaseKeeper } from './lease-keeper.js';

export interface LeasedTaskOptions {
  /** The lease's name (unique per installation). */
  lease: string;
  everyMs: number;
  /** Delay of the first run after the lease is taken (0: at once). */
  firstAfterMs?: number;
  run: () => Promise<unknown>;
}

export class LeasedTask {
  private first: NodeJS.Timeout | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private readonly onAcquired = (name: string) => name === this.opts.lease && this.schedule();
  private readonly onLost = (name: string) => name === this.opts.lease && this.unschedule();

  constructor(
    private readonly keeper: LeaseKeeper,
    private readonly log: Logger,
    private readonly opts: LeasedTaskOptions,
  ) {
    keeper.on('acquired', this.onAcquired);
    keeper.on('lost', this.onLost);
    keeper.want(opts.lease);
    if (keeper.holds(opts.lease)) this.schedule();
  }

  get lease(): string {
    return this.opts.lease;
  }

  /** Runs the task now if this process holds its lease (one run at a time); resolves when done. */
  runNow(): Promise<void> {
    if (!this.keeper.holds(this.opts.lease)) return Promise.resolve();
    this.running ??= this.opts
      .run()
      .then(() => undefined)
      .catch((err: unknown) => this.log.error({ err, task: this.opts.lease }, 'leased task failed'))
      .finally(() => (this.running = null));
    return this.running;
  }

  private schedule(): void {
    this.unschedule();
    const firstAfter = this.opts.firstAfterMs ?? 0;
    if (firstAfter === 0) void this.runNow();
    else this.first = setTimeout(() => void this.runNow(), firstAfter).unref();
    this.timer = setInterval(() => void this.runNow(), this.opts.everyMs);
    this.timer.unref();
  }

  private unschedule(): void {
    if (this.first) clearTimeout(this.first);
    if (this.timer) clearInterval(this.timer);
    this.first = this.timer = null;
  }

  /** Stops the task (waiting for a run under way) and gives its lease up. */
  async close(): Promise<void> {
    this.keeper.off('acquired', this.onAcquired);
    this.keeper.off('lost', this.onLost);
    this.unschedule();
    await this.running;
    await this.keeper.unwant(this.opts.lease);
  }
}
