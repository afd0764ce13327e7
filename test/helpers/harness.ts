// One dialer wired to the real stack for an integration test file: database, ARI (an application
// name of its own), recordings directory, policies, BullMQ queue and worker; and teardown.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { savePolicy, PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import type { PolicyInput } from '../../src/compliance/policy.js';
import { createDb, type Db } from '../../src/db/database.js';
import { Dialer, defaultDialerOptions, type DialerOptions } from '../../src/dialer/dialer.js';
import { createDialQueue, createDialWorker, dialQueueAddress, enqueueAttempt, redisConnection, type DialJob, type DialQueueAddress } from '../../src/dialer/queue.js';
import { createLogger } from '../../src/log.js';
import { AriGateway, ariOptions } from '../../src/pbx/ari.js';
import { LocalRecordingStore } from '../../src/recordings/store.js';
import { testConfig } from './env.js';

/** A policy open around the clock, so that call tests pass at any hour CI runs them. */
export const openAllHours = (name: string): PolicyInput => ({
  name,
  version: 1,
  description: 'integration tests: every hour of every day, DNC and protected numbers still apply',
  windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }],
});

export interface Harness {
  cfg: ReturnType<typeof testConfig>;
  db: Db;
  ari: AriGateway;
  dialer: Dialer;
  policies: PolicyResolver;
  queue: Queue<DialJob>;
  /** The queue's name and this installation's key prefix (for more workers on it). */
  address: DialQueueAddress;
  worker: Worker<DialJob>;
  recordingsDir: string;
  app: string;
  close(): Promise<void>;
}

export async function startHarness(
  opts: { dialer?: Partial<DialerOptions>; workerConcurrency?: number; config?: Parameters<typeof testConfig>[0] } = {},
): Promise<Harness> {
  const cfg = testConfig(opts.config);
  const log = createLogger(cfg.LOG_LEVEL, cfg.LOG_FILE);
  const recordingsDir = mkdtempSync(path.join(tmpdir(), 'dialwell-rec-'));
  const app = `dialwell-it-${randomUUID().slice(0, 8)}`;
  const db = createDb(cfg.DATABASE_URL, 10);
  const ari = await AriGateway.connect(ariOptions(cfg, log, app));
  const policies = new PolicyResolver(db, 0);
  const dialer = new Dialer(db, ari, policies, new LocalRecordingStore(recordingsDir), log, {
    ...defaultDialerOptions,
    ...opts.dialer,
    agents: { ...defaultDialerOptions.agents, ...opts.dialer?.agents },
  });
  const redis: Redis = redisConnection(cfg.REDIS_URL);
  const workerRedis: Redis = redisConnection(cfg.REDIS_URL);
  const queueName = `dial-it-${randomUUID()}`;
  const address = await dialQueueAddress(db, queueName);
  const queue = createDialQueue(address, redis);
  dialer.onRescheduled = (id, at) => enqueueAttempt(queue, id, at);
  const worker = createDialWorker(address, workerRedis, opts.workerConcurrency ?? 8, dialer.process);
  return {
    cfg, db, ari, dialer, policies, queue, address, worker, recordingsDir, app,
    async close() {
      await dialer.close().catch(() => undefined);
      await worker.close();
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      redis.disconnect();
      workerRedis.disconnect();
      ari.close();
      await db.destroy();
    },
  };
}

export async function saveOpenPolicy(h: Harness): Promise<string> {
  const name = `open-${h.app}`;
  await savePolicy(h.db, openAllHours(name), 'test');
  return name;
}
