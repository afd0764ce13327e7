// Where recording files live after a call: an interface (so an S3-compatible store can be added:
// every operation maps to one S3 request: PUT, GET with Range, HEAD, DELETE, ListObjectsV2) and
// the local-directory store used by default. Writes are atomic (temp file, then rename).
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  sizeBytes: number;
  sha256: string;
}

/** Bytes start..end, both inclusive (as HTTP Range counts them). */
export interface ByteRange {
  start: number;
  end: number;
}

export class RecordingMissingError extends Error {
  override readonly name = 'RecordingMissingError';
  constructor(readonly key: string) {
    super(`recording file "${key}" is not in the store`);
  }
}

export interface RecordingStore {
  put(key: string, data: Buffer): Promise<StoredObject>;
  /** The whole object; throws RecordingMissingError when it is missing. */
  get(key: string): Promise<Buffer>;
  /** A stream of the object, or of one byte range of it; throws RecordingMissingError when it is missing. */
  read(key: string, range?: ByteRange): Promise<Readable>;
  /** Size in bytes, without reading the object, or null when it is missing. */
  size(key: string): Promise<number | null>;
  /** Size and hash of what is stored now (reads it all), or null when the object is missing. */
  stat(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  /** Every key in the store (unfinished writes excluded). */
  list(): AsyncIterable<string>;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

export class LocalRecordingStore implements RecordingStore {
  constructor(private readonly root: string) {}

  private file(key: string): string {
    if (!/^[A-Za-z0-9/_.-]+$/.test(key) || key.includes('..') || key.startsWith('/')) {
      throw new Error(`recording key "${key}" is not a safe relative path`);
    }
    return path.join(this.root, key);
  }

  async put(key: string, data: Buffer): Promise<StoredObject> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.part`;
    try {
      await fs.writeFile(tmp, data, { flag: 'wx' });
      await fs.rename(tmp, file);
    } catch (err) {
      // A full disk leaves a truncated part behind: no file without its row (the fault suite's disk row).
      await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    return { key, sizeBytes: data.length, sha256: sha256(data) };
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.file(key));
    } catch (err) {
      if (isMissing(err)) throw new RecordingMissingError(key);
      throw err;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable> {
    // Open first, so a missing file is an error here rather than on the stream later.
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.file(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new RecordingMissingError(key);
      throw err;
    }
    return handle.createReadStream({ start: range?.start, end: range?.end });
  }

  async size(key: string): Promise<number | null> {
    try {
      return (await fs.stat(this.file(key))).size;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async stat(key: string): Promise<StoredObject | null> {
    const hash = createHash('sha256');
    let sizeBytes = 0;
    try {
      // Streamed: an hour-long recording is not read into memory to be hashed.
      for await (const chunk of createReadStream(this.file(key))) {
        hash.update(chunk as Buffer);
        sizeBytes += (chunk as Buffer).length;
      }
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
    return { key, sizeBytes, sha256: hash.digest('hex') };
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }

  async *list(): AsyncIterable<string> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.root, { recursive: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const rel of entries.sort()) {
      const key = rel.split(path.sep).join('/');
      if (key.endsWith('.part')) continue;
      if ((await fs.stat(path.join(this.root, rel))).isFile()) yield key;
    }
  }
}
