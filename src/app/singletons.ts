// The installation-wide singletons: the queue reconciler (Redis rebuilt from PostgreSQL), contact
// reclaim and the recording purge, each a LeasedTask, so that however many engines run, each runs
// in one of them at a time. A standalone engine runs them itself; an engine host runs them once
// for all the nodes it drives (the CDR reconciler, one per node, stays with each node's engine).
import type { Queue } from 'bullmq';
import { systemActor } from '../auth/audit.repository.js';
import type { LeaseKeeper } from '../cluster/lease-keeper.js';
import { LeasedTask } from '../cluster/leased-task.js';
import type { Config } from '../config.js';
import { reclaimContacts } from '../contacts/reclaim.js';
import { healthOf, type Db } from '../db/database.js';
import type { DialJob, NodeQueues } from '../dialer/queue.js';
import { reconcileQueue } from '../dialer/reconciler.js';
import type { Logger } from '../log.js';
import { purgeExpiredRecordings } from '../recordings/retention.js';
import type { RecordingStore } from '../recordings/store.js';

export interface SingletonDeps {
  cfg: Config;
  db: Db;
  log: Logger;
  keeper: LeaseKeeper;
  /** The dial queue (a standalone engine's), or every node's (an engine host's). */
  queue: Queue<DialJob> | NodeQueues;
  store: RecordingStore;
  reconcileEveryMs?: number;
  purgeEveryMs?: number;
}

/**
 * Starts the singletons under leases named `<DIAL_QUEUE>/<work>`; `startUp` are those to run
 * before an engine reports ready; `detach` stops following the database's outages (call on close).
 * Each waits while PostgreSQL is away (the outage is logged once, not per timer).
 */
export function installationTasks(d: SingletonDeps): { tasks: LeasedTask[]; startUp: LeasedTask[]; detach: () => void } {
  const { cfg, db, log, keeper, queue, store } = d;
  const scope = cfg.DIAL_QUEUE;
  const dbHealth = healthOf(db);
  const unlessOutage = (what: string) => (err: unknown) => {
    if (!dbHealth.failed(err)) log.error({ err }, `${what} failed`);
  };
  // Redis is transport: rebuild the queue from PostgreSQL at start and every minute.
  const reconcile = async () => {
    if (dbHealth.up) await reconcileQueue(db, queue, log).catch(unlessOutage('reconciling the queue'));
  };
  const reclaim = async () => {
    if (!dbHealth.up) return;
    await reclaimContacts(db, new Date(), cfg.CONTACT_RECLAIM_MONTHS)
      .then((n) => n > 0 && log.info({ reclaimed: n, months: cfg.CONTACT_RECLAIM_MONTHS }, 'contact data taken back from agents'))
      .catch(unlessOutage('reclaiming contacts'));
  };
  // Retention: recordings past their campaign's recordingRetentionDays, every hour (audited).
  const purge = async () => {
    if (!dbHealth.up) return;
    await purgeExpiredRecordings(db, store, systemActor('system'))
      .then((purged) => purged.length > 0 && log.info({ purged: purged.length }, 'recordings past their retention purged'))
      .catch(unlessOutage('purging recordings'));
  };
  const queueTask = new LeasedTask(keeper, log, { lease: `${scope}/queue-reconciler`, everyMs: d.reconcileEveryMs ?? 60_000, run: reconcile });
  const reclaimTask = new LeasedTask(keeper, log, { lease: `${scope}/contact-reclaim`, everyMs: 3_600_000, run: reclaim });
  // Once soon after start too: a server restarted more often than hourly still purges.
  const purgeTask = new LeasedTask(keeper, log, { lease: `${scope}/recording-purge`, everyMs: d.purgeEveryMs ?? 3_600_000, firstAfterMs: 60_000, run: purge });
  // Jobs that ran out of retries while PostgreSQL was away are put back at once, not within a minute.
  const onUp = () => void queueTask.runNow();
  dbHealth.outage.on('up', onUp);
  return { tasks: [queueTask, reclaimTask, purgeTask], startUp: [queueTask, reclaimTask], detach: () => dbHealth.outage.off('up', onUp) };
}
