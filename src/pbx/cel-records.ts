// Asterisk's durable record of each channel's start, answer and hangup: the JSON lines cel_custom writes
// (asterisk-config/cel_custom.conf). AMI events are lost while no client listens; this file is
// not, so after a dialer crash it still says when each channel was answered, when it hung up and
// with which Q.850 cause. Read from the end backwards, so a pass costs what it reads, not the
// file's whole history.
//
// Rotation: when the file's start is reached before the events the pass needs, the rotated copy
// `<file>.1` is read next (backwards too), so the lines written before a rotation are still found.
// That covers logrotate's copytruncate (the old lines sit in <file>.1, the file starts empty)
// and rename rotation (<file> renamed to <file>.1, cel_custom opens a new <file> on its next
// event). Compressed copies are not read: rotate with `delaycompress` (deploy/logrotate-dialwell-cel).
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** What Asterisk recorded about one channel. */
export interface CelChannelRecord {
  uniqueId: string;
  linkedId: string;
  channel: string;
  /** CHAN_START: the channel existed (null when its start is older than the scan). */
  startedAt: Date | null;
  answeredAt: Date | null;
  /** Null when no HANGUP was found (the channel is still up, or older than the scan). */
  endedAt: Date | null;
  hangupCause: number | null;
  hangupSource: string;
  dialStatus: string;
}

interface CelLine {
  eventtype: string;
  eventtime: number;
  uniqueid: string;
  linkedid: string;
  channame: string;
  eventextra: string;
}

export class CelFileUnavailableError extends Error {
  override readonly name = 'CelFileUnavailableError';
}

function parseLine(line: string): CelLine | null {
  if (!line.startsWith('{')) return null;
  try {
    const v = JSON.parse(line) as Partial<CelLine>;
    if (typeof v.eventtype !== 'string' || typeof v.eventtime !== 'number' || typeof v.uniqueid !== 'string') return null;
    return { eventtype: v.eventtype, eventtime: v.eventtime, uniqueid: v.uniqueid, linkedid: v.linkedid ?? '', channame: v.channame ?? '', eventextra: v.eventextra ?? '' };
  } catch {
    return null; // a line cut short by a crash of Asterisk mid-write
  }
}

export interface CelScan {
  /** Records by uniqueid, for the channels `want` accepted. */
  records: Map<string, CelChannelRecord>;
  /** The newest event time read (null for an empty file). */
  newest: Date | null;
  bytesRead: number;
}

/**
 * Reads the file backwards until events older than `since` (events are appended in time order,
 * give or take the few ms between threads; `slackMs` covers that), keeping the channels `want`
 * accepts by uniqueid and channel name.
 */
export async function scanCelFile(
  file: string,
  since: Date,
  want: (uniqueId: string, channel: string) => boolean,
  opts: { slackMs?: number; chunkBytes?: number } = {},
): Promise<CelScan> {
  const stop = (since.getTime() - (opts.slackMs ?? 5000)) / 1000;
  const chunk = opts.chunkBytes ?? 256 * 1024;
  const state: ScanState = { records: new Map(), newest: null, bytesRead: 0, done: false };
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    // The directory is there but Asterisk has written no event yet (a fresh stack, or just after a
    // rename rotation): the rotated copy may still hold what is needed.
    if (!((err as NodeJS.ErrnoException).code === 'ENOENT' && (await stat(path.dirname(file)).then((s) => s.isDirectory(), () => false)))) {
      throw new CelFileUnavailableError(
        `Asterisk's CEL record file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): ` +
          'set ASTERISK_CEL_FILE to the dialwell-cel.jsonl that cel_custom writes (asterisk-config/cel_custom.conf), or to an empty value to go without it',
      );
    }
  }
  if (fh) await scanBackwards(fh, stop, chunk, want, state);
  if (!state.done) {
    const rotated = await open(`${file}.1`, 'r').catch(() => null);
    if (rotated) await scanBackwards(rotated, stop, chunk, want, state);
  }
  return { records: state.records, newest: state.newest === null ? null : new Date(Math.round(state.newest * 1000)), bytesRead: state.bytesRead };
}

interface ScanState {
  records: Map<string, CelChannelRecord>;
  newest: number | null;
  bytesRead: number;
  /** An event older than the pass's start was reached: older files are not needed. */
  done: boolean;
}

/** Reads one file from its end towards its start into `state`; closes it. */
async function scanBackwards(
  fh: FileHandle,
  stop: number,
  chunk: number,
  want: (uniqueId: string, channel: string) => boolean,
  state: ScanState,
): Promise<void> {
  const records = state.records;
  try {
    let pos = (await fh.stat()).size;
    let tail = Buffer.alloc(0);
    while (pos > 0 && !state.done) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      state.bytesRead += len;
      let data = Buffer.concat([buf, tail]);
      // The first (partial) line of this chunk waits for the next chunk, unless we are at the start.
      let cut = 0;
      if (pos > 0) {
        cut = data.indexOf(0x0a) + 1;
        if (cut === 0) {
          tail = data;
          continue;
        }
      }
      tail = data.subarray(0, cut);
      data = data.subarray(cut);
      const lines = data.toString('utf8').split('\n');
      for (let i = lines.length - 1; i >= 0; i--) {
        const e = parseLine(lines[i]!);
        if (!e) continue;
        if (state.newest === null) state.newest = e.eventtime;
        if (e.eventtime < stop) {
          state.done = true;
          break;
        }
        if (!want(e.uniqueid, e.channame)) continue;
        let r = records.get(e.uniqueid);
        if (!r) {
          r = { uniqueId: e.uniqueid, linkedId: e.linkedid, channel: e.channame, startedAt: null, answeredAt: null, endedAt: null, hangupCause: null, hangupSource: '', dialStatus: '' };
          records.set(e.uniqueid, r);
        }
        const at = new Date(Math.round(e.eventtime * 1000));
        if (e.eventtype === 'CHAN_START') r.startedAt = at;
        else if (e.eventtype === 'ANSWER') r.answeredAt = at;
        else if (e.eventtype === 'HANGUP') {
          r.endedAt = at;
          try {
            const x = JSON.parse(e.eventextra) as { hangupcause?: unknown; hangupsource?: unknown; dialstatus?: unknown };
            r.hangupCause = typeof x.hangupcause === 'number' ? x.hangupcause : null;
            r.hangupSource = typeof x.hangupsource === 'string' ? x.hangupsource : '';
            r.dialStatus = typeof x.dialstatus === 'string' ? x.dialstatus : '';
          } catch {
            // extra is Asterisk's JSON; without it the end time still stands
          }
        }
      }
    }
  } finally {
    await fh.close();
  }
}
