// Settles a call's recording after the call has ended, whatever Asterisk sends: its
// RecordingFinished (the usual case), its RecordingFailed, or nothing at all (destroying a bridge
// that is recording does not always deliver RecordingFinished: pbx-notes). Without the event,
// Asterisk is asked directly whether it holds the finished file, with backoff, up to a deadline;
// then the recording is stored, or flagged missing or failed. Never waits for ever.
// Pure: the I/O and the clock are passed in (the unit test drives it with a fake clock).

export interface RecordingSettleIo<T> {
  /** Asterisk's report of the recording's end; may never settle. */
  reported: Promise<'finished' | 'failed'>;
  /** Whether Asterisk holds the file and no longer writes it (GET /recordings/stored, /live). */
  fileReady(): Promise<boolean>;
  /** Copies the file into Dialwell's store and describes it; throws when it cannot. */
  store(): Promise<T>;
  sleep?(ms: number): Promise<void>;
  now?(): number;
}

export interface RecordingSettleOptions {
  /** How long the report is waited for before Asterisk is asked directly. */
  graceMs: number;
  /** From the call's end: after this, a file Asterisk does not have is flagged missing. */
  deadlineMs: number;
  /** First pause between two questions to Asterisk; doubled each time up to maxPollMs. */
  firstPollMs: number;
  maxPollMs: number;
}

export const defaultSettleOptions: RecordingSettleOptions = { graceMs: 1500, deadlineMs: 30_000, firstPollMs: 250, maxPollMs: 4000 };

export type SettleResult<T> =
  | { status: 'stored'; value: T; via: 'event' | 'poll'; tries: number }
  | { status: 'missing' | 'failed'; reason: string; tries: number };

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function settleRecording<T>(io: RecordingSettleIo<T>, opts: RecordingSettleOptions = defaultSettleOptions): Promise<SettleResult<T>> {
  const sleep = io.sleep ?? realSleep;
  const now = io.now ?? Date.now;
  const start = now();
  let report: 'finished' | 'failed' | null = null;
  const reported = io.reported.then((r) => (report = r));
  await Promise.race([reported, sleep(opts.graceMs)]);
  let delay = opts.firstPollMs;
  let tries = 0;
  let lastError: string | null = null;
  let storeFailed = false;
  let reportedFileGone = false;
  for (;;) {
    if (report === 'failed') return { status: 'failed', reason: 'Asterisk reported the recording failed', tries };
    const via = report === 'finished' && !reportedFileGone ? 'event' : 'poll';
    let ready = via === 'event';
    if (!ready) {
      tries++;
      ready = await io.fileReady().catch((err: unknown) => {
        lastError = `asking Asterisk for the file failed: ${(err as Error).message}`;
        return false;
      });
    }
    if (ready) {
      try {
        return { status: 'stored', value: await io.store(), via, tries };
      } catch (err) {
        if (await io.fileReady().catch(() => true)) {
          // Asterisk has the file but it could not be copied (store full, a request timed out): again.
          lastError = `storing the file failed: ${(err as Error).message}`;
          storeFailed = true;
        } else {
          // Reported finished, yet no file (a discarded recording): asked for again until the deadline.
          lastError = `Asterisk reported the end but holds no file (${(err as Error).message})`;
          reportedFileGone = true;
          storeFailed = false;
        }
      }
    }
    const left = opts.deadlineMs - (now() - start);
    if (left <= 0) {
      return storeFailed
        ? { status: 'failed', reason: lastError ?? 'the file could not be stored', tries }
        : { status: 'missing', reason: `Asterisk had no finished file ${opts.deadlineMs} ms after the call ended${lastError ? ` (${lastError})` : ''}`, tries };
    }
    // A late report wakes the wait early (once it has come, only the pause remains).
    await (report === null ? Promise.race([reported, sleep(Math.min(delay, left))]) : sleep(Math.min(delay, left)));
    delay = Math.min(delay * 2, opts.maxPollMs);
  }
}
