// Reading cel_custom's JSON lines backwards (lines in the format Asterisk 22 wrote here).
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CelFileUnavailableError, scanCelFile } from '../../../src/pbx/cel-records.js';

const line = (type: string, time: number, id: string, chan: string, extra = '') =>
  JSON.stringify({ eventtype: type, eventtime: time, uniqueid: id, linkedid: id, channame: chan, eventextra: extra });
const hangup = (cause: number) => JSON.stringify({ hangupcause: cause, hangupsource: 'PJSIP/trunk-x-00000001', dialstatus: '' });

function file(lines: string[]): string {
  const f = path.join(mkdtempSync(path.join(tmpdir(), 'cel-')), 'dialwell-cel.jsonl');
  writeFileSync(f, lines.join('\n') + '\n');
  return f;
}

const T = 1_795_400_000;

describe('scanCelFile', () => {
  const lines = [
    line('HANGUP', T - 100, 'old', 'PJSIP/trunk-a-00000001', hangup(16)),
    line('CHAN_START', T + 0.5, 'a', 'PJSIP/trunk-a-00000002'),
    line('ANSWER', T + 1.5, 'a', 'PJSIP/trunk-a-00000002'),
    line('ANSWER', T + 2, 'agent', 'PJSIP/agent1-00000003'),
    '{"eventtype":"HANGUP","eventtime":', // cut short
    line('HANGUP', T + 9.25, 'a', 'PJSIP/trunk-a-00000002', hangup(16)),
    line('HANGUP', T + 10, 'b', 'PJSIP/trunk-a-00000004', hangup(17)),
  ];

  for (const chunkBytes of [7, 64, 1 << 20]) {
    it(`keeps the wanted channels' answer, hangup and cause, and stops at the window (chunks of ${chunkBytes} bytes)`, async () => {
      const scan = await scanCelFile(file(lines), new Date(T * 1000), (_id, chan) => chan.startsWith('PJSIP/trunk-'), { slackMs: 0, chunkBytes });
      expect([...scan.records.keys()].sort()).toEqual(['a', 'b']);
      expect(scan.records.get('a')).toEqual({
        uniqueId: 'a', linkedId: 'a', channel: 'PJSIP/trunk-a-00000002', startedAt: new Date((T + 0.5) * 1000), answeredAt: new Date((T + 1.5) * 1000), endedAt: new Date((T + 9.25) * 1000),
        hangupCause: 16, hangupSource: 'PJSIP/trunk-x-00000001', dialStatus: '',
      });
      expect(scan.records.get('b')?.hangupCause).toBe(17);
      expect(scan.records.get('b')?.answeredAt).toBeNull();
      expect(scan.newest).toEqual(new Date((T + 10) * 1000));
    });
  }

  it('reads no further back than the window', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => line('HANGUP', T - 5000 + i, `x${i}`, 'PJSIP/trunk-a-1', hangup(16)));
    const f = file(many);
    const scan = await scanCelFile(f, new Date((T - 10) * 1000), () => true, { slackMs: 0, chunkBytes: 4096 });
    expect(scan.records.size).toBe(10);
    expect(scan.bytesRead).toBeLessThan(3 * 4096);
  });

  it('a directory with no file yet (Asterisk has logged nothing) is an empty record, not an error', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cel-'));
    expect(await scanCelFile(path.join(dir, 'dialwell-cel.jsonl'), new Date(), () => true)).toEqual({ records: new Map(), newest: null, bytesRead: 0 });
  });

  it('says which setting to fix when the file cannot be read', async () => {
    await expect(scanCelFile('/nonexistent/dialwell-cel.jsonl', new Date(), () => true)).rejects.toThrow(CelFileUnavailableError);
    await expect(scanCelFile('/nonexistent/dialwell-cel.jsonl', new Date(), () => true)).rejects.toThrow(/ASTERISK_CEL_FILE/);
  });
});

// Rotation with the real logrotate (Debian's), as a site rotates the file: the lines written
// before the rotation are found in <file>.1, the ones after in <file>.
describe('scanCelFile across a rotation', () => {
  const before = [
    line('CHAN_START', T + 1, 'r', 'PJSIP/trunk-a-00000010'),
    line('ANSWER', T + 2, 'r', 'PJSIP/trunk-a-00000010'),
    line('HANGUP', T + 3, 'early', 'PJSIP/trunk-a-00000011', hangup(17)),
  ];
  const after = [line('HANGUP', T + 20, 'r', 'PJSIP/trunk-a-00000010', hangup(16))];

  for (const mode of ['copytruncate', 'create']) {
    it(`finds the lines the reconciler needs on both sides of a logrotate ${mode}`, async () => {
      const f = file(before);
      const dir = path.dirname(f);
      const conf = path.join(dir, 'logrotate.conf');
      writeFileSync(conf, `${f} {\n  ${mode}\n  rotate 2\n  missingok\n  nocompress\n}\n`);
      const run = spawnSync('logrotate', ['-f', '-s', path.join(dir, 'state'), conf], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      expect(readFileSync(`${f}.1`, 'utf8')).toContain('"uniqueid":"early"');
      // cel_custom appends to <file> (recreated empty by `create`, truncated by `copytruncate`).
      expect(statSync(f).size).toBe(0);
      appendFileSync(f, after.join('\n') + '\n');
      const scan = await scanCelFile(f, new Date(T * 1000), () => true, { slackMs: 0, chunkBytes: 64 });
      expect(scan.records.get('r')).toMatchObject({ startedAt: new Date((T + 1) * 1000), answeredAt: new Date((T + 2) * 1000), endedAt: new Date((T + 20) * 1000), hangupCause: 16 });
      expect(scan.records.get('early')?.hangupCause).toBe(17);
      expect(scan.newest).toEqual(new Date((T + 20) * 1000));
    });
  }

  it('reads the rotated copy only when the current file does not reach back far enough', async () => {
    const f = file([line('HANGUP', T + 1, 'old', 'PJSIP/trunk-a-1', hangup(16))]);
    renameSync(f, `${f}.1`);
    writeFileSync(f, [line('HANGUP', T + 50, 'x', 'PJSIP/trunk-a-2', hangup(16)), line('HANGUP', T + 60, 'y', 'PJSIP/trunk-a-3', hangup(16))].join('\n') + '\n');
    const recent = await scanCelFile(f, new Date((T + 55) * 1000), () => true, { slackMs: 0 });
    expect([...recent.records.keys()]).toEqual(['y']);
    const all = await scanCelFile(f, new Date(T * 1000), () => true, { slackMs: 0 });
    expect([...all.records.keys()].sort()).toEqual(['old', 'x', 'y']);
    // Just after a rename rotation, before Asterisk writes again, there is no <file> at all.
    renameSync(f, `${f}.2`);
    expect([...(await scanCelFile(f, new Date(T * 1000), () => true, { slackMs: 0 })).records.keys()]).toEqual(['old']);
  });
});
