// The engine side of a process (`dialwell serve --role all|engine`): it asks for the lease of
// every enabled node it may drive (ENGINE_NODES, default all) and runs a node's engine exactly
// while it holds that node's lease. A second process with the same settings is a standby: it
// keeps asking, and takes the node over within the lease time once its owner dies. The node's
// ARI application is `<ARI_APP>-<node>`, so only the owner listens to it. The engine's call and
// reservation writes are fenced by the lease's epoch (a stale owner that wakes up writes nothing).
// The installation-wide singletons (queue reconciler, contact reclaim, recording purge) run here
// once, under their leases, whatever nodes this process drives.
import { EventEmitter } from 'node:events';
import { ensureDefaultNode, listNodes, type NodeRow } from '../admin/nodes.service.js';
import { defaultLeaseOptions, LeaseKeeper, newOwnerId, type LeaseKeeperOptions } from '../cluster/lease-keeper.js';
import { leaseHolder, nodeLease } from '../cluster/leases.repository.js';
import { DEFAULT_DRAIN_CALL_LIMIT_MS, markDrained } from '../cluster/drain.js';
import type { AgentBus } from '../cluster/agent-bus.js';
import { AgentCommandError } from '../dialer/agent-commands.js';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { Logger } from '../log.js';
import type { Redis } from 'ioredis';
import type { LeasedTask } from '../cluster/leased-task.js';
import { dialQueueAddress, NodeQueues, pingRedis, redisConnection, redisOutage, watchRedis } from '../dialer/queue.js';
import { LocalRecordingStore } from '../recordings/store.js';
import { startEngine, type DrainReport, type Engine, type EngineOptions } from './engine.js';
import { installationTasks } from './singletons.js';

export { nodeLease };

/** The engine configuration for one node: its ARI, AMI and CEL record instead of the environment's. */
export function nodeConfig(cfg: Config, node: NodeRow): Config {
  return {
    ...cfg,
    ARI_URL: node.ari_url, ARI_USER: node.ari_user, ARI_PASSWORD: node.ari_password, ARI_APP: `${cfg.ARI_APP}-${node.name}`,
    AMI_HOST: node.ami_host, AMI_PORT: node.ami_port, AMI_USER: node.ami_user, AMI_PASSWORD: node.ami_password,
    ASTERISK_CEL_FILE: node.cel_file ?? '',
  };
}

export interface EngineHostEvents {
  /** This process now drives the node (engine) or no longer does (null). */
  engine: [node: string, engine: Engine | null];
}

interface Owned {
  node: NodeRow;
  epoch: number;
  engine: Engine | null;
  starting: Promise<void> | null;
  /** Set while the lease is in doubt (not renewed, the database unreachable): dialing is held. */
  suspended: NodeJS.Timeout | null;
  /** Set while the node is being drained here (src/cluster/drain.ts). */
  draining?: Promise<void>;
}

export class EngineHost extends EventEmitter<EngineHostEvents> {
  readonly keeper: LeaseKeeper;
  private readonly owned = new Map<string, Owned>();
  private refreshTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** The installation-wide singletons, run once for every node this process drives. */
  private singletons: { tasks: LeasedTask[]; detach: () => void; queue: NodeQueues; redis: Redis } | null = null;

  constructor(
    private readonly cfg: Config,
    private readonly db: Db,
    private readonly policies: PolicyResolver,
    private readonly log: Logger,
    private readonly opts: EngineOptions & { leases?: Partial<LeaseKeeperOptions>; refreshEveryMs?: number; agentBus?: AgentBus } = {},
  ) {
    super();
    this.keeper = new LeaseKeeper(db, newOwnerId(), log, { ...defaultLeaseOptions, ttlMs: cfg.LEASE_TTL_MS, beatMs: cfg.LEASE_BEAT_MS, ...opts.leases });
    this.keeper.on('acquired', (name, epoch) => {
      const node = [...this.owned.values()].find((o) => nodeLease(o.node.name) === name);
      if (node) void this.drive(node, epoch);
    });
    this.keeper.on('lost', (name, reason) => {
      const node = [...this.owned.values()].find((o) => nodeLease(o.node.name) === name);
      if (node && reason !== 'released') void this.suspend(node, reason);
    });
  }

