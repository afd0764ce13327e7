// The dialer engine of one process: ARI and AMI gateways, dialer, BullMQ worker, campaign runner,
// the queue reconciler and the CDR reconciler, started and stopped together (`dialwell serve`
// runs it beside the API; the tests' harness and worker processes build it here too).
// The singletons (queue and CDR reconcilers, recording purge, contact reclaim, due callbacks, one
// pacer per campaign) run under leases: with several engines each runs in exactly one of them at
// a time, and moves when that engine dies. Leases are named under the dial queue's name, the
// deployment's shared identity (test engines on their own queues keep out of each other's way).
import type { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { syncAgent, syncNode, watchPendingConfig } from '../admin/pbx-sync.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import { healthOf, type Db } from '../db/database.js';
import type { DatabaseHealth } from '../db/health.js';
import type { Outage } from '../health/outage.js';
import { UnavailableError } from '../errors.js';
import type { Logger } from '../log.js';
import { recordAgentStates } from '../reports/agent-state-log.js';
import { CdrReconciler, type CdrReconcilerOptions } from '../cdr/reconciler.js';
import { AmiGateway, amiOptions } from '../pbx/ami.js';
import { AriGateway, ariOptions } from '../pbx/ari.js';
import { LocalRecordingStore, type RecordingStore } from '../recordings/store.js';
import { CampaignRunner } from '../dialer/campaign-runner.js';
import { Dialer, defaultDialerOptions, type DialerOptions } from '../dialer/dialer.js';
import { createDialQueue, createDialWorker, dialQueueAddress, enqueueAttempt, nodeQueuePrefix, NodeQueues, pingRedis, redisConnection, redisOutage, watchRedis, type DialJob } from '../dialer/queue.js';
import { defaultLeaseOptions, LeaseKeeper, newOwnerId, type LeaseKeeperOptions } from '../cluster/lease-keeper.js';
import { LeasedTask } from '../cluster/leased-task.js';
import { installationTasks } from './singletons.js';
import type { Fence } from '../cluster/leases.repository.js';
import type { AgentBus } from '../cluster/agent-bus.js';
import { runSupervision } from '../dialer/supervision.js';
import { hangupCall } from '../dialer/call-control.js';
import { AgentCommandError, runAgentCommand } from '../dialer/agent-commands.js';
import { takeOverNode } from '../dialer/takeover.js';
import type { LogoutReason } from '../dialer/agent-pool.js';
import { TrunkLimiter } from '../dialer/trunk-limiter.js';
import { publishNodeLive } from '../cluster/live-board.js';

export interface Engine {
  ari: AriGateway;
  dialer: Dialer;
  queue: Queue<DialJob>;
  runner: CampaignRunner;
  /** Where this engine stores recordings (the API plays them from the same store). */
  store: RecordingStore;
  ami: AmiGateway;
  cdr: CdrReconciler;
  /** This engine's leases (owner id, what it holds). */
  leases: LeaseKeeper;
  /** PostgreSQL and Redis as this engine sees them (outages are logged once at each end). */
  health: { db: DatabaseHealth; redis: Outage; redisPing(timeoutMs: number): Promise<void> };
  /**
   * The clean stop (SIGTERM): no new dials, the calls up finish within `callLimitMs` (then each
   * is ended), agents are logged out with reason "shutdown", pending writes are flushed.
   */
  drain(opts: { callLimitMs: number; reason?: LogoutReason }): Promise<DrainReport>;
  close(): Promise<void>;
  /**
   * Stops at once without touching Asterisk or the calls (no hang-ups, no logouts): this engine
   * lost its node to another, which now owns what Asterisk holds.
   */
  abandon(): Promise<void>;
  /** Holds dialing (no pacing, no dial jobs taken) while the node's lease is in doubt; calls in progress go on. */
  suspend(): Promise<void>;
  /** Dials again after `suspend` (the lease is held again). */
  resume(): void;
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

/** How long before its websocket closed a stopping Asterisk may have hung the softphones up. */
const NODE_STOP_HANGUPS_MS = 5_000;

export interface EngineOptions {
  dialer?: Partial<DialerOptions>;
  tickMs?: number;
  reconcileEveryMs?: number;
  purgeEveryMs?: number;
  cdr?: Partial<CdrReconcilerOptions>;
  /** false: the installation-wide singletons run elsewhere (an engine host runs them once). */
  singletons?: boolean;
  /** false: trunk limits are not held (default: held across every engine, on Redis). */
  trunkLimits?: boolean;
}

export async function startEngine(
  cfg: Config,
  db: Db,
  policies: PolicyResolver,
  log: Logger,
  opts: EngineOptions & {
    leases?: Partial<LeaseKeeperOptions>;
    /** The process's lease keeper (an engine host's); without it the engine keeps its own. */
    keeper?: LeaseKeeper;
    /** The node this engine drives, owned by a lease: its writes are fenced by it. */
    node?: { id: string; name: string; fence: () => Fence; holds?: () => boolean };
    /** Where agent sessions are shared with every process, and commands for them arrive. */
    agentBus?: AgentBus;
  } = {},
): Promise<Engine> {
  const scope = cfg.DIAL_QUEUE;
  const ownKeeper = !opts.keeper;
  const leases = opts.keeper ?? new LeaseKeeper(db, newOwnerId(), log, { ...defaultLeaseOptions, ttlMs: cfg.LEASE_TTL_MS, beatMs: cfg.LEASE_BEAT_MS, ...opts.leases });
  // Only the node's owner (re)opens its application's websocket: one that lost the lease in a
  // freeze would otherwise take its successor's events over when it wakes.
  const nodeHolds = opts.node?.holds;
  const ari = await AriGateway.connect({ ...ariOptions(cfg, log), ...(nodeHolds ? { mayConnect: nodeHolds } : {}) });
  // Every trunk and agent, and what changed while the node was unreachable (its pending mark).
  const pushed = await syncNode(db, ari, opts.node?.id ?? null);
  log.info(pushed, 'PJSIP trunks and agent endpoints pushed to Asterisk');
  const store = new LocalRecordingStore(cfg.RECORDINGS_DIR);
  // AMI carries Asterisk's Cdr events; the dialer works without it (the CEL record covers CDRs).
  const { ami, ready } = AmiGateway.start(amiOptions(cfg, log));
  await ready.catch((err: unknown) => log.error({ err: (err as Error).message }, 'AMI unavailable at start: retrying; CDRs are reconciled from the CEL record until then'));
  const cdr = new CdrReconciler(db, ari, ami, log, {
    celFile: cfg.ASTERISK_CEL_FILE || null, graceMs: cfg.CDR_RECONCILE_GRACE_MS, settleMs: cfg.CDR_RECONCILE_SETTLE_MS, recordingStore: store,
    ...(opts.node ? { nodeId: opts.node.id, fence: opts.node.fence } : {}), ...opts.cdr,
  });
  // Trunk limits and the node's live state are shared with every process over Redis, under the installation's prefix.
  const installation = await dialQueueAddress(db, cfg.DIAL_QUEUE);
  // Commands on the dial path fail fast while Redis is away (the dial is held and retried), never queue.
  const shared = new Redis(cfg.REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, commandTimeout: 2000 });
  const trunkLimiter = opts.trunkLimits === false ? undefined : new TrunkLimiter(shared, installation.prefix);
  // The dialer settles timed-out originates from Asterisk's record through the reconciler.
  const dialer = new Dialer(db, ari, policies, store, log, {
    ...defaultDialerOptions,
    callWrites: { gatherMs: cfg.CALL_WRITE_GATHER_MS },
    ...(trunkLimiter ? { trunkLimiter } : {}),
    ...opts.dialer,
    agents: { ...defaultDialerOptions.agents, ...opts.dialer?.agents },
    ...(opts.node ? { node: { id: opts.node.id, fence: opts.node.fence, ...(opts.node.holds ? { holds: opts.node.holds } : {}) } } : {}),
  }, cdr);
  // Sessions on the shared board; commands sent to any API process run here.
  let unhandle = () => {};
  const bus = opts.agentBus;
  const node = opts.node;
  if (bus && node) dialer.agents.on('state', (s) => bus.publish(node.name, leases.owner, s));
  // A node driven under a lease may have been taken over from an engine that died: what it left up
  // in Asterisk (agents' phones, calls with agents, answered customers) is rebuilt before
  // anything is dialed or any agent command runs here (src/dialer/takeover.ts).
  if (node) {
    await takeOverNode(dialer, { db, ari, log, lastSessions: bus ? () => bus.lastSessions(node.name) : null, celFile: cfg.ASTERISK_CEL_FILE || null })
      .catch((err: unknown) => log.error({ err }, 'rebuilding what the previous engine left in Asterisk failed: its calls are closed from Asterisk\'s record'));
  }
  if (bus && node) {
    unhandle = bus.handle(node.name, leases.owner, async (agentId, command) => {
      const a = await db.selectFrom('agents').where('id', '=', agentId).select(['id', 'name', 'endpoint']).executeTakeFirst();
      if (!a) throw new AgentCommandError(`agent ${agentId} does not exist`, 409);
      // The softphone is called from this node: its endpoint here is as stored now (a node change included).
      if (command.kind === 'login') await syncAgent(db, ari, agentId).catch((err: unknown) => log.warn({ err, agentId }, 'pushing the agent endpoint failed'));
      return runAgentCommand(dialer, a, command);
    }, {
      supervise: (agentId, command) => runSupervision(dialer.supervision, agentId, command),
      // A call of this node hung up by its id from any process.
      hangupCall: (callId, actor) => hangupCall(db, dialer, actor, callId),
    });
    // Live supervisions, for GET /supervisions in every process.
    dialer.supervision.on('started', (v) => bus.publishSupervision(node.name, leases.owner, v.id, v));
    dialer.supervision.on('changed', (v) => bus.publishSupervision(node.name, leases.owner, v.id, v));
    dialer.supervision.on('ended', (v) => bus.publishSupervision(node.name, leases.owner, v.id, null));
  }
  // The node's agents and calls on the shared live board (every process's /live, stream and /metrics).
  const unpublish = node ? publishNodeLive(shared, installation.prefix, node.name, leases.owner, dialer, log) : async () => {};
  // Trunk or agent changes this node missed (unreachable when they were made) are pushed from here.
  const unwatchConfig = node ? watchPendingConfig(db, ari, node.id, log) : () => {};
  // Agents' state history, for logged-in time in the agent reports (wherever the engine runs).
  const agentStates = recordAgentStates(dialer.agents, db, log);
  cdr.isLocal = (channelId) => dialer.hasChannel(channelId);
  cdr.start();
  // With includeLocal, timed-out originates still being settled stay out: their settling asks
  // the reconciler itself once Asterisk has worked off what it queued.
  // Periodic work waits while PostgreSQL is away (the outage is logged once, not per timer).
  const dbHealth = healthOf(db);
  const reconcileCdrs = async (includeLocal = false, asteriskDown = false) => {
    // While ARI is away nothing can be told about live channels (the node-down pass says none are).
    if (!dbHealth.up || (!ari.connected && !asteriskDown)) return;
    await cdr.reconcile({ includeLocal, asteriskDown, ...(includeLocal ? { exclude: (channelId: string) => dialer.isSettling(channelId) } : {}) }).catch((err: unknown) => {
      if (!dbHealth.failed(err)) log.error({ err }, 'reconciling CDRs with Asterisk failed');
    });
  };
  dialer.onPbxReconnected = async () => {
    await syncNode(db, ari, opts.node?.id ?? null);
    // Before the dialer closes out its sessions whose channels are gone: Asterisk's record of
    // how they ended is better than "lost".
    await reconcileCdrs(true);
  };
  let amiEverUp = ami.connected;
  // Customers are originated into [dialwell-customer] (asterisk-config/extensions.conf): an
  // Asterisk still running an older configuration would hang every answered customer up.
  const missingDialplan = (said: string) => log.error(
    { node: opts.node?.name ?? null, said: said.slice(0, 200) },
    'this Asterisk has no [dialwell-customer] dialplan (asterisk-config/extensions.conf): answered customers are hung up. Render this version\'s configuration (scripts/stack.sh, the container) and run `dialplan reload`',
  );
  // The CLI command fails (AMI "Response: Error") when the context does not exist (measured).
  const checkDialplan = () => void ami.command('dialplan show s@dialwell-customer').then((out) => {
    if (!out.includes('Stasis(${DIALWELL_APP},customer')) missingDialplan(out);
  }, (err: unknown) => {
    const message = (err as Error).message;
    if (message.startsWith('AMI Command failed')) missingDialplan(message);
    else log.warn({ err: message }, 'checking the node\'s dialplan failed');
  });
  if (ami.connected) checkDialplan();
  ami.on('connected', () => {
    // Cdr events were lost while AMI was away.
    if (amiEverUp) void reconcileCdrs();
    amiEverUp = true;
    checkDialplan();
  });
  // A node whose Asterisk stays away (stopped, not a blip): its agents are logged out with reason
  // node-down and its calls closed from its record, so the pacer (here or in another engine) places
  // calls on the other nodes only; ARI back, the node rejoins (endpoints pushed, agents log in again).
  let nodeDown: NodeJS.Timeout | null = null;
  if (opts.node) {
    ari.on('disconnected', () => {
      if (nodeDown) return;
      const lostAt = Date.now();
      nodeDown = setTimeout(() => {
        if (ari.connected || closing) return;
        // A stopping Asterisk hangs the softphones up just before its websocket closes: those
        // logouts were the node's going down too.
        const relabelled = dialer.agents.relabelLogouts(lostAt - NODE_STOP_HANGUPS_MS, 'node-down');
        log.warn({ afterMs: cfg.NODE_DOWN_AFTER_MS, agents: dialer.agents.list().filter((a) => a.state !== 'logged-out').length + relabelled }, 'node down: Asterisk unreachable; its agents are logged out and its calls closed from its record');
        void dialer.agents.logoutAll('node-down').then(() => reconcileCdrs(true, true), (err: unknown) => log.error({ err }, 'logging the agents of a node down out failed'));
      }, cfg.NODE_DOWN_AFTER_MS);
    });
    ari.on('reconnected', () => {
      if (nodeDown) clearTimeout(nodeDown);
      nodeDown = null;
    });
  }
  const stopWatchingDb = dbHealth.watch();
  const connections: Redis[] = [redisConnection(cfg.REDIS_URL), redisConnection(cfg.REDIS_URL), shared];
  // A node's engine takes only its node's dial jobs; the pacer hands attempts to any node's queue.
  const address = node ? { ...installation, prefix: nodeQueuePrefix(installation.prefix, node.name) } : installation;
  const queue = createDialQueue(address, connections[0]!);
  dialer.onRescheduled = (id, at) => enqueueAttempt(queue, id, at);
  const worker: Worker<DialJob> = createDialWorker(address, connections[1]!, cfg.DIAL_WORKER_CONCURRENCY, dialer.process, cfg.DIAL_JOB_LOCK_MS);
  const redis = watchRedis(connections, { queues: [queue], workers: [worker] }, log, redisOutage(cfg.REDIS_URL, log));
  worker.on('failed', (job, err) => {
    // Held dials (a dependency away, the engine stopping) are expected while it lasts: the outage is logged once.
    if (err instanceof UnavailableError) log.debug({ attemptId: job?.data.attemptId, err: err.message }, 'dial held (the job is retried)');
    else log.error({ attemptId: job?.data.attemptId, err: err.message }, 'dial job failed (it is retried)');
  });
  // While PostgreSQL is away the worker takes no job (nothing could be reserved or recorded);
  // the calls that are up go on and their writes wait (CallWriter). The worker also rests while
  // the node's lease is in doubt (suspend); it resumes only when neither holds it.
  let closing = false;
  let suspended = false;
  const onDbDown = () => {
    if (!closing) void worker.pause(true).catch((err: unknown) => log.warn({ err }, 'pausing the dial worker failed'));
  };
  const onDbUp = () => {
    if (!closing && !suspended) worker.resume();
  };
  dbHealth.outage.on('down', onDbDown);
  dbHealth.outage.on('up', onDbUp);
  // The database health is the process's (one per pool): this engine's listeners leave with it.
  const unwatchDb = () => {
    stopWatchingDb();
    dbHealth.outage.off('down', onDbDown);
    dbHealth.outage.off('up', onDbUp);
  };
  const nodeQueues = node ? new NodeQueues(installation, connections[0]!, (q) => q.on('error', (err) => redis.fail(err))) : null;
  const runner = new CampaignRunner(db, queue, dialer, log, {
    tickMs: opts.tickMs ?? 1000,
    leases: { keeper: leases, scope },
    ...(node && nodeQueues && bus ? { cluster: { node: node.name, queues: nodeQueues, board: () => bus.sessions() } } : {}),
  });
  // The installation-wide singletons, unless an engine host runs them once for all its nodes.
  const singletons = opts.singletons === false
    ? { tasks: [], startUp: [], detach: () => {} }
    : installationTasks({ cfg, db, log, keeper: leases, queue, store, reconcileEveryMs: opts.reconcileEveryMs, purgeEveryMs: opts.purgeEveryMs });
  const stopSingletons = singletons.detach;
  // Calls a dead process left open (a crash, a restart) are closed from Asterisk's record at
  // start and every CDR_RECONCILE_EVERY_MS. Per node: each Asterisk (its ARI application) has its own record.
  const cdrTask = new LeasedTask(leases, log, { lease: `${scope}/cdr-reconciler:${cfg.ARI_APP}`, everyMs: cfg.CDR_RECONCILE_EVERY_MS, run: () => reconcileCdrs() });
  const tasks = [...singletons.tasks, cdrTask];
  if (ownKeeper) leases.start();
  // The start-up rounds of the singletons this engine got, done before it reports ready.
  await leases.beat();
  await Promise.all([...singletons.startUp, cdrTask].map((t) => t.runNow()));
  runner.start();
  const redisPing = (timeoutMs: number): Promise<void> => pingRedis(connections[0]!, timeoutMs, redis.reason);
  // A stop must end within the supervisor's timeout: a step waiting on a dependency that is away
  // (Redis, PostgreSQL) is given up after a while, and says so.
  const bounded = async (p: Promise<unknown>, ms: number, what: string): Promise<void> => {
    let t: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((r) => (t = setTimeout(() => r('late'), ms)));
    const result = await Promise.race([p.then(() => 'done' as const, (err: unknown) => (log.warn({ err }, `${what} failed`), 'done' as const)), late]);
    clearTimeout(t);
    if (result === 'late') log.warn({ waitedMs: ms }, `${what} took too long: going on with the stop`);
  };
  const closeAll = async (reason: LogoutReason = 'shutdown'): Promise<void> => {
    closing = true;
    if (nodeDown) clearTimeout(nodeDown);
    unhandle();
    unwatchConfig();
    unwatchDb();
    stopSingletons();
    cdr.stop();
    runner.stop();
    await Promise.all(tasks.map((t) => t.close()));
    await dialer.close(reason).catch(() => undefined);
    await unpublish();
    trunkLimiter?.close();
    // The logouts of close() are history too: written before the caller closes the database
    // (a flush waiting on an unreachable database is bounded: the stop must end).
    await bounded(agentStates.flush(), 10_000, 'writing the agent state history');
    await bounded(worker.close(), 10_000, 'closing the dial worker');
    await bounded(queue.close(), 5_000, 'closing the dial queue');
    if (nodeQueues) await bounded(nodeQueues.close(), 5_000, 'closing the other nodes\' dial queues');
    if (ownKeeper) await leases.stop();
    for (const c of connections) c.disconnect();
    ami.close();
    ari.close();
  };
  let closed: Promise<void> | null = null;
  const engine: Engine = {
    ari, dialer, queue, runner, store, ami, cdr, leases,
    health: { db: dbHealth, redis, redisPing },
    async drain({ callLimitMs, reason }) {
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
      closed ??= closeAll(reason);
      await closed;
      const report = { callsAtStop, callsEnded, callsLeft: dialer.activeCalls, drainMs: Date.now() - started };
      log.info(report, 'stopped');
      return report;
    },
    close() {
      closed ??= closeAll();
      return closed;
    },
    async suspend() {
      suspended = true;
      runner.stop();
      await worker.pause(true).catch((err: unknown) => log.warn({ err }, 'pausing the dial worker failed'));
    },
    resume() {
      suspended = false;
      if (closing) return;
      if (dbHealth.up) worker.resume();
      runner.start();
      // Events may have been missed while the lease was in doubt (an ARI reconnect was not
      // reconciled then): what Asterisk holds now is the truth.
      void dialer.reconcileWithAsterisk().catch((err: unknown) => log.error({ err }, 'reconciling with Asterisk failed'));
    },
    async abandon() {
      closing = true;
      if (nodeDown) clearTimeout(nodeDown);
      unhandle();
      unwatchConfig();
      trunkLimiter?.close();
      // The node's live snapshot is the new owner's to write now: left in place.
      await unpublish(false);
      stopWatchingDb();
      stopSingletons();
      cdr.stop();
      runner.stop();
      ari.close();
      ami.close();
      await Promise.all(tasks.map((t) => t.close()));
      // Jobs under way fail their fenced writes; BullMQ hands unfinished ones to another worker.
      await worker.close(true).catch(() => undefined);
      await queue.close().catch(() => undefined);
      await nodeQueues?.close().catch(() => undefined);
      await agentStates.flush().catch(() => undefined);
      if (ownKeeper) await leases.stop();
      for (const c of connections) c.disconnect();
    },
  };
  return engine;
}
