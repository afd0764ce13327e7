// PostgreSQL is the system of record; Redis is transport. The reconciler makes the queue match the
// database again after Redis lost data or a worker died:
//  - every attempt handed to the queue and still queued gets its job back (the job id, attempt plus
//    scheduled instant, makes this idempotent; the dial gate makes a second delivery harmless);
//  - an attempt reserved (dialing) for longer than the grace period with no call row was never
//    originated (the call row is written before the originate): its worker died in between, so it
//    goes back to the pacer's pool and is decided again.
import { sql } from 'kysely';
import type { Queue } from 'bullmq';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { enqueueAttempt, type DialJob } from './queue.js';

export interface ReconcileReport {
  reenqueued: number;
  releasedUndialed: number;
}

export async function reconcileQueue(
  db: Db,
  queue: Queue<DialJob>,
  log: Logger,
  opts: { undialedGraceMs?: number; campaignIds?: string[] } = {},
): Promise<ReconcileReport> {
  const grace = opts.undialedGraceMs ?? 60_000;
  // campaignIds narrows the work to some campaigns (a deployment has one queue: by default, all).
  const scope = opts.campaignIds ?? null;
  const released = await sql<{ id: string }>`
    update attempts a set state = 'queued', dialed_at = null, enqueued_at = null, decision_id = null, updated_at = now()
    where a.state = 'dialing' and a.dialed_at < ${new Date(Date.now() - grace)}
      and (${scope}::uuid[] is null or a.campaign_id = any(${scope}::uuid[]))
      and not exists (select 1 from calls c where c.attempt_id = a.id)
    returning a.id`.execute(db);
  if (released.rows.length) log.warn({ attempts: released.rows.map((r) => r.id) }, 'reserved attempts never originated: released to be decided again');

  let q = db.selectFrom('attempts').where('state', '=', 'queued').where('enqueued_at', 'is not', null).select(['id', 'scheduled_at']);
  if (scope) q = q.where('campaign_id', 'in', scope.length ? scope : ['00000000-0000-0000-0000-000000000000']);
  const handed = await q.execute();
  let reenqueued = 0;
  for (const a of handed) {
    const jobId = `${a.id}_${a.scheduled_at.getTime()}`;
    const job = await queue.getJob(jobId);
    if (job) {
      // A job that used up its retries (the store or ARI was down) would leave the attempt stuck.
      if ((await job.getState()) !== 'failed') continue;
      await job.remove();
    }
    await enqueueAttempt(queue, a.id, a.scheduled_at);
    reenqueued++;
  }
  if (reenqueued) log.warn({ reenqueued }, 'queue had lost jobs: re-enqueued from PostgreSQL');
  return { reenqueued, releasedUndialed: released.rows.length };
}