  /** Creates the default node on a fresh install, asks for the nodes' leases; resolves after the first round. */
  async start(): Promise<void> {
    const created = await ensureDefaultNode(this.db, this.cfg);
    if (created) this.log.info({ node: created.name }, 'default node created from the environment');
    await this.refresh();
    const redis = redisConnection(this.cfg.REDIS_URL);
    // Every node's dial queue (the queue reconciler puts attempts back on their node's); their
    // errors go to the process's one Redis outage (logged once), never to stderr.
    const outage = redisOutage(this.cfg.REDIS_URL, this.log);
    const queue = new NodeQueues(await dialQueueAddress(this.db, this.cfg.DIAL_QUEUE), redis, (q) => q.on('error', (err) => outage.fail(err)));
    watchRedis([redis], { queues: [], workers: [] }, this.log, outage);
    const { tasks, detach } = installationTasks({
      cfg: this.cfg, db: this.db, log: this.log, keeper: this.keeper, queue, store: new LocalRecordingStore(this.cfg.RECORDINGS_DIR),
      ...(this.opts.reconcileEveryMs ? { reconcileEveryMs: this.opts.reconcileEveryMs } : {}),
      ...(this.opts.purgeEveryMs ? { purgeEveryMs: this.opts.purgeEveryMs } : {}),
    });
    this.singletons = { tasks, detach, queue, redis };
    this.keeper.start();
    await this.keeper.beat();
    await Promise.all([...this.owned.values()].map((o) => o.starting));
    this.refreshTimer = setInterval(() => void this.refresh().catch((err: unknown) => this.log.error({ err }, 'reading the nodes failed')), this.opts.refreshEveryMs ?? 5000);
  }

  /** The engine of the node this process drives (the first, when it drives several). */
  get engine(): Engine | undefined {
    for (const o of this.owned.values()) if (o.engine) return o.engine;
    return undefined;
  }

  /** The name of the node whose engine `engine` is (the `node` label of this process's metrics). */
  get engineNode(): string | undefined {
    for (const o of this.owned.values()) if (o.engine) return o.node.name;
    return undefined;
  }

  /** Redis answers (the dial queue's connection), within the timeout: for /readyz, whether or not a node is driven here. */
  async redisPing(timeoutMs: number): Promise<void> {
    const engine = this.engine;
    if (engine) return engine.health.redisPing(timeoutMs);
    const redis = this.singletons?.redis;
    if (!redis) throw new Error('the engine host has not started');
    return pingRedis(redis, timeoutMs);
  }

  /**
   * The clean stop (SIGTERM) of every node driven here: no new dials, the calls up finish within
   * `callLimitMs` (then each is ended with the closing message), agents logged out with reason
   * "shutdown"; the node leases are held until then (no standby takes a node with calls up), and
   * released at the end.
   */
  async drain(opts: { callLimitMs: number }): Promise<DrainReport[]> {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    await Promise.all([...this.owned.values()].map((o) => o.starting));
    const reports = await Promise.all([...this.owned.values()].flatMap((o) => (o.engine ? [o.engine.drain(opts)] : [])));
    await this.close();
    return reports;
  }

  /** Follows the nodes table: asks for the leases of enabled nodes it may drive, gives up the others. */
  private async refresh(): Promise<void> {
    const pinned = this.cfg.ENGINE_NODES;
    const nodes = (await listNodes(this.db)).filter((n) => n.enabled && n.drain_state !== 'drained' && (pinned.length === 0 || pinned.includes(n.name)));
    for (const n of nodes) {
      const o = this.owned.get(n.id);
      if (n.drain_state === 'draining') {
        await this.drainNode(n, o);
        continue;
      }
      if (o) o.node = n;
      else this.owned.set(n.id, { node: n, epoch: 0, engine: null, starting: null, suspended: null });
      this.keeper.want(nodeLease(n.name));
    }
    for (const [id, o] of this.owned) {
      if (nodes.some((n) => n.id === id)) continue;
      this.owned.delete(id);
      await this.letGo(o, 'node disabled or removed', true);
      await this.keeper.unwant(nodeLease(o.node.name));
    }
  }

  /**
   * A node asked to drain: its owner (here) finishes its calls, logs its agents out (reason
   * "drain"), marks it drained and releases its lease; a standby (here) stops asking for it; with
   * no owner anywhere (the owner died mid-drain), it is drained as it stands.
   */
  private async drainNode(n: NodeRow, o: Owned | undefined): Promise<void> {
    const lease = nodeLease(n.name);
    if (o?.engine || o?.draining) {
      o.node = n;
      o.draining ??= (async () => {
        const engine = o.engine!;
        const callLimitMs = n.drain_call_limit_ms ?? DEFAULT_DRAIN_CALL_LIMIT_MS;
        this.log.warn({ node: n.name, callLimitMs }, 'draining the node: no new calls, live calls finish, agents are logged out');
        try {
          const report = await engine.drain({ callLimitMs, reason: 'drain' });
          await markDrained(this.db, n.id);
          this.log.warn({ node: n.name, ...report }, 'node drained: lease released');
        } finally {
          o.engine = null;
          this.emit('engine', n.name, null);
          this.owned.delete(n.id);
          await this.keeper.unwant(lease);
        }
      })().catch((err: unknown) => this.log.error({ err, node: n.name }, 'draining the node failed'));
      return;
    }
    if (o) {
      if (o.starting) return; // its engine is coming up: drained at the next look
      this.owned.delete(n.id);
      await this.keeper.unwant(lease);
    }
    if (!(await leaseHolder(this.db, lease))) await markDrained(this.db, n.id);
  }

