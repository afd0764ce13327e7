// The dialer engine of one process: ARI and AMI gateways, dialer, BullMQ worker, campaign runner,
// the queue reconciler and the CDR reconciler, started and stopped together (`dialwell serve`
// runs it beside the API).
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { syncAll } from '../admin/pbx-sync.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { CdrReconciler, type CdrReconcilerOptions } from '../cdr/reconciler.js';
import { AmiGateway } from '../pbx/ami.js';
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
  ami: AmiGateway;
  cdr: CdrReconciler;
  close(): Promise<void>;
}

export async function startEngine(
  cfg: Config,
  db: Db,
  policies: PolicyResolver,
  log: Logger,
  opts: { dialer?: Partial<DialerOptions>; tickMs?: number; reconcileEveryMs?: number; cdr?: Partial<CdrReconcilerOptions> } = {},
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
  // AMI carries Asterisk's Cdr events; the dialer works without it (the CEL record covers CDRs).
  const { ami, ready } = AmiGateway.start({ host: cfg.AMI_HOST, port: cfg.AMI_PORT, user: cfg.AMI_USER, password: cfg.AMI_PASSWORD, log });
  await ready.catch((err: unknown) => log.error({ err: (err as Error).message }, 'AMI unavailable at start: retrying; CDRs are reconciled from the CEL record until then'));
  const cdr = new CdrReconciler(db, ari, ami, log, {
    celFile: cfg.ASTERISK_CEL_FILE || null, graceMs: cfg.CDR_RECONCILE_GRACE_MS, settleMs: cfg.CDR_RECONCILE_SETTLE_MS, ...opts.cdr,
  });
  cdr.isLocal = (channelId) => dialer.hasChannel(channelId);
  cdr.start();
  const reconcileCdrs = (includeLocal = false) =>
    cdr.reconcile({ includeLocal }).catch((err: unknown) => log.error({ err }, 'reconciling CDRs with Asterisk failed'));
  dialer.onPbxReconnected = async () => {
    await syncAll(db, ari);
    // Before the dialer closes out its sessions whose channels are gone: Asterisk's record of
    // how they ended is better than "lost".
    await reconcileCdrs(true);
  };
  let amiEverUp = ami.connected;
  ami.on('connected', () => {
    // Cdr events were lost while AMI was away.
    if (amiEverUp) void reconcileCdrs();
    amiEverUp = true;
  });
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
  // Calls a dead process left open (a crash, a restart) are closed from Asterisk's record now and
  // every CDR_RECONCILE_EVERY_MS.
  await reconcileCdrs();
  const cdrTimer = setInterval(() => void reconcileCdrs(), cfg.CDR_RECONCILE_EVERY_MS);
  runner.start();
  return {
    ari, dialer, queue, runner, ami, cdr,
    async close() {
      clearInterval(timer);
      clearInterval(cdrTimer);
      cdr.stop();
      runner.stop();
      await dialer.close().catch(() => undefined);
      await worker.close();
      await queue.close();
      for (const c of connections) c.disconnect();
      ami.close();
      ari.close();
    },
  };
}
