// The dialer engine of one process: ARI and AMI gateways, dialer, BullMQ worker, campaign runner,
// the queue reconciler and the CDR reconciler, started and stopped together (`dialwell serve`
// runs it beside the API).
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { syncAll } from '../admin/pbx-sync.js';
import { systemActor } from '../auth/audit.repository.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import { healthOf, type Db } from '../db/database.js';
import type { DatabaseHealth } from '../db/health.js';
import type { Outage } from '../health/outage.js';
import { UnavailableError } from '../errors.js';
import { reclaimContacts } from '../contacts/reclaim.js';
import type { Logger } from '../log.js';
import { recordAgentStates } from '../reports/agent-state-log.js';
import { CdrReconciler, type CdrReconcilerOptions } from '../cdr/reconciler.js';
import { AmiGateway, amiOptions } from '../pbx/ami.js';
import { AriGateway, ariOptions } from '../pbx/ari.js';
import { purgeExpiredRecordings } from '../recordings/retention.js';
import { LocalRecordingStore, type RecordingStore } from '../recordings/store.js';
import { CampaignRunner } from './campaign-runner.js';
import { Dialer, defaultDialerOptions, type DialerOptions } from './dialer.js';
import { createDialQueue, createDialWorker, enqueueAttempt, redisConnection, watchRedis, type DialJob } from './queue.js';
import { reconcileQueue } from './reconciler.js';

export interface Engine {
  ari: AriGateway;
  dialer: Dialer;
  queue: Queue<DialJob>;
  runner: CampaignRunner;
  /** Where this engine stores recordings (the API plays them from the same store). */
  store: RecordingStore;
  ami: AmiGateway;
  cdr: CdrReconciler;
  /** PostgreSQL and Redis as this engine sees them (outages are logged once at each end). */
  health: { db: DatabaseHealth; redis: Outage; redisPing(timeoutMs: number): Promise<void> };
  /**
   * The clean stop (SIGTERM): no new dials, the calls up finish within `callLimitMs` (then each
   * is ended), agents are logged out with reason "shutdown", pending writes are flushed.
   */
  drain(opts: { callLimitMs: number }): Promise<DrainReport>;
  close(): Promise<void>;
}

export interface DrainReport {
  /** Calls up when the stop began. */
  callsAtStop: number;
  /** Calls that had to be ended at the limit. */
  callsEnded: number;
  /** Calls still without a closed CDR when the engine closed (0 unless the database was away). */
  callsLeft: number;
  drainMs: number;
}