  /**
   * The lease could not be renewed in time (the database slow or away): dialing is held, calls in
   * progress go on (their writes are fenced, so nothing stale lands). If this process takes the
   * lease back, it dials on at the new epoch; once another engine is seen holding it, this one
   * lets the node go without touching Asterisk.
   */
  private async suspend(o: Owned, reason: string): Promise<void> {
    await o.starting;
    if (!o.engine || o.suspended) return;
    this.log.warn({ node: o.node.name, reason }, 'node lease in doubt: dialing held');
    await o.engine.suspend();
    const lease = nodeLease(o.node.name);
    o.suspended = setInterval(() => {
      void leaseHolder(this.db, lease).then(
        (h) => {
          if (h && h.owner !== this.keeper.owner) void this.letGo(o, `taken over by ${h.owner}`);
        },
        () => undefined,
      );
    }, this.cfg.LEASE_BEAT_MS);
  }

  private drive(o: Owned, epoch: number): Promise<void> {
    o.epoch = epoch;
    if (o.engine && o.suspended) {
      // Taken back by this process: the fence reads the new epoch.
      clearInterval(o.suspended);
      o.suspended = null;
      this.log.warn({ node: o.node.name, epoch }, 'node lease taken back: dialing again');
      o.engine.resume();
      return Promise.resolve();
    }
    const run = async () => {
      await o.starting;
      if (this.closed || o.engine || !this.keeper.holds(nodeLease(o.node.name))) return;
      const lease = nodeLease(o.node.name);
      const t0 = Date.now();
      // Until the engine is up, agent commands for the node get a quick answer, not the bus's deadline.
      const starting = this.opts.agentBus?.handle(o.node.name, this.keeper.owner, async () => {
        throw new AgentCommandError(`node ${o.node.name} is being taken over by this engine; try again in a moment`, 503);
      });
      try {
        const engine = await startEngine(nodeConfig(this.cfg, o.node), this.db, this.policies, this.log.child({ node: o.node.name }), {
          ...this.opts,
          singletons: false,
          keeper: this.keeper,
          node: {
            id: o.node.id,
            name: o.node.name,
            // In doubt (not renewed): the last epoch held; the write passes only if nobody took the node since.
            fence: () => this.keeper.fence(lease) ?? { lease, owner: this.keeper.owner, epoch: o.epoch },
            holds: () => this.keeper.holds(lease),
          },
        });
        if (!this.keeper.holds(lease) || this.closed) {
          starting?.();
          await engine.abandon();
          return;
        }
        o.engine = engine;
        this.log.info({ node: o.node.name, epoch, startMs: Date.now() - t0 }, 'driving the node');
        this.emit('engine', o.node.name, engine);
      } catch (err) {
        starting?.();
        // The node cannot be driven from here now (Asterisk unreachable): let another engine try.
        this.log.error({ err: (err as Error).message, node: o.node.name }, 'starting the node engine failed: lease released');
        await this.keeper.unwant(lease);
        setTimeout(() => !this.closed && this.owned.has(o.node.id) && this.keeper.want(lease), this.cfg.LEASE_TTL_MS).unref();
      }
    };
    o.starting = run().finally(() => (o.starting = null));
    return o.starting;
  }

  /** Stops driving a node: at once and hands off (lease lost), or gracefully (closing). */
  private async letGo(o: Owned, reason: string, graceful = false): Promise<void> {
    await o.starting;
    if (o.suspended) clearInterval(o.suspended);
    o.suspended = null;
    const engine = o.engine;
    if (!engine) return;
    o.engine = null;
    this.log.warn({ node: o.node.name, reason }, 'no longer driving the node');
    this.emit('engine', o.node.name, null);
    await (graceful ? engine.close() : engine.abandon()).catch((err: unknown) => this.log.error({ err }, 'stopping the node engine failed'));
  }

  close(): Promise<void> {
    this.closing ??= this.closeAll();
    return this.closing;
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    for (const o of this.owned.values()) await this.letGo(o, 'shutting down', true);
    if (this.singletons) {
      this.singletons.detach();
      await Promise.all(this.singletons.tasks.map((t) => t.close()));
      await this.singletons.queue.close();
      this.singletons.redis.disconnect();
    }
    await this.keeper.stop();
  }
}
