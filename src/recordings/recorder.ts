// After a recorded call: fetch the file Asterisk wrote, put it in the recordings store, describe
// it (format, duration, size, sha256) in a recordings row, then delete Asterisk's copy.
import { healthOf, type Db } from '../db/database.js';
import { retryWhileUnreachable } from '../db/health.js';
import type { AriGateway } from '../pbx/ari.js';
import type { RecordingStore } from './store.js';
import { readWavInfo } from './wav.js';

export interface StoredRecording {
  id: string;
  key: string;
  durationMs: number;
  sizeBytes: number;
  sha256: string;
}

export function recordingKey(name: string, startedAt: Date): string {
  const d = startedAt.toISOString();
  return `${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${name}.wav`;
}

export async function storeRecording(
  deps: { db: Db; ari: AriGateway; store: RecordingStore },
  r: { callId: string; name: string; startedAt: Date },
): Promise<StoredRecording> {
  // Stored already (by another process, or by an earlier try that died before deleting
  // Asterisk's copy): one row per name; only Asterisk's copy is left to remove.
  const before = await storedRow(deps.db, r.name);
  if (before) {
    await deps.ari.deleteStoredRecording(r.name);
    return before;
  }
  let data: Buffer;
  try {
    data = await deps.ari.downloadStoredRecording(r.name);
  } catch (err) {
    // Another process may have stored it and removed Asterisk's copy meanwhile.
    const now = await storedRow(deps.db, r.name);
    if (now) return now;
    throw err;
  }
  const wav = readWavInfo(data);
  const key = recordingKey(r.name, r.startedAt);
  const stored = await deps.store.put(key, data);
  // The row waits out a database outage (the call it belongs to is over; the insert is idempotent).
  const row = await retryWhileUnreachable(healthOf(deps.db), () => deps.db
    .insertInto('recordings')
    .values({
      call_id: r.callId,
      name: r.name,
      format: 'wav',
      storage_key: key,
      started_at: r.startedAt,
      duration_ms: wav.durationMs,
      size_bytes: stored.sizeBytes,
      sha256: stored.sha256,
    })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning('id')
    .executeTakeFirst());
  // Only once our copy and its row are safe is Asterisk's copy removed.
  await deps.ari.deleteStoredRecording(r.name);
  if (!row) {
    // Another process's insert won: its row stands, and a copy of ours under another key goes.
    const winner = (await storedRow(deps.db, r.name))!;
    if (winner.key !== key) await deps.store.delete(key);
    return winner;
  }
  return { id: row.id, key, durationMs: wav.durationMs, sizeBytes: stored.sizeBytes, sha256: stored.sha256 };
}

/** The recordings row of this name, if one was written. */
export async function storedRow(db: Db, name: string): Promise<StoredRecording | null> {
  const row = await retryWhileUnreachable(healthOf(db), () => db
    .selectFrom('recordings')
    .where('name', '=', name)
    .select(['id', 'storage_key', 'duration_ms', 'size_bytes', 'sha256'])
    .executeTakeFirst());
  return row ? { id: row.id, key: row.storage_key, durationMs: row.duration_ms, sizeBytes: row.size_bytes, sha256: row.sha256 } : null;
}
