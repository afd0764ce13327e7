// The dialer engine of one process: ARI and AMI gateways, dialer, BullMQ worker, campaign runner,
// the queue reconciler and the CDR reconciler, started and stopped together (`dialwell serve`
// runs it beside the API).
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { syncAll } from '../admin/pbx-sync.js';
import { systemActor } from '../auth/audit.repository.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import { reclaimContacts } from '../contacts/reclaim.js';
import type { Logger } from '../log.js';
import { recordAgentStates } from '../reports/agent-state-log.js';
import { CdrReconciler, type CdrReconcilerOptions } from '../cdr/reconciler.js';
import { AmiGateway } from '../pbx/ami.js';
import { AriGateway } from '../pbx/ari.js';
import { purgeExpiredRecordings } from '../recordings/retention.js';
import { LocalRecordingStore, type RecordingStore } from '../recordings/store.js';
import { CampaignRunner } from '../dialer/campaign-runner.js';
import { Dialer, defaultDialerOptions, type DialerOptions } from '../dialer/dialer.js';
import { createDialQueue, createDialWorker, dialQueueAddress, enqueueAttempt, redisConnection, type DialJob } from '../dialer/queue.js';
import { reconcileQueue } from '../dialer/reconciler.js';

export interface Engine {
  ari: AriGateway;
  dialer: Dialer;
  queue: Queue<DialJob>;
  runner: CampaignRunner;
  /** Where this engine stores recordings (the API plays them from the same store). */
  store: RecordingStore;
  ami: AmiGateway;
  cdr: CdrReconciler;
  close(): Promise<void>;
}

export async function startEngine(
  cfg: Config,
  db: Db,
  policies: PolicyResolver,
  log: Logger,
  opts: { dialer?: Partial<DialerOptions>; tickMs?: number; reconcileEveryMs?: number; purgeEveryMs?: number; cdr?: Partial<CdrReconcilerOptions> } = {},
): Promise<Engine> {
  const ari = await AriGateway.connect({
    url: cfg.ARI_URL, user: cfg.ARI_USER, password: cfg.ARI_PASSWORD, app: cfg.ARI_APP,
    maxSockets: cfg.ARI_MAX_SOCKETS, timeoutMs: cfg.ARI_TIMEOUT_MS, log,
  });
  const pushed = await syncAll(db, ari);
  log.info(pushed, 'PJSIP trunks and agent endpoints pushed to Asterisk');
  const store = new LocalRecordingStore(cfg.RECORDINGS_DIR);
  const dialer = new Dialer(db, ari, policies, store, log, {
    ...defaultDialerOptions,
    ...opts.dialer,
    agents: { ...defaultDialerOptions.agents, ...opts.dialer?.agents },
  });
  // Agents' state history, for logged-in time in the agent reports (wherever the engine runs).
  const agentStates = recordAgentStates(dialer.agents, db, log);
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
  const address = await dialQueueAddress(db, cfg.DIAL_QUEUE);
  const queue = createDialQueue(address, connections[0]!);
  dialer.onRescheduled = (id, at) => enqueueAttempt(queue, id, at);
  const worker: Worker<DialJob> = createDialWorker(address, connections[1]!, cfg.DIAL_WORKER_CONCURRENCY, dialer.process, cfg.DIAL_JOB_LOCK_MS);
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
  // Retention: recordings past their campaign's recordingRetentionDays, every hour (audited).
  const purge = () =>
    purgeExpiredRecordings(db, store, systemActor('system'))
      .then((purged) => purged.length > 0 && log.info({ purged: purged.length }, 'recordings past their retention purged'))
      .catch((err: unknown) => log.error({ err }, 'purging recordings failed'));
  // Once soon after start too: a server restarted more often than hourly still purges.
  const firstPurge = setTimeout(() => void purge(), 60_000);
  firstPurge.unref();
  const purgeTimer = setInterval(() => void purge(), opts.purgeEveryMs ?? 3_600_000);
  purgeTimer.unref();
  // Calls a dead process left open (a crash, a restart) are closed from Asterisk's record now and
  // every CDR_RECONCILE_EVERY_MS.
  await reconcileCdrs();
  const cdrTimer = setInterval(() => void reconcileCdrs(), cfg.CDR_RECONCILE_EVERY_MS);
  runner.start();
  return {
    ari, dialer, queue, runner, store, ami, cdr,
    async close() {
      clearInterval(timer);
      clearInterval(cdrTimer);
      cdr.stop();
      clearInterval(reclaimTimer);
      clearTimeout(firstPurge);
      clearInterval(purgeTimer);
      runner.stop();
      await dialer.close().catch(() => undefined);
      // The logouts of close() are history too: written before the caller closes the database.
      await agentStates.flush();
      await worker.close();
      await queue.close();
      for (const c of connections) c.disconnect();
      ami.close();
      ari.close();
    },
  };
}
