// The dialer engine of one process: ARI and AMI gateways, dialer, BullMQ worker, campaign runner,
// the queue reconciler and the CDR reconciler, started and stopped together (`dialwell serve`
// runs it beside the API; the tests' harness and worker processes build it here too).
// The singletons (queue and CDR reconcilers, recording purge, contact reclaim, due callbacks, one
// pacer per campaign) run under leases: with several engines each runs in exactly one of them at
// a time, and moves when that engine dies. Leases are named under the dial queue's name, the
// deployment's shared identity (test engines on their own queues keep out of each other's way).
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { syncAll } from '../admin/pbx-sync.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import { recordAgentStates } from '../reports/agent-state-log.js';
import { CdrReconciler, type CdrReconcilerOptions } from '../cdr/reconciler.js';
import { AmiGateway } from '../pbx/ami.js';
import { AriGateway } from '../pbx/ari.js';
import { LocalRecordingStore, type RecordingStore } from '../recordings/store.js';
import { CampaignRunner } from '../dialer/campaign-runner.js';
import { Dialer, defaultDialerOptions, type DialerOptions } from '../dialer/dialer.js';
import { createDialQueue, createDialWorker, dialQueueAddress, enqueueAttempt, redisConnection, type DialJob } from '../dialer/queue.js';
import { defaultLeaseOptions, LeaseKeeper, newOwnerId, type LeaseKeeperOptions } from '../cluster/lease-keeper.js';
import { LeasedTask } from '../cluster/leased-task.js';
import { installationTasks } from './singletons.js';
import type { Fence } from '../cluster/leases.repository.js';
import type { AgentBus } from '../cluster/agent-bus.js';
import { AgentCommandError, runAgentCommand } from '../dialer/agent-commands.js';

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

export interface EngineOptions {
  dialer?: Partial<DialerOptions>;
  tickMs?: number;
  reconcileEveryMs?: number;
  purgeEveryMs?: number;
  cdr?: Partial<CdrReconcilerOptions>;
  /** false: the installation-wide singletons run elsewhere (an engine host runs them once). */
  singletons?: boolean;
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
    node?: { id: string; name: string; fence: () => Fence };
    /** Where agent sessions are shared with every process, and commands for them arrive. */
    agentBus?: AgentBus;
  } = {},
): Promise<Engine> {
  const scope = cfg.DIAL_QUEUE;
  const ownKeeper = !opts.keeper;
  const leases = opts.keeper ?? new LeaseKeeper(db, newOwnerId(), log, { ...defaultLeaseOptions, ttlMs: cfg.LEASE_TTL_MS, beatMs: cfg.LEASE_BEAT_MS, ...opts.leases });
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
    ...(opts.node ? { node: { id: opts.node.id, fence: opts.node.fence } } : {}),
  });
  // Sessions on the shared board; commands sent to any API process run here.
  let unhandle = () => {};
  const bus = opts.agentBus;
  const node = opts.node;
  if (bus && node) {
    dialer.agents.on('state', (s) => bus.publish(node.name, leases.owner, s));
    unhandle = bus.handle(node.name, leases.owner, async (agentId, command) => {
      const a = await db.selectFrom('agents').where('id', '=', agentId).select(['id', 'name', 'endpoint']).executeTakeFirst();
      if (!a) throw new AgentCommandError(`agent ${agentId} does not exist`, 409);
      return runAgentCommand(dialer, a, command);
    });
  }
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
  const runner = new CampaignRunner(db, queue, dialer, log, { tickMs: opts.tickMs ?? 1000, leases: { keeper: leases, scope } });
  // The installation-wide singletons, unless an engine host runs them once for all its nodes.
  const singletons = opts.singletons === false
    ? { tasks: [], startUp: [] }
    : installationTasks({ cfg, db, log, keeper: leases, queue, store, reconcileEveryMs: opts.reconcileEveryMs, purgeEveryMs: opts.purgeEveryMs });
  // Calls a dead process left open (a crash, a restart) are closed from Asterisk's record at
  // start and every CDR_RECONCILE_EVERY_MS. Per node: each Asterisk (its ARI application) has its own record.
  const cdrTask = new LeasedTask(leases, log, { lease: `${scope}/cdr-reconciler:${cfg.ARI_APP}`, everyMs: cfg.CDR_RECONCILE_EVERY_MS, run: () => reconcileCdrs() });
  const tasks = [...singletons.tasks, cdrTask];
  if (ownKeeper) leases.start();
  // The start-up rounds of the singletons this engine got, done before it reports ready.
  await leases.beat();
  await Promise.all([...singletons.startUp, cdrTask].map((t) => t.runNow()));
  runner.start();
  return {
    ari, dialer, queue, runner, store, ami, cdr, leases,
    async close() {
      unhandle();
      cdr.stop();
      runner.stop();
      await Promise.all(tasks.map((t) => t.close()));
      await dialer.close().catch(() => undefined);
      // The logouts of close() are history too: written before the caller closes the database.
      await agentStates.flush();
      await worker.close();
      await queue.close();
      if (ownKeeper) await leases.stop();
      for (const c of connections) c.disconnect();
      ami.close();
      ari.close();
    },
    async suspend() {
      runner.stop();
      await worker.pause(true).catch((err: unknown) => log.warn({ err }, 'pausing the dial worker failed'));
    },
    resume() {
      worker.resume();
      runner.start();
    },
    async abandon() {
      unhandle();
      cdr.stop();
      runner.stop();
      ari.close();
      ami.close();
      await Promise.all(tasks.map((t) => t.close()));
      // Jobs under way fail their fenced writes; BullMQ hands unfinished ones to another worker.
      await worker.close(true).catch(() => undefined);
      await queue.close().catch(() => undefined);
      await agentStates.flush().catch(() => undefined);
      if (ownKeeper) await leases.stop();
      for (const c of connections) c.disconnect();
    },
  };
}
