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
  const data = await deps.ari.downloadStoredRecording(r.name);
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
  const id =
    row?.id ?? (await deps.db.selectFrom('recordings').where('name', '=', r.name).select('id').executeTakeFirstOrThrow()).id;
  return { id, key, durationMs: wav.durationMs, sizeBytes: stored.sizeBytes, sha256: stored.sha256 };
}
