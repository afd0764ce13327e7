// Integrity of the recordings store: re-hashes every stored (not purged) recording and compares
// it with the size and sha256 written when the call ended; reports files that changed or went
// missing, and files in the store that no recording row describes.
import type { Db } from '../db/database.js';
import type { RecordingStore } from './store.js';

export interface IntegrityProblem {
  recordingId: string;
  callId: string;
  key: string;
  expected: { sizeBytes: number; sha256: string };
  /** What the store holds now; null when the file is missing. */
  found: { sizeBytes: number; sha256: string } | null;
}

export interface IntegrityReport {
  checked: number;
  ok: number;
  changed: IntegrityProblem[];
  missing: IntegrityProblem[];
  /** Files in the store that no recording row describes (left by a crash, or put there by hand). */
  unknown: string[];
}

const PAGE = 500;

/** Checks every stored recording, or one campaign's (then files without a row are not looked for). */
export async function verifyRecordings(db: Db, store: RecordingStore, opts: { campaignId?: string } = {}): Promise<IntegrityReport> {
  const report: IntegrityReport = { checked: 0, ok: 0, changed: [], missing: [], unknown: [] };
  const known = new Set<string>();
  // Keyset paging by id: the table may be large, and rows may be added while this runs.
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    let q = db
      .selectFrom('recordings as r')
      .select(['r.id', 'r.call_id', 'r.storage_key', 'r.size_bytes', 'r.sha256'])
      .where('r.purged_at', 'is', null)
      .where('r.id', '>', after)
      .orderBy('r.id')
      .limit(PAGE);
    if (opts.campaignId) q = q.innerJoin('calls as c', 'c.id', 'r.call_id').where('c.campaign_id', '=', opts.campaignId);
    const rows = await q.execute();
    for (const r of rows) {
      known.add(r.storage_key);
      report.checked++;
      const now = await store.stat(r.storage_key);
      const problem: IntegrityProblem = {
        recordingId: r.id, callId: r.call_id, key: r.storage_key, expected: { sizeBytes: r.size_bytes, sha256: r.sha256 },
        found: now && { sizeBytes: now.sizeBytes, sha256: now.sha256 },
      };
      if (!now) report.missing.push(problem);
      else if (now.sha256 !== r.sha256 || now.sizeBytes !== r.size_bytes) report.changed.push(problem);
      else report.ok++;
    }
    if (rows.length < PAGE) break;
    after = rows[rows.length - 1]!.id;
  }
  if (!opts.campaignId) {
    const stored: string[] = [];
    for await (const key of store.list()) if (!known.has(key)) stored.push(key);
    // A purged recording's file is gone by design; any file left under a purged row is unknown too.
    for (let i = 0; i < stored.length; i += PAGE) {
      const slice = stored.slice(i, i + PAGE);
      const rows = await db.selectFrom('recordings').select('storage_key').where('storage_key', 'in', slice).where('purged_at', 'is', null).execute();
      const described = new Set(rows.map((r) => r.storage_key));
      report.unknown.push(...slice.filter((k) => !described.has(k)));
    }
  }
  return report;
}
