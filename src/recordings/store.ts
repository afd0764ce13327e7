// Where recording files live after a call: an interface (so an S3-compatible store can be added)
// and the local-directory store used by default. Writes are atomic (temp file, then rename).
import { createHash, randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface StoredObject {
  key: string;
  sizeBytes: number;
  sha256: string;
}

export interface RecordingStore {
  put(key: string, data: Buffer): Promise<StoredObject>;
  get(key: string): Promise<Buffer>;
  /** Size and hash of what is stored now, or null when the object is missing. */
  stat(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
  /** Absolute path for local stores (for streaming); null for remote ones. */
  localPath(key: string): string | null;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export class LocalRecordingStore implements RecordingStore {
  constructor(private readonly root: string) {}

  private file(key: string): string {
    if (!/^[A-Za-z0-9/_.-]+$/.test(key) || key.includes('..') || key.startsWith('/')) {
      throw new Error(`recording key "${key}" is not a safe relative path`);
    }
    return path.join(this.root, key);
  }

  localPath(key: string): string {
    return this.file(key);
  }

  async put(key: string, data: Buffer): Promise<StoredObject> {
    const file = this.file(key);
    await fs.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.${randomUUID()}.part`;
    await fs.writeFile(tmp, data, { flag: 'wx' });
    await fs.rename(tmp, file);
    return { key, sizeBytes: data.length, sha256: sha256(data) };
  }

  async get(key: string): Promise<Buffer> {
    return fs.readFile(this.file(key));
  }

  async stat(key: string): Promise<StoredObject | null> {
    try {
      const data = await fs.readFile(this.file(key));
      return { key, sizeBytes: data.length, sha256: sha256(data) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}
