// Retention: each campaign may keep its recordings for a number of days (recordingRetentionDays in
// its settings; none = kept). The purge deletes the files past it, marks their rows purged (the
// metadata and hash stay, as the record that the call was recorded) and writes each purge to the
// audit log. Run by `dialwell recordings purge` and every hour by the engine.
import { sql } from 'kysely';
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import type { Db } from '../db/database.js';
import type { RecordingStore } from './store.js';

export interface PurgedRecording {
  recordingId: string;
  callId: string;
  campaignId: string;
  key: string;
  startedAt: Date;
  retentionDays: number;
}

/** Recordings whose campaign's retention has run out at `now`, oldest first. */
export async function expiredRecordings(db: Db, now: Date, limit: number, campaignId?: string): Promise<PurgedRecording[]> {
  const days = sql<number>`(k.settings->>'recordingRetentionDays')::int`;
  let q = db
    .selectFrom('recordings as r')
    .innerJoin('calls as c', 'c.id', 'r.call_id')
    .innerJoin('campaigns as k', 'k.id', 'c.campaign_id')
    .select(['r.id', 'r.call_id', 'c.campaign_id', 'r.storage_key', 'r.started_at', days.as('days')])
    .where('r.purged_at', 'is', null)
    .where(sql<boolean>`jsonb_typeof(k.settings->'recordingRetentionDays') = 'number'`)
    .where(sql<boolean>`r.started_at + make_interval(days => ${days}) <= ${now}`)
    .orderBy('r.started_at')
    .limit(limit);
  if (campaignId) q = q.where('c.campaign_id', '=', campaignId);
  const rows = await q.execute();
  return rows.map((r) => ({ recordingId: r.id, callId: r.call_id, campaignId: r.campaign_id, key: r.storage_key, startedAt: r.started_at, retentionDays: r.days }));
}

export async function purgeExpiredRecordings(
  db: Db,
  store: RecordingStore,
  actor: Actor,
  opts: { now?: Date; campaignId?: string; dryRun?: boolean; batch?: number } = {},
): Promise<PurgedRecording[]> {
  const now = opts.now ?? new Date();
  const batch = opts.batch ?? 500;
  const done: PurgedRecording[] = [];
  for (;;) {
    const due = await expiredRecordings(db, now, batch, opts.campaignId);
    if (opts.dryRun) return due;
    for (const r of due) {
      // The file first: should the process die before the row is marked, the next purge
      // finds the row again and deleting a missing file is a no-op.
      await store.delete(r.key);
      const marked = await db.transaction().execute(async (trx) => {
        const row = await trx.updateTable('recordings').set({ purged_at: now }).where('id', '=', r.recordingId).where('purged_at', 'is', null).returning('id').executeTakeFirst();
        if (!row) return false;
        await writeAudit(trx, actor, {
          action: 'recording.purged', resource: 'recording', resourceId: r.recordingId,
          details: { callId: r.callId, campaignId: r.campaignId, key: r.key, startedAt: r.startedAt.toISOString(), retentionDays: r.retentionDays },
        });
        return true;
      });
      if (marked) done.push(r);
    }
    if (due.length < batch) return done;
  }
}