export async function startEngine(
  cfg: Config,
  db: Db,
  policies: PolicyResolver,
  log: Logger,
  opts: { dialer?: Partial<DialerOptions>; tickMs?: number; reconcileEveryMs?: number; purgeEveryMs?: number; cdr?: Partial<CdrReconcilerOptions> } = {},
): Promise<Engine> {
  const ari = await AriGateway.connect(ariOptions(cfg, log));
  const pushed = await syncAll(db, ari);
  log.info(pushed, 'PJSIP trunks and agent endpoints pushed to Asterisk');
  const store = new LocalRecordingStore(cfg.RECORDINGS_DIR);
  // AMI carries Asterisk's Cdr events; the dialer works without it (the CEL record covers CDRs).
  const { ami, ready } = AmiGateway.start(amiOptions(cfg, log));
  await ready.catch((err: unknown) => log.error({ err: (err as Error).message }, 'AMI unavailable at start: retrying; CDRs are reconciled from the CEL record until then'));
  const cdr = new CdrReconciler(db, ari, ami, log, {
    celFile: cfg.ASTERISK_CEL_FILE || null, graceMs: cfg.CDR_RECONCILE_GRACE_MS, settleMs: cfg.CDR_RECONCILE_SETTLE_MS, recordingStore: store, ...opts.cdr,
  });
  // The dialer settles timed-out originates from Asterisk's record through the reconciler.
  const dialer = new Dialer(db, ari, policies, store, log, {
    ...defaultDialerOptions,
    ...opts.dialer,
    agents: { ...defaultDialerOptions.agents, ...opts.dialer?.agents },
  }, cdr);
  // Agents' state history, for logged-in time in the agent reports (wherever the engine runs).
  const agentStates = recordAgentStates(dialer.agents, db, log);
  cdr.isLocal = (channelId) => dialer.hasChannel(channelId);
  cdr.start();
  // With includeLocal, timed-out originates still being settled stay out: their settling asks
  // the reconciler itself once Asterisk has worked off what it queued.
  // Periodic work waits while PostgreSQL is away (the outage is logged once, not per timer).
  const dbHealth = healthOf(db);
  const reconcileCdrs = async (includeLocal = false) => {
    if (!dbHealth.up) return;
    await cdr.reconcile({ includeLocal, ...(includeLocal ? { exclude: (channelId: string) => dialer.isSettling(channelId) } : {}) }).catch((err: unknown) => {
      if (!dbHealth.failed(err)) log.error({ err }, 'reconciling CDRs with Asterisk failed');
    });
  };
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
  const stopWatchingDb = dbHealth.watch();
  const connections: Redis[] = [redisConnection(cfg.REDIS_URL), redisConnection(cfg.REDIS_URL)];
  const queue = createDialQueue(cfg.DIAL_QUEUE, connections[0]!);
  dialer.onRescheduled = (id, at) => enqueueAttempt(queue, id, at);
  const worker: Worker<DialJob> = createDialWorker(cfg.DIAL_QUEUE, connections[1]!, cfg.DIAL_WORKER_CONCURRENCY, dialer.process, cfg.DIAL_JOB_LOCK_MS);
  const redis = watchRedis(connections, { queues: [queue], workers: [worker] }, log);
  worker.on('failed', (job, err) => {
    // Held dials (a dependency away, the engine stopping) are expected while it lasts: the outage is logged once.
    if (err instanceof UnavailableError) log.debug({ attemptId: job?.data.attemptId, err: err.message }, 'dial held (the job is retried)');
    else log.error({ attemptId: job?.data.attemptId, err: err.message }, 'dial job failed (it is retried)');
  });
  // While PostgreSQL is away the worker takes no job (nothing could be reserved or recorded);
  // the calls that are up go on and their writes wait (CallWriter).
  let closing = false;
  dbHealth.outage.on('down', () => {
    if (!closing) void worker.pause(true).catch((err: unknown) => log.warn({ err }, 'pausing the dial worker failed'));
  });
  dbHealth.outage.on('up', () => {
    if (!closing) worker.resume();
  });
  const runner = new CampaignRunner(db, queue, dialer, log, { tickMs: opts.tickMs ?? 1000 });
  // Redis is transport: rebuild the queue from PostgreSQL at start and every minute.
  const reconcile = async () => {
    if (!dbHealth.up) return;
    await reconcileQueue(db, queue, log).catch((err: unknown) => {
      if (!dbHealth.failed(err)) log.error({ err }, 'reconciling the queue failed');
    });
  };
  await reconcile();
  const timer = setInterval(() => void reconcile(), opts.reconcileEveryMs ?? 60_000);
  // Jobs that ran out of retries while PostgreSQL was away are put back at once, not within a minute.
  dbHealth.outage.on('up', () => void reconcile());
  const reclaim = () =>
    reclaimContacts(db, new Date(), cfg.CONTACT_RECLAIM_MONTHS)
      .then((n) => n > 0 && log.info({ reclaimed: n, months: cfg.CONTACT_RECLAIM_MONTHS }, 'contact data taken back from agents'))
      .catch((err: unknown) => {
        if (!dbHealth.failed(err)) log.error({ err }, 'reclaiming contacts failed');
      });
  await reclaim();
  const reclaimTimer = setInterval(() => void reclaim(), 3_600_000);
  // Retention: recordings past their campaign's recordingRetentionDays, every hour (audited).
  const purge = () =>
    purgeExpiredRecordings(db, store, systemActor('system'))
      .then((purged) => purged.length > 0 && log.info({ purged: purged.length }, 'recordings past their retention purged'))
      .catch((err: unknown) => {
        if (!dbHealth.failed(err)) log.error({ err }, 'purging recordings failed');
      });
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
  const redisPing = async (timeoutMs: number): Promise<void> => {
    let t: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        connections[0]!.ping(),
        new Promise((_r, reject) => (t = setTimeout(() => reject(new Error(redis.reason || `no answer to PING within ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      clearTimeout(t);
    }
  };
  let closed: Promise<void> | null = null;
  const engine: Engine = {
    ari, dialer, queue, runner, store, ami, cdr,
    health: { db: dbHealth, redis, redisPing },
    async drain({ callLimitMs }) {
      const started = Date.now();
      // No new dials: the pacer stops handing attempts over, the dialer refuses, and the worker
      // finishes the jobs it holds (each ends at the originate) and takes no more.
      closing = true;
      runner.stop();
      dialer.stopDialing();
      await bounded(worker.close(), 10_000, 'closing the dial worker');
      const callsAtStop = dialer.activeCalls;
      log.info({ calls: callsAtStop, callLimitMs }, 'stopping: no new dials; waiting for the calls up to finish');
      let callsEnded = 0;
      if (!(await dialer.waitForCalls(callLimitMs))) {
        callsEnded = await dialer.endCalls('shutdown', { closingMessage: true, recordings: true });
        // Each ended call closes through its session (CDR, recording): give that a bounded while.
        await dialer.waitForCalls(15_000);
      }
      await engine.close();
      const report = { callsAtStop, callsEnded, callsLeft: dialer.activeCalls, drainMs: Date.now() - started };
      log.info(report, 'stopped');
      return report;
    },
    close() {
      closed ??= closeAll();
      return closed;
    },
  };
  // A stop must end within the supervisor's timeout: a step waiting on a dependency that is away
  // (Redis, PostgreSQL) is given up after a while, and says so.
  const bounded = async (p: Promise<unknown>, ms: number, what: string): Promise<void> => {
    let t: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (t = setTimeout(() => r('late'), ms)));
    const result = await Promise.race([p.then(() => 'done' as const, (err: unknown) => (log.warn({ err }, `${what} failed`), 'done' as const)), late]);
    clearTimeout(t);
    if (result === 'late') log.warn({ waitedMs: ms }, `${what} took too long: going on with the stop`);
  };
  const closeAll = async (): Promise<void> => {
    closing = true;
    stopWatchingDb();
    clearInterval(timer);
    clearInterval(cdrTimer);
    cdr.stop();
    clearInterval(reclaimTimer);
    clearTimeout(firstPurge);
    clearInterval(purgeTimer);
    runner.stop();
    await dialer.close('shutdown').catch(() => undefined);
    // The logouts of close() are history too: written before the caller closes the database
    // (a flush waiting on an unreachable database is bounded: the stop must end).
    await bounded(agentStates.flush(), 10_000, 'writing the agent state history');
    await bounded(worker.close(), 10_000, 'closing the dial worker');
    await bounded(queue.close(), 5_000, 'closing the dial queue');
    for (const c of connections) c.disconnect();
    ami.close();
    ari.close();
  };
  return engine;
}
