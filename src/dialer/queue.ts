// The BullMQ dial queue: one job per attempt, keyed by the attempt id so that enqueuing the same
// attempt twice is a no-op. PostgreSQL stays the system of record; the job only carries the id.
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { Outage } from '../health/outage.js';
import type { Logger } from '../log.js';
import { installationId } from '../cluster/installation.js';
import type { Db } from '../db/database.js';

export interface DialJob {
  attemptId: string;
}

export function redisConnection(url: string): Redis {
  // BullMQ workers block on Redis: they need maxRetriesPerRequest null.
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

/**
 * Where a dial queue lives in Redis: its name, under this installation's key prefix. Another
 * installation on the same Redis with the same queue name has another prefix, so its workers
 * never take (and complete without dialing) this installation's jobs.
 */
export interface DialQueueAddress {
  name: string;
  prefix: string;
}

/**
 * With `node`, the queue of that node alone (`<prefix>:node:<name>`): its engine's worker takes
 * only its node's jobs, so a customer is originated on the node the pacer chose for them (where
 * the agents who will take them are). BullMQ refuses ':' in a queue name, so the node goes in the prefix.
 */
export async function dialQueueAddress(db: Db, name: string, node?: string): Promise<DialQueueAddress> {
  const prefix = `dialwell:${await installationId(db)}`;
  return { name, prefix: node ? nodeQueuePrefix(prefix, node) : prefix };
}

export function nodeQueuePrefix(installationPrefix: string, node: string): string {
  return `${installationPrefix}:node:${node}`;
}

/** The dial queues of every node, opened on first use on one connection (the pacer hands attempts to any node's). */
export class NodeQueues {
  private readonly queues = new Map<string, Queue<DialJob>>();

  constructor(
    private readonly installation: DialQueueAddress,
    private readonly connection: Redis,
    private readonly onOpen: (q: Queue<DialJob>) => void = () => {},
  ) {}

  of(node: string): Queue<DialJob> {
    let q = this.queues.get(node);
    if (!q) {
      q = createDialQueue({ name: this.installation.name, prefix: nodeQueuePrefix(this.installation.prefix, node) }, this.connection);
      this.onOpen(q);
      this.queues.set(node, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}

export function createDialQueue(address: DialQueueAddress, connection: Redis): Queue<DialJob> {
  return new Queue<DialJob>(address.name, {
    connection,
    prefix: address.prefix,
    defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000, attempts: 3, backoff: { type: 'exponential', delay: 1000 } },
  });
}

/** Enqueues an attempt for its scheduled instant. The job id is the attempt id plus that instant,
 * so enqueuing the same attempt for the same instant twice is a no-op, and a rescheduled attempt
 * gets a job of its own. */
export async function enqueueAttempt(queue: Queue<DialJob>, attemptId: string, at: Date = new Date()): Promise<void> {
  const delay = Math.max(0, at.getTime() - Date.now());
  await queue.add('dial', { attemptId }, { jobId: `${attemptId}_${at.getTime()}`, delay });
}

export function createDialWorker(
  address: DialQueueAddress,
  connection: Redis,
  concurrency: number,
  process: (job: Job<DialJob>) => Promise<unknown>,
  lockMs = 30_000,
): Worker<DialJob> {
  // A job whose worker died is "stalled" once its lock expires; a live worker then takes it over
  // (the dial gate makes that harmless: a reserved attempt is never dialed again).
  return new Worker<DialJob>(address.name, process, { connection, prefix: address.prefix, concurrency, autorun: true, lockDuration: lockMs, stalledInterval: lockMs });
}


/** One PING answered within `timeoutMs`, else an Error saying why (the outage's reason when one is known). */
export async function pingRedis(redis: Redis, timeoutMs: number, reason = ''): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_r, reject) => (t = setTimeout(() => reject(new Error(reason || `no answer to PING within ${timeoutMs} ms`)), timeoutMs))),
    ]);
  } finally {
    clearTimeout(t);
  }
}
const redisOutages = new Map<string, Outage>();

/** The one Outage of a Redis (by URL) in this process: the engine's queue, the installation's
 * singletons and the agent bus each hold connections to it, and an outage is logged once. */
export function redisOutage(url: string, log: Logger): Outage {
  let o = redisOutages.get(url);
  if (!o) {
    o = new Outage('redis', log);
    redisOutages.set(url, o);
  }
  return o;
}

/**
 * Redis outages as one Outage: ioredis and BullMQ print every failed reconnect to stderr unless
 * something listens to their 'error' events; these listeners log the outage once when it starts
 * and once when it ends (all the connections ready again) instead.
 */
export function watchRedis(
  connections: readonly Redis[], users: { queues: readonly Queue[]; workers: readonly Worker[] }, log: Logger, redis: Outage = new Outage('redis', log),
): Outage {
  for (const c of connections) {
    c.on('error', (err) => redis.fail(err));
    c.on('ready', () => {
      if (connections.every((x) => x.status === 'ready')) redis.recover();
    });
  }
  for (const q of users.queues) q.on('error', (err) => redis.fail(err));
  for (const w of users.workers) w.on('error', (err) => redis.fail(err));
  return redis;
}
