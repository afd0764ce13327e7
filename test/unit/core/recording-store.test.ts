// The local recordings store on a real temporary directory: atomic puts, byte-range reads,
// size without reading, streamed hashing, listing without unfinished writes, missing objects.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LocalRecordingStore, RecordingMissingError } from '../../../src/recordings/store.js';

async function bytes(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('LocalRecordingStore', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'dialwell-store-'));
  const store = new LocalRecordingStore(root);
  const data = Buffer.from(Array.from({ length: 70_000 }, (_, i) => i % 251));

  it('puts, reads whole and by range, sizes and hashes', async () => {
    const put = await store.put('2026/11/23/call-a.wav', data);
    expect(put).toEqual({ key: '2026/11/23/call-a.wav', sizeBytes: data.length, sha256: createHash('sha256').update(data).digest('hex') });
    expect((await store.get(put.key)).equals(data)).toBe(true);
    expect((await bytes(await store.read(put.key))).equals(data)).toBe(true);
    expect((await bytes(await store.read(put.key, { start: 65_530, end: 65_545 }))).equals(data.subarray(65_530, 65_546))).toBe(true);
    expect((await bytes(await store.read(put.key, { start: 0, end: 0 }))).equals(data.subarray(0, 1))).toBe(true);
    expect(await store.size(put.key)).toBe(data.length);
    expect(await store.stat(put.key)).toEqual(put);
  });

  it('a put that fails leaves no part file behind (a full disk must not leave files without a row)', async () => {
    // The destination is a non-empty directory: the write succeeds, the rename fails.
    const own = mkdtempSync(path.join(tmpdir(), 'dialwell-store-'));
    mkdirSync(path.join(own, '2026/11/25/call-d.wav'), { recursive: true });
    writeFileSync(path.join(own, '2026/11/25/call-d.wav/x'), 'x');
    await expect(new LocalRecordingStore(own).put('2026/11/25/call-d.wav', data)).rejects.toThrow();
    expect(readdirSync(path.join(own, '2026/11/25'))).toEqual(['call-d.wav']);
  });

  it('lists keys, leaving out unfinished writes', async () => {
    await store.put('2026/11/24/call-b.wav', Buffer.from('b'));
    writeFileSync(path.join(root, '2026/11/24/call-c.wav.1234.part'), 'half');
    const keys: string[] = [];
    for await (const k of store.list()) keys.push(k);
    expect(keys).toEqual(['2026/11/23/call-a.wav', '2026/11/24/call-b.wav']);
  });

  it('says when an object is missing, and deletes idempotently', async () => {
    await store.delete('2026/11/24/call-b.wav');
    await store.delete('2026/11/24/call-b.wav');
    expect(await store.size('2026/11/24/call-b.wav')).toBeNull();
    expect(await store.stat('2026/11/24/call-b.wav')).toBeNull();
    await expect(store.read('2026/11/24/call-b.wav')).rejects.toBeInstanceOf(RecordingMissingError);
    await expect(store.get('2026/11/24/call-b.wav')).rejects.toBeInstanceOf(RecordingMissingError);
  });

  it('refuses keys that leave the store', async () => {
    await expect(store.put('../etc/passwd', data)).rejects.toThrow(/not a safe relative path/);
    await expect(store.read('/abs.wav')).rejects.toThrow(/not a safe relative path/);
  });

  it('lists nothing for a store directory not created yet', async () => {
    const keys: string[] = [];
    for await (const k of new LocalRecordingStore(path.join(root, 'nope')).list()) keys.push(k);
    expect(keys).toEqual([]);
  });
});
