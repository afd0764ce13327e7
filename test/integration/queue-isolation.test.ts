// PostgreSQL is the record, Redis only transport (Asterisk, PostgreSQL, Redis, sipp): an attempt
// whose job was completed by a process that never dialed it is enqueued again once past its time,
// and dialed once; and two installations on one Redis with the same queue name never see each
// other's jobs (each has its own key prefix, from its installation id).
import { randomUUID } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { installationId } from '../../src/cluster/installation.js';
import { createDb, recreateDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { createDialQueue, createDialWorker, dialQueueAddress, enqueueAttempt, redisConnection, type DialJob } from '../../src/dialer/queue.js';
import { reconcileQueue } from '../../src/dialer/reconciler.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CARRIER = 6703;

describe('the queue answers to PostgreSQL', () => {
  let h: Harness;
  const sipps: Sipp[] = [];
  const log = createLogger('warn');

  beforeAll(async () => {
    h = await startHarness();
    // Tests choose who takes the jobs.
    await h.worker.close();
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 19200, pauseMs: 300 }));
  });

  afterAll(async () => {
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  it('re-enqueues an attempt whose job was completed without a dial, once past its time, and it is dialed once', async () => {
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(h.db, { name: `qi-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(h.db, h.ari, trunk.id);
    const callerId = await createCallerId(h.db, randomCallerNumber());
    const camp = await createCampaign(h.db, { name: `stale ${randomUUID()}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, recordCalls: false, state: 'running' });
    const phone = '+13055576001';
    const contact = await addContact(h.db, { campaignId: camp.id, phone });
    const id = (await createAttempt(h.db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() })).id;
    // Handed to the queue as the pacer does.
    const handed = await h.db.updateTable('attempts').set({ enqueued_at: new Date() }).where('id', '=', id).returning('scheduled_at').executeTakeFirstOrThrow();
    await enqueueAttempt(h.queue, id, handed.scheduled_at);

    // Something on the same keys that does not know this attempt completes its job.
    const foreignRedis = redisConnection(h.cfg.REDIS_URL);
    const foreign = createDialWorker(h.address, foreignRedis, 1, async () => ({ status: 'already-claimed' }));
    const jobId = async () => (await h.queue.getJobs(['completed', 'waiting', 'delayed', 'active'])).find((j) => j.data.attemptId === id);
    try {
      await until(async () => (await (await jobId())?.getState()) === 'completed', 10_000, 'the foreign worker to complete the job');
    } finally {
      await foreign.close();
      foreignRedis.disconnect();
    }
    expect((await h.db.selectFrom('attempts').where('id', '=', id).select('state').executeTakeFirstOrThrow()).state).toBe('queued');

    // Within the grace: left alone. Past it: the job is replaced, whatever Redis says.
    expect((await reconcileQueue(h.db, h.queue, log, { campaignIds: [camp.id], staleJobGraceMs: 60_000 })).reenqueued).toBe(0);
    expect((await reconcileQueue(h.db, h.queue, log, { campaignIds: [camp.id], staleJobGraceMs: 0 })).reenqueued).toBe(1);
    expect(await (await jobId())?.getState()).toBe('waiting');
    // A job waiting here is a job on its way: reconciling again adds nothing.
    expect((await reconcileQueue(h.db, h.queue, log, { campaignIds: [camp.id], staleJobGraceMs: 0 })).reenqueued).toBe(0);

    const redis = redisConnection(h.cfg.REDIS_URL);
    const worker = createDialWorker(h.address, redis, 2, h.dialer.process);
    try {
      await until(async () => (await h.db.selectFrom('calls').where('attempt_id', '=', id).select('id').execute()).length > 0, 20_000, 'the attempt to be dialed');
      await h.dialer.callDone(id);
    } finally {
      await worker.close();
      redis.disconnect();
    }
    const calls = await h.db.selectFrom('calls').where('attempt_id', '=', id).select(['outcome']).execute();
    // Dialed exactly once (no agent is logged in here: the answered customer is abandoned).
    expect(calls).toEqual([{ outcome: 'abandoned' }]);
    expect((await h.db.selectFrom('attempts').where('id', '=', id).select('state').executeTakeFirstOrThrow()).state).toBe('completed');
  }, 60_000);

  it('two installations on one Redis with the same queue name never take each other\'s jobs', async () => {
    const otherUrl = new URL(h.cfg.DATABASE_URL);
    otherUrl.pathname = `${otherUrl.pathname}_other`;
    await recreateDatabase(otherUrl.toString());
    const other = createDb(otherUrl.toString(), 2);
    const connections = [redisConnection(h.cfg.REDIS_URL), redisConnection(h.cfg.REDIS_URL), redisConnection(h.cfg.REDIS_URL)];
    const name = `dial-iso-${randomUUID()}`;
    try {
      await migrateToLatest(other);
      expect(await installationId(other)).not.toBe(await installationId(h.db));
      const mine = await dialQueueAddress(h.db, name);
      const theirs = await dialQueueAddress(other, name);
      expect(theirs.prefix).not.toBe(mine.prefix);

      const queue = createDialQueue(mine, connections[0]!);
      const seenByThem: string[] = [];
      const theirWorker = createDialWorker(theirs, connections[1]!, 4, async (job: Job<DialJob>) => seenByThem.push(job.data.attemptId));
      const attemptId = randomUUID();
      try {
        await enqueueAttempt(queue, attemptId);
        await new Promise((r) => setTimeout(r, 1500));
        expect(seenByThem).toEqual([]);
        expect(await queue.getJobCountByTypes('waiting')).toBe(1);
        // This installation's own worker takes it.
        const seenByUs: string[] = [];
        const ours: Worker<DialJob> = createDialWorker(mine, connections[2]!, 4, async (job: Job<DialJob>) => seenByUs.push(job.data.attemptId));
        try {
          await until(() => seenByUs.length === 1, 10_000, 'our worker to take the job');
        } finally {
          await ours.close();
        }
        expect(seenByUs).toEqual([attemptId]);
        expect(seenByThem).toEqual([]);
      } finally {
        await theirWorker.close();
        await queue.obliterate({ force: true });
        await queue.close();
      }
    } finally {
      for (const c of connections) c.disconnect();
      await other.destroy();
    }
  }, 60_000);
});
