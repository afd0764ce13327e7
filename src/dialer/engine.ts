// The dialer engine of one process: ARI gateway, dialer, BullMQ worker, campaign runner and a
// periodic reconciler, started and stopped together (`dialwell serve` runs it beside the API).
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { syncAll } from '../admin/pbx-sync.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { reclaimContacts } from '../contacts/reclaim.js';
import type { Logger } from '../log.js';
import { AriGateway } from '../pbx/ari.js';
import { LocalRecordingStore } from '../recordings/store.js';
import { CampaignRunner } from './campaign-runner.js';
import { Dialer, defaultDialerOptions, type DialerOptions } from './dialer.js';
import { createDialQueue, createDialWorker, enqueueAttempt, redisConnection, type DialJob } from './queue.js';
import { reconcileQueue } from './reconciler.js';

export interface Engine {
  ari: AriGateway;
  dialer: Dialer;
  queue: Queue<DialJob>;
  runner: CampaignRunner;
  close(): Promise<void>;
}

export async function startEngine(
  cfg: Config,
  db: Db,
  policies: PolicyResolver,
  log: Logger,
  opts: { dialer?: Partial<DialerOptions>; tickMs?: number; reconcileEveryMs?: number } = {},
): Promise<Engine> {
  const ari = await AriGateway.connect({
    url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD, app: cfg.ARI_APP,
    maxSockets: cfg.ARI_MAX_SOCKETS, timeoutMs: cfg.ARI_TIMEOUT_MS, log,
  });
  const pushed = await syncAll(db, ari);
  log.info(pushed, 'PJSIP trunks and agent endpoints pushed to Asterisk');
  const dialer = new Dialer(db, ari, policies, new LocalRecordingStore(cfg.RECORDINGS_DIR), log, {
    ...defaultDialerOptions,
    ...opts.dialer,
    agents: { ...defaultDialerOptions.agents, ...opts.dialer?.agents },
  });
  dialer.onPbxReconnected = async () => {
    await syncAll(db, ari);
  };
  const connections: Redis[] = [redisConnection(cfg.REDIS_URL), redisConnection(cfg.REDIS_URL)];
  const queue = createDialQueue(cfg.DIAL_QUEUE, connections[0]!);
  dialer.onRescheduled = (id, at) => enqueueAttempt(queue, id, at);
  const worker: Worker<DialJob> = createDialWorker(cfg.DIAL_QUEUE, connections[1]!, cfg.DIAL_WORKER_CONCURRENCY, dialer.process, cfg.DIAL_JOB_LOCK_MS);
  worker.on('failed', (job, err) => log.error({ attemptId: job?.data.attemptId, err: err.message }, 'dial job failed (it is retried)'));
  const runner = new CampaignRunner(db, queue, dialer, log, { tickMs: opts.tickMs ?? 1000 });
  // Redis is transport: rebuild the queue from PostgreSQL at start and every minute.
  const reconcile = () => reconcileQueue(db, queue, log).catch((err: unknown) => log.error({ err }, 'reconciling the queue failed'));
  await reconcile();
  const timer = setInterval(() => void reconcile(), opts.reconcileEveryMs ?? 60_000);
  const reclaim = () =>
    reclaimContacts(db, new Date(), cfg.CONTACT_RECLAIM_MONTHS)
      .then((n) => n > 0 && log.info({ reclaimed: n, months: cfg.CONTACT_RECLAIM_MONTHS }, 'contact data taken back from agents'))
      .catch((err: unknown) => log.error({ err }, 'reclaiming contacts failed'));
  await reclaim();
  const reclaimTimer = setInterval(() => void reclaim(), 3_600_000);
  runner.start();
  return {
    ari, dialer, queue, runner,
    async close() {
      clearInterval(timer);
      clearInterval(reclaimTimer);
      runner.stop();
      await dialer.close().catch(() => undefined);
      await worker.close();
      await queue.close();
      for (const c of connections) c.disconnect();
      ari.close();
    },
  };
}
