// Recordings of calls whose dialer process was killed with SIGKILL while they were recorded: the
// calls end on Asterisk's side with nobody listening, the agents' bridges keep recording; a CDR
// reconciler in a fresh harness closes each call once from Asterisk's record and settles its
// recording: the one still in Asterisk's spool is stopped, stored (sha256 of the stored file
// equals its row's, duration within the time it was recorded) and Asterisk's copy deleted; the one
// whose file was deleted from the spool is flagged 'missing'; the one whose call was left 'pending'
// with a copy already in the store but no row (the insert failed while PostgreSQL was away) gets
// its row, once, over the same file. A second pass changes nothing.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { CdrReconciler } from '../../src/cdr/reconciler.js';
import { createDialQueue, dialQueueAddress, enqueueAttempt, redisConnection } from '../../src/dialer/queue.js';
import { createLogger } from '../../src/log.js';
import { recordingKey } from '../../src/recordings/recorder.js';
import { LocalRecordingStore } from '../../src/recordings/store.js';
import { readWavInfo } from '../../src/recordings/wav.js';
import type { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { sippInMediaRange } from '../helpers/sipp-ports.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// This file's SIP ports (7400-7449) and sipp media ports (5600-5999).
const CARRIER = 7400;
const AGENT_PORTS = [7410, 7411, 7412];
const TALK_MS = 4000;
const startSipp = sippInMediaRange(5600, 6000);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('recordings of calls whose dialer was killed (Asterisk 22, PostgreSQL, Redis, sipp)', () => {
  let h: Harness;
  let child: ChildProcess | null = null;
  const sipps: Sipp[] = [];
  const endpoints: string[] = [];

  beforeAll(async () => {
    h = await startHarness();
    await h.worker.close();
    // Customers answer after 300 ms of ringing and hang up TALK_MS later; the agents' softphones answer their login.
    sipps.push(await startSipp({ scenario: 'customer-answer.xml', port: CARRIER, pauseMs: TALK_MS }));
    for (const port of AGENT_PORTS) sipps.push(await startSipp({ scenario: 'agent-softphone.xml', port }));
  });
  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // The dead dialer's agents are still in their bridges: hang them up.
    if (h) {
      for (const c of await h.ari.listChannels().catch(() => [])) {
        if (endpoints.some((e) => c.name.includes(e))) await h.ari.hangup(c.id).catch(() => undefined);
      }
      await h.close();
    }
    for (const s of sipps) await s.stop();
  });

  it('stores the recording left in Asterisk\'s spool, flags the one whose file is gone, once', async () => {
    const { db, ari } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `rr-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(db, ari, trunk.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `rr ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: true, state: 'running' });
    const agentIds: string[] = [];
    for (const [i, port] of AGENT_PORTS.entries()) {
      const endpoint = `rr-agent${i}-${h.app.slice(-8)}`;
      const a = await createAgent(db, { name: `Rec Agent ${i}`, endpoint, contactUri: `sip:127.0.0.1:${port}` });
      await syncAgent(db, ari, a.id);
      agentIds.push(a.id);
      endpoints.push(endpoint);
    }
    const attempts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const phone = `+1305559${String(4000 + i)}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      attempts.push((await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    const queueName = `dial-rr-${randomUUID()}`;
    const redis = redisConnection(h.cfg.REDIS_URL);
    const queue = createDialQueue(await dialQueueAddress(h.db, queueName), redis);
    try {
      // The dialer process: its own ARI application and recordings directory; its agents logged in.
      child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/dial-worker-process.ts')], {
        cwd: root,
        env: {
          ...process.env, DATABASE_URL: h.cfg.DATABASE_URL, LOG_LEVEL: 'warn', DIAL_QUEUE: queueName, DIAL_WORKER_CONCURRENCY: '3',
          ARI_APP: `dialwell-rr-${h.app.slice(-8)}`, CDR_CAMPAIGN_IDS: camp.id, LOGIN_AGENT_IDS: agentIds.join(','), RECORDINGS_DIR: h.recordingsDir,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      await until(() => out.includes('ready'), 40_000, 'the dialer process to start with its agents logged in');
      for (const id of attempts) await enqueueAttempt(queue, id);
      // Both customers joined to an agent and recorded; then the dialer dies mid-call.
      await until(async () => {
        const rows = await db.selectFrom('calls').where('campaign_id', '=', camp.id).where('bridged_at', 'is not', null).select('id').execute();
        return rows.length === 3;
      }, 30_000, 'every customer to be joined to an agent');
      await new Promise((r) => setTimeout(r, 1000));
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
      expect(child.signalCode).toBe('SIGKILL');
      const calls = await db.selectFrom('calls').where('campaign_id', '=', camp.id).selectAll().orderBy('phone').execute();
      expect(calls.map((c) => [c.ended_at, c.recording_status])).toEqual([[null, null], [null, null], [null, null]]);
      const [kept, lost, pending] = calls as [typeof calls[0], typeof calls[0], typeof calls[0]];

      // The customers hang up; the agents stay in their bridges, still recorded: nobody stops the recordings.
      await until(async () => {
        const live = new Set(await ari.channelIds());
        return calls.every((c) => !live.has(c.channel_id));
      }, 30_000, 'the customers to hang up');
      const customersGone = Date.now();
      expect(await ari.liveRecording(`call-${kept.id}`)).not.toBeNull();
      // The second call's file is lost from Asterisk's spool.
      await ari.stopRecording(`call-${lost.id}`);
      await until(() => ari.storedRecordingExists(`call-${lost.id}`), 10_000, 'the stopped recording to be stored by Asterisk');
      await ari.deleteStoredRecording(`call-${lost.id}`);
      // The third as if its call had ended while PostgreSQL was away: the session marked it pending
      // and put the file in the store, then the row insert failed (Asterisk's copy stays until a row exists).
      await ari.stopRecording(`call-${pending.id}`);
      await until(() => ari.storedRecordingExists(`call-${pending.id}`), 10_000, 'the third recording to be stored by Asterisk');
      const pendingKey = recordingKey(`call-${pending.id}`, pending.bridged_at!);
      await new LocalRecordingStore(h.recordingsDir).put(pendingKey, await ari.downloadStoredRecording(`call-${pending.id}`));
      await db.updateTable('calls').set({ recording_status: 'pending' }).where('id', '=', pending.id).execute();

      // A fresh reconciler (another process's, as after a restart).
      const reconciler = () => new CdrReconciler(db, ari, null, createLogger('silent'), {
        celFile: h.cfg.ASTERISK_CEL_FILE, graceMs: 0, settleMs: 0, campaignIds: [camp.id],
        recordingStore: new LocalRecordingStore(h.recordingsDir), recordings: { graceMs: 0 },
      });
      const first = await reconciler().reconcile();
      const reconciledAt = Date.now();
      expect(first).toMatchObject({ open: 3, closedFromCel: 3, recordings: { looked: 3, stored: 2, missing: 1, failed: 0, retry: 0 } });

      const rows = await db.selectFrom('calls').where('campaign_id', '=', camp.id).selectAll().orderBy('phone').execute();
      expect(rows).toHaveLength(3); // one CDR per call, closed once
      for (const r of rows) {
        expect(r.ended_at).not.toBeNull();
        expect(r.reconciled_from).toBe('asterisk-cel');
        expect(r.outcome).toBe('answered');
      }
      const [k, l, p] = rows as [typeof rows[0], typeof rows[0], typeof rows[0]];
      expect(k.recording_status).toBe('stored');
      expect(l.recording_status).toBe('missing');
      expect(l.recording_id).toBeNull();
      const recs = await db.selectFrom('recordings').where('call_id', 'in', [k.id, l.id, p.id]).selectAll().execute();
      expect(recs.map((r) => r.call_id).sort()).toEqual([k.id, p.id].sort());
      const rec = recs.find((r) => r.call_id === k.id)!;
      expect(rec.id).toBe(k.recording_id);
      expect(rec.name).toBe(`call-${k.id}`);
      // The stored file is the row's: hash, size and duration.
      const file = readFileSync(path.join(h.recordingsDir, rec.storage_key));
      expect(sha(file)).toBe(rec.sha256);
      expect(file.length).toBe(Number(rec.size_bytes));
      expect(readWavInfo(file).durationMs).toBe(rec.duration_ms);
      // Recorded from the join until the reconciler stopped it (the agent stayed in the bridge).
      const joined = k.bridged_at!.getTime();
      expect(rec.duration_ms).toBeGreaterThan(customersGone - joined - 2000);
      expect(rec.duration_ms).toBeLessThan(reconciledAt - joined + 2000);
      // Asterisk's copy is gone once ours is safe.
      expect(await ari.storedRecordingExists(rec.name)).toBe(false);
      expect(await ari.liveRecording(rec.name)).toBeNull();

      // The pending one: its row describes the copy already in the store, and no second file was made.
      const pRec = recs.find((r) => r.call_id === p.id)!;
      expect(p.recording_status).toBe('stored');
      expect(p.recording_id).toBe(pRec.id);
      expect(pRec.storage_key).toBe(pendingKey);
      expect(sha(readFileSync(path.join(h.recordingsDir, pRec.storage_key)))).toBe(pRec.sha256);
      const storeKeys: string[] = [];
      for await (const key of new LocalRecordingStore(h.recordingsDir).list()) storeKeys.push(key);
      expect(storeKeys.filter((key) => key.includes(p.id))).toEqual([pendingKey]);
      expect(await ari.storedRecordingExists(pRec.name)).toBe(false);

      // Again: nothing left to close or settle, nothing written twice.
      const again = await reconciler().reconcile();
      expect(again).toMatchObject({ open: 0, closedFromCel: 0, recordings: { looked: 0, stored: 0, missing: 0 } });
      const after = await db.selectFrom('calls').where('campaign_id', '=', camp.id).selectAll().orderBy('phone').execute();
      expect(after).toEqual(rows);
      expect(await db.selectFrom('recordings').where('call_id', 'in', [k.id, l.id, p.id]).select('id').execute()).toHaveLength(2);
      process.stdout.write(`recording-recovery: recording of ${rec.duration_ms} ms recovered (${rec.size_bytes} bytes), one pending one stored, one flagged missing\n`);
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      redis.disconnect();
    }
  }, 120_000);
});
