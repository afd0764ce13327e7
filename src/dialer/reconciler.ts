// PostgreSQL is the system of record; Redis is transport. The reconciler makes the queue match the
// database again after Redis lost data or a worker died:
//  - every attempt handed to the queue and still queued gets its job back (the job id, attempt plus
//    scheduled instant, makes this idempotent; the dial gate makes a second delivery harmless);
//  - an attempt still queued a grace period past its time is enqueued again whatever its job's
//    state says: a job shown completed or failed while PostgreSQL says queued was finished by
//    something that never dialed it (another process on the same keys), so it is removed and added
//    again. Only a job still waiting, delayed or running here is left alone;
//  - with per-node queues (NodeQueues), an attempt goes back to the queue of the node it was
//    handed to; one whose node is gone, disabled or unknown goes back to the pacer's pool (the
//    pacer picks a node again, by the agents ready where);
//  - an attempt reserved (dialing) for longer than the grace period with no call row was never
//    originated (the call row is written before the originate): its worker died in between, so it
//    goes back to the pacer's pool and is decided again.
import { sql } from 'kysely';
import type { Queue } from 'bullmq';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { enqueueAttempt, NodeQueues, type DialJob } from './queue.js';

export interface ReconcileReport {
  reenqueued: number;
  releasedUndialed: number;
  /** Handed to a node that is gone or disabled: back to the pacer (per-node queues only). */
  repicked?: number;
}

export async function reconcileQueue(
  db: Db,
  queues: Queue<DialJob> | NodeQueues,
  log: Logger,
  opts: { undialedGraceMs?: number; staleJobGraceMs?: number; campaignIds?: string[] } = {},
): Promise<ReconcileReport> {
  const grace = opts.undialedGraceMs ?? 60_000;
  const staleBefore = Date.now() - (opts.staleJobGraceMs ?? 60_000);
  // campaignIds narrows the work to some campaigns (a deployment has one queue: by default, all).
  const scope = opts.campaignIds ?? null;
  const released = await sql<{ id: string }>`
    update attempts a set state = 'queued', dialed_at = null, enqueued_at = null, node_id = null, decision_id = null, updated_at = now()
    where a.state = 'dialing' and a.dialed_at < ${new Date(Date.now() - grace)}
      and (${scope}::uuid[] is null or a.campaign_id = any(${scope}::uuid[]))
      and not exists (select 1 from calls c where c.attempt_id = a.id)
    returning a.id`.execute(db);
  if (released.rows.length) log.warn({ attempts: released.rows.map((r) => r.id) }, 'reserved attempts never originated: released to be decided again');

  let q = db.selectFrom('attempts').where('state', '=', 'queued').where('enqueued_at', 'is not', null).select(['id', 'scheduled_at', 'enqueued_at', 'node_id']);
  if (scope) q = q.where('campaign_id', 'in', scope.length ? scope : ['00000000-0000-0000-0000-000000000000']);
  const handed = await q.execute();
  const nodes = queues instanceof NodeQueues
    ? new Map((await db.selectFrom('nodes').where('enabled', '=', true).select(['id', 'name']).execute()).map((n) => [n.id, n.name]))
    : null;
  const repick: string[] = [];
  let reenqueued = 0;
  for (const a of handed) {
    let queue: Queue<DialJob>;
    if (queues instanceof NodeQueues) {
      const node = a.node_id ? nodes?.get(a.node_id) : undefined;
      if (!node) {
        repick.push(a.id);
        continue;
      }
      queue = queues.of(node);
    } else queue = queues;
    const jobId = `${a.id}_${a.scheduled_at.getTime()}`;
    const job = await queue.getJob(jobId);
    if (job) {
      const state = await job.getState();
      // Still on its way here: left alone (a backlog is not a loss).
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') continue;
      // Finished (used up its retries, or completed elsewhere) yet the attempt is still queued:
      // past its time and the grace, PostgreSQL wins.
      const due = Math.max(a.scheduled_at.getTime(), a.enqueued_at?.getTime() ?? 0);
      if (state === 'completed' && due > staleBefore) continue;
      await job.remove();
    }
    await enqueueAttempt(queue, a.id, a.scheduled_at);
    reenqueued++;
  }
  if (reenqueued) log.warn({ reenqueued }, 'queue had lost jobs: re-enqueued from PostgreSQL');
  if (repick.length) {
    // The node it was handed to is gone or disabled (or none was recorded): the pacer picks again.
    const back = await db.updateTable('attempts').set({ enqueued_at: null, node_id: null, updated_at: new Date() })
      .where('id', 'in', repick).where('state', '=', 'queued').returning('id').execute();
    if (back.length) log.warn({ attempts: back.length }, 'attempts handed to a node that is gone or disabled: back to the pacer');
  }
  return { reenqueued, releasedUndialed: released.rows.length, repicked: repick.length };
}
