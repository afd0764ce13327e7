// A dial worker process killed with SIGKILL in the middle of a burst of dials: BullMQ hands its
// stalled jobs to another worker, which dials nothing twice; the reconciler releases attempts the
// dead worker had reserved but not originated, and they are dialed once.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { createDialQueue, createDialWorker, dialQueueAddress, enqueueAttempt, redisConnection } from '../../src/dialer/queue.js';
import { reconcileQueue } from '../../src/dialer/reconciler.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CARRIER = 5391;
const CALLS = 40;

describe('a dial worker killed mid-dial', () => {
  let h: Harness;
  let child: ChildProcess | null = null;
  const sipps: Sipp[] = [];
  const log = createLogger('warn', testConfig().LOG_FILE);

  beforeAll(async () => {
    h = await startHarness();
    await h.worker.close();
    // Customers answer and hang up 1 s later (no agents are logged in: abandoned).
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 18300, pauseMs: 1000 }));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  it('dials every attempt at most once across the kill, and each in the end exactly once', async () => {
    const { db, ari } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `wk-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(db, ari, trunk.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `kill ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'running' });
    const ids: string[] = [];
    for (let i = 0; i < CALLS; i++) {
      const phone = `+1305557${String(6000 + i)}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      ids.push((await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    const queueName = `dial-kill-${randomUUID()}`;
    const connections = [redisConnection(h.cfg.REDIS_URL), redisConnection(h.cfg.REDIS_URL)];
    const address = await dialQueueAddress(db, queueName);
    const queue = createDialQueue(address, connections[0]!);
    try {
      // The worker process: its own ARI application, the same database and queue.
      // One process (node with tsx's loader), not the tsx CLI: its wrapper would die and leave
      // the real worker running.
      child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/dial-worker-process.ts')], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: h.cfg.DATABASE_URL, DIAL_QUEUE: queueName, ARI_APP: `dialwell-kill-${h.app.slice(-8)}`, DIAL_WORKER_CONCURRENCY: '1', DIAL_JOB_LOCK_MS: '2000', LOG_LEVEL: 'warn' },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await until(() => out.includes('ready'), 30_000, 'the worker process to start');
      for (const id of ids) await enqueueAttempt(queue, id);
      // Kill it once a few calls are up and most attempts still wait.
      for (const end = Date.now() + 20_000; Date.now() < end; ) {
        const n = await db.selectFrom('calls').where('campaign_id', '=', camp.id).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
        if (Number(n.n) >= 3) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      child.stdout?.destroy();
      expect(child.signalCode).toBe('SIGKILL');
      const atKill = await db.selectFrom('calls').where('campaign_id', '=', camp.id).select('attempt_id').execute();
      expect(atKill.length).toBeLessThan(CALLS);

      // Another worker takes over the stalled and waiting jobs; then the reconciler.
      const worker = createDialWorker(address, connections[1]!, 4, h.dialer.process, 2000);
      try {
        await reconcileQueue(db, queue, log, { undialedGraceMs: 0, campaignIds: [camp.id] });
        await until(async () => {
          const queued = await db.selectFrom('attempts').where('campaign_id', '=', camp.id).where('state', '=', 'queued').select('id').execute();
          if (queued.length > 0) await reconcileQueue(db, queue, log, { undialedGraceMs: 0, campaignIds: [camp.id] });
          const calls = await db.selectFrom('calls').where('campaign_id', '=', camp.id).select('id').execute();
          return queued.length === 0 && calls.length >= CALLS;
        }, 60_000, 'every attempt to be dialed');
      } finally {
        await worker.close();
      }
      const calls = await db.selectFrom('calls').where('campaign_id', '=', camp.id).select('attempt_id').execute();
      // Exactly one call per attempt: nothing was dialed twice, nothing was lost.
      expect(calls).toHaveLength(CALLS);
      expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(CALLS);
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      for (const c of connections) c.disconnect();
    }
  }, 120_000);
});
