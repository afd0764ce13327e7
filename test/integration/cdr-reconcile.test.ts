// A dialer process killed with SIGKILL while its calls are up: the calls end on Asterisk's side
// with nobody listening; a fresh dialer process reconciles at start. Asterisk's own record (the
// Cdr events this test hears over AMI the whole time) is the reference: every call Asterisk saw
// on the campaign's trunk has exactly one CDR row, closed, with Asterisk's hangup cause and end
// time. Also: a call placed on the trunk behind Dialwell's back is kept as an orphan, a call
// row whose originate never happened is closed as such, and a call the reconciler closes gets
// the retry its campaign's rules ask for, as one closed live does.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { CdrReconciler } from '../../src/cdr/reconciler.js';
import { CallWriter, closeCall, insertCall } from '../../src/cdr/cdr.repository.js';
import { createDialQueue, dialQueueAddress, enqueueAttempt, redisConnection } from '../../src/dialer/queue.js';
import { createLogger } from '../../src/log.js';
import { AmiGateway, type AmiCdr } from '../../src/pbx/ami.js';
import { trunkDialString, trunkNameOfChannel } from '../../src/pbx/pjsip-config.js';
import { Sipp } from '../../src/sim/sipp.js';
import { until } from '../helpers/engine-harness.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { randomCallerNumber } from '../helpers/env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CARRIER = 5400;
const CALLS = 12;
const TALK_MS = 3000;

describe('CDRs after a dialer process is killed with calls up', () => {
  let h: Harness;
  let ami: AmiGateway;
  const children: ChildProcess[] = [];
  const sipps: Sipp[] = [];
  /** Asterisk's own record, as cdr_manager sends it, by uniqueid. */
  const asteriskCdrs = new Map<string, AmiCdr>();
  /** The Q.850 cause Asterisk reported for each channel's hangup. */
  const asteriskCauses = new Map<string, number>();

  beforeAll(async () => {
    h = await startHarness();
    await h.worker.close();
    // Customers answer after 300 ms of ringing and hang up TALK_MS later.
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 20000, pauseMs: TALK_MS }));
    const started = AmiGateway.start({ host: h.cfg.AMI_HOST, port: h.cfg.AMI_PORT, user: h.cfg.AMI_USER, password: h.cfg.AMI_PASSWORD, log: createLogger('silent'), eventClasses: 'cdr,call' });
    ami = started.ami;
    ami.on('cdr', (c) => asteriskCdrs.set(c.uniqueId, c));
    ami.on('hangup', (e) => asteriskCauses.set(e.uniqueId, e.cause));
    await started.ready;
    // The shared Asterisk must run this tree's configuration (CEL on, written by cel_custom).
    const cel = await ami.command('cel show status');
    if (!/CEL Logging: Enabled/.test(cel) || !/CEL Tracking Event: HANGUP/.test(cel) || !/CEL Tracking Event: CHAN_START/.test(cel) || !/CEL Custom/.test(cel)) {
      throw new Error(`Asterisk runs without Dialwell's CEL configuration (asterisk-config/cel.conf, cel_custom.conf): run \`bash scripts/stack.sh up\` from this tree. It said:\n${cel}`);
    }
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    ami?.close();
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  function spawnWorker(env: Record<string, string>): { child: ChildProcess; ready: Promise<void> } {
    // node with tsx's loader, not the tsx CLI: its wrapper would die and leave the real worker running.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/helpers/dial-worker-process.ts')], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: h.cfg.DATABASE_URL, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    return { child, ready: until(() => out.includes('ready'), 30_000, 'the dialer process to start') };
  }

  it('every call Asterisk saw has exactly one closed CDR, from Asterisk\'s record where the dialer was gone', async () => {
    const { db, ari } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `cdr-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(db, ari, trunk.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `cdr ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'running' });
    const attempts: string[] = [];
    const phones: string[] = [];
    for (let i = 0; i < CALLS + 1; i++) {
      const phone = `+1305558${String(1000 + i)}`;
      const c = await addContact(db, { campaignId: camp.id, phone });
      phones.push(phone);
      attempts.push((await createAttempt(db, { campaignId: camp.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
    }
    const neverOriginated = attempts.pop()!; // not dialed: its call row is written after the kill
    const queueName = `dial-cdr-${randomUUID()}`;
    const redis = redisConnection(h.cfg.REDIS_URL);
    const queue = createDialQueue(await dialQueueAddress(db, queueName), redis);
    const env = { DIAL_QUEUE: queueName, DIAL_WORKER_CONCURRENCY: String(CALLS), CDR_CAMPAIGN_IDS: camp.id, CDR_RECONCILE_GRACE_MS: '0', CDR_RECONCILE_SETTLE_MS: '0' };
    try {
      const first = spawnWorker({ ...env, ARI_APP: `dialwell-cdr-${h.app.slice(-8)}` });
      await first.ready;
      for (const id of attempts) await enqueueAttempt(queue, id);
      // Kill the dialer once every customer has answered: the calls are up, nobody listens to them.
      await until(async () => {
        const rows = await db.selectFrom('calls').where('campaign_id', '=', camp.id).where('answered_at', 'is not', null).select('id').execute();
        return rows.length >= CALLS;
      }, 20_000, 'every customer to answer');
      first.child.kill('SIGKILL');
      await new Promise((r) => first.child.once('exit', r));
      expect(first.child.signalCode).toBe('SIGKILL');

      // The last attempt: as if a process died between writing the call row and originating.
      await db.updateTable('attempts').set({ state: 'dialing', dialed_at: new Date() }).where('id', '=', neverOriginated).execute();
      const ghostChannel = randomUUID();
      await insertCall(db, { attemptId: neverOriginated, campaignId: camp.id, contactId: (await db.selectFrom('attempts').where('id', '=', neverOriginated).select('contact_id').executeTakeFirstOrThrow()).contact_id, phone: phones[CALLS]!, callerId: cid.number, trunkId: trunk.id, channelId: ghostChannel });

      // A call on the campaign's trunk that Dialwell never wrote (placed straight through ARI).
      const orphanChannel = randomUUID();
      await ari.originate({ endpoint: trunkDialString('+13055589999', trunk.name), channelId: orphanChannel, app: ari.app });

      const openAtKill = await db.selectFrom('calls').where('campaign_id', '=', camp.id).where('ended_at', 'is', null).select(['id', 'channel_id']).execute();
      // Every dialed call plus the ghost row were open when the process died.
      expect(openAtKill.length).toBe(CALLS + 1);

      // The calls end on Asterisk's side (the customers hang up) with no dialer listening.
      const ourTrunk = (c: AmiCdr) => trunkNameOfChannel(c.channel) === trunk.name;
      await until(async () => {
        const live = new Set(await ari.channelIds());
        return openAtKill.every((c) => !live.has(c.channel_id)) && !live.has(orphanChannel) && asteriskCdrs.has(orphanChannel);
      }, 30_000, 'the calls to end on Asterisk');
      await new Promise((r) => setTimeout(r, 500)); // the last Cdr events
      const seen = [...asteriskCdrs.values()].filter(ourTrunk);
      expect(seen.length).toBe(CALLS + 1); // the dialed calls and the orphan

      // A fresh dialer process: its start-up reconciliation closes what the dead one left open.
      const second = spawnWorker({ ...env, DIAL_QUEUE: `${queueName}-2`, ARI_APP: `dialwell-cdr2-${h.app.slice(-8)}` });
      const t0 = Date.now();
      await second.ready;
      const restartMs = Date.now() - t0;
      second.child.kill('SIGTERM');

      const rows = await db.selectFrom('calls').where('campaign_id', '=', camp.id).selectAll().execute();
      const byChannel = new Map(rows.map((r) => [r.channel_id, r]));
      // Every call Asterisk saw on the trunk (but the orphan) has exactly one CDR, closed, with Asterisk's cause.
      for (const cdr of seen) {
        if (cdr.uniqueId === orphanChannel) continue;
        const matching = rows.filter((r) => r.channel_id === cdr.uniqueId);
        expect(matching, `CDR rows for channel ${cdr.uniqueId}`).toHaveLength(1);
        const row = matching[0]!;
        expect(row.ended_at).not.toBeNull();
        // Asterisk's own cause for the channel (for a customer's BYE to a channel in Stasis, Asterisk 22 reports 0).
        expect(row.hangup_cause).not.toBeNull();
        expect(row.hangup_cause).toBe(asteriskCauses.get(cdr.uniqueId));
        expect(row.reconciled_from).toBe('asterisk-cel');
        expect(row.asterisk_uniqueid).toBe(cdr.uniqueId);
        expect(row.outcome).toBe('abandoned'); // answered; no agent (none logged in, then the dialer was gone)
        // Asterisk's end time (the Cdr has whole seconds).
        expect(Math.abs(row.ended_at!.getTime() - cdr.endTime!.getTime())).toBeLessThan(1500);
        expect(row.answered_at).not.toBeNull();
        expect(row.ended_at!.getTime() - row.answered_at!.getTime()).toBeGreaterThan(TALK_MS - 1000);
        expect(row.hold_ms).toBeNull(); // not observed while nobody listened
      }
      // None missing, none extra: the rows are Asterisk's calls plus the one that never reached it.
      expect(rows).toHaveLength(CALLS + 1);
      expect(new Set(rows.map((r) => r.attempt_id)).size).toBe(CALLS + 1);
      const ghost = byChannel.get(ghostChannel)!;
      expect(ghost.reconciled_from).toBe('no-record');
      expect(ghost.outcome).toBe('failed');
      expect(ghost.ended_at).not.toBeNull();
      expect(ghost.hangup_cause_text).toMatch(/never reached Asterisk/);
      const attemptStates = await db.selectFrom('attempts').where('campaign_id', '=', camp.id).select(['state', 'outcome']).execute();
      expect(attemptStates.filter((a) => a.state === 'dialing')).toHaveLength(0);

      // The call Dialwell never wrote is kept apart, not given a CDR of its own.
      const orphans = await db.selectFrom('asterisk_orphan_calls').where('trunk_id', '=', trunk.id).selectAll().execute();
      expect(orphans.map((o) => o.uniqueid)).toEqual([orphanChannel]);
      expect(byChannel.has(orphanChannel)).toBe(false);

      // Again: nothing left to close, nothing closed twice.
      const again = await new CdrReconciler(db, ari, null, createLogger('silent'), { celFile: h.cfg.ASTERISK_CEL_FILE, graceMs: 0, settleMs: 0, campaignIds: [camp.id] }).reconcile();
      expect(again).toMatchObject({ open: 0, closedFromCel: 0, closedFromCdr: 0, closedNoRecord: 0, settling: 0, orphans: 0 });
      process.stdout.write(`cdr-reconcile: ${CALLS} calls killed in flight, all closed from Asterisk's CEL record; restart with reconciliation ${restartMs} ms\n`);
    } finally {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      redis.disconnect();
    }
  }, 90_000);

  it('while a dialer runs: a call whose end it missed is closed from the AMI Cdr event, once', async () => {
    const { db, ari } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `cdr2-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    await syncTrunk(db, ari, trunk.id);
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `cdr2 ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: false, state: 'running' });
    const phone = '+13055582000';
    const contact = await addContact(db, { campaignId: camp.id, phone });
    const attempt = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    await db.updateTable('attempts').set({ state: 'dialing', dialed_at: new Date() }).where('id', '=', attempt.id).execute();
    // What the dialer does (row, then originate), with no session to see the channel's end:
    // as when the events were lost. AMI only: no CEL file.
    const reconciler = new CdrReconciler(db, ari, ami, createLogger('silent'), { celFile: null, graceMs: 0, settleMs: 500, amiBatchMs: 200, campaignIds: [camp.id] });
    reconciler.start();
    try {
      const channelId = randomUUID();
      await insertCall(db, { attemptId: attempt.id, campaignId: camp.id, contactId: contact.id, phone, callerId: cid.number, trunkId: trunk.id, channelId });
      await ari.originate({ endpoint: trunkDialString(phone, trunk.name), channelId, app: ari.app });
      await until(async () => {
        const row = await db.selectFrom('calls').where('channel_id', '=', channelId).select('ended_at').executeTakeFirstOrThrow();
        return row.ended_at !== null;
      }, 20_000, 'the call to be closed from its Cdr event');
      const row = await db.selectFrom('calls').where('channel_id', '=', channelId).selectAll().executeTakeFirstOrThrow();
      const cdr = asteriskCdrs.get(channelId)!;
      expect(row.reconciled_from).toBe('asterisk-cdr');
      expect(row.asterisk_disposition).toBe('ANSWERED');
      expect(row.asterisk_uniqueid).toBe(channelId);
      expect(row.ended_at!.getTime()).toBe(cdr.endTime!.getTime());
      expect(row.answered_at!.getTime()).toBe(cdr.answerTime!.getTime());
      expect(row.hangup_cause).toBeNull(); // a Cdr carries no Q.850 cause: not invented
      expect(row.hangup_cause_text).toBe('Asterisk CDR: ANSWERED');
      expect(row.outcome).toBe('abandoned');
      const a = await db.selectFrom('attempts').where('id', '=', attempt.id).select(['state', 'outcome']).executeTakeFirstOrThrow();
      expect(a).toEqual({ state: 'completed', outcome: 'abandoned' });
      // A second pass finds nothing to do.
      expect(await reconciler.reconcile()).toMatchObject({ open: 0, closedFromCdr: 0 });
      expect(await db.selectFrom('calls').where('attempt_id', '=', attempt.id).select('id').execute()).toHaveLength(1);
    } finally {
      reconciler.stop();
    }
  }, 40_000);

  it('no end in Asterisk\'s record: a call is "lost", not "never placed", unless the record shows it never started', async () => {
    const { db, ari } = h;
    const trunk = await createTrunk(db, { name: `cdr3-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, { name: `cdr3 ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, state: 'running' });
    const row = async (phone: string) => {
      const contact = await addContact(db, { campaignId: camp.id, phone });
      const attempt = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
      const channelId = randomUUID();
      await insertCall(db, { attemptId: attempt.id, campaignId: camp.id, contactId: contact.id, phone, callerId: cid.number, trunkId: trunk.id, channelId });
      return channelId;
    };
    const [crashed, answeredThenCrashed] = [await row('+13055583000'), await row('+13055583001')];
    await row('+13055583002');
    await db.updateTable('calls').set({ answered_at: new Date() }).where('channel_id', '=', answeredThenCrashed).execute();
    const reconcile = async (lines: object[]) => {
      const celFile = path.join(mkdtempSync(path.join(tmpdir(), 'cel-')), 'dialwell-cel.jsonl');
      writeFileSync(celFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      return new CdrReconciler(db, ari, null, createLogger('silent'), { celFile, graceMs: 0, settleMs: 0, campaignIds: [camp.id] }).reconcile();
    };
    const at = (s: number) => Date.now() / 1000 + s;
    const ev = (eventtype: string, eventtime: number, uniqueid: string) => ({ eventtype, eventtime, uniqueid, linkedid: uniqueid, channame: 'PJSIP/trunk-x-00000001', eventextra: '{}' });

    // CEL stopped before the calls were written (CEL off): nothing can be said about any of them.
    expect(await reconcile([ev('HANGUP', at(-60), 'other')])).toMatchObject({ open: 3, closedNoRecord: 3 });
    const first = await db.selectFrom('calls').where('campaign_id', '=', camp.id).select(['channel_id', 'hangup_cause_text', 'reconciled_from', 'ended_at', 'outcome']).execute();
    for (const r of first) {
      expect(r.reconciled_from).toBe('no-record');
      expect(r.ended_at).not.toBeNull();
      expect(r.hangup_cause_text).toMatch(/^lost: .*CEL was off/);
    }
    expect(first.find((r) => r.channel_id === answeredThenCrashed)?.outcome).toBe('abandoned');
    expect(first.find((r) => r.channel_id === crashed)?.outcome).toBe('failed');
    // Closed once: a second pass with a complete record changes nothing.
    expect(await reconcile([ev('CHAN_START', at(-1), crashed), ev('HANGUP', at(0), crashed)])).toMatchObject({ open: 0, closedFromCel: 0 });

    // A record that covers the calls: started without an end (Asterisk killed) is "lost"; no start at all is "never reached".
    const [c2, g2] = [await row('+13055583003'), await row('+13055583004')];
    expect(await reconcile([ev('CHAN_START', at(-1), c2), ev('HANGUP', at(1), 'other')])).toMatchObject({ open: 2, closedNoRecord: 2 });
    const second = new Map((await db.selectFrom('calls').where('channel_id', 'in', [c2, g2]).select(['channel_id', 'hangup_cause_text', 'asterisk_uniqueid']).execute()).map((r) => [r.channel_id, r]));
    expect(second.get(c2)?.hangup_cause_text).toMatch(/^lost: Asterisk had the channel but kept no record of its end/);
    expect(second.get(c2)?.asterisk_uniqueid).toBe(c2);
    expect(second.get(g2)?.hangup_cause_text).toMatch(/^never reached Asterisk/);
  });

  it('a call closed from Asterisk\'s record gets its retry, as one closed live does; a late live close adds none', async () => {
    const { db, ari } = h;
    const trunk = await createTrunk(db, { name: `cdr4-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER });
    const cid = await createCallerId(db, randomCallerNumber());
    const camp = await createCampaign(db, {
      name: `cdr4 ${h.app}`, trunkId: trunk.id, callerIdId: cid.id, state: 'running', retry: { busy: { afterMinutes: 10, maxAttempts: 2 } },
    });
    const phone = '+13055584000';
    const contact = await addContact(db, { campaignId: camp.id, phone });
    const dialed = async (attemptId: string) => {
      await db.updateTable('attempts').set({ state: 'dialing', dialed_at: new Date() }).where('id', '=', attemptId).execute();
      const channelId = randomUUID();
      const callId = await insertCall(db, { attemptId, campaignId: camp.id, contactId: contact.id, phone, callerId: cid.number, trunkId: trunk.id, channelId });
      return { callId, channelId };
    };
    const first = await createAttempt(db, { campaignId: camp.id, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    const call = await dialed(first.id);
    // Asterisk's record: the customer was busy (cause 17), and nobody listened to the channel's end.
    const celFile = path.join(mkdtempSync(path.join(tmpdir(), 'cel-')), 'dialwell-cel.jsonl');
    const now = Date.now() / 1000;
    const line = (eventtype: string, eventtime: number, extra: object) =>
      JSON.stringify({ eventtype, eventtime, uniqueid: call.channelId, linkedid: call.channelId, channame: `PJSIP/${trunk.name}-00000001`, eventextra: JSON.stringify(extra) });
    writeFileSync(celFile, [line('CHAN_START', now - 2, {}), line('HANGUP', now - 1, { hangupcause: 17, hangupsource: '', dialstatus: 'BUSY' })].join('\n') + '\n');
    const reconciler = new CdrReconciler(db, ari, null, createLogger('silent'), { celFile, graceMs: 0, settleMs: 0, campaignIds: [camp.id] });
    expect(await reconciler.reconcile()).toMatchObject({ open: 1, closedFromCel: 1 });
    const row = await db.selectFrom('calls').where('id', '=', call.callId).selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ outcome: 'busy', hangup_cause: 17, reconciled_from: 'asterisk-cel' });
    const attemptsOf = () => db.selectFrom('attempts').where('contact_id', '=', contact.id).select(['id', 'state', 'outcome', 'scheduled_at', 'idempotency_key']).orderBy('created_at').execute();
    let attempts = await attemptsOf();
    // The attempt's outcome, as a live close writes it, and the retry the busy rule asks for, 10 minutes after Asterisk's end.
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ id: first.id, state: 'completed', outcome: 'busy' });
    expect(attempts[1]).toMatchObject({ state: 'queued', outcome: null, idempotency_key: `${camp.id}:${contact.id}:retry:2` });
    expect(attempts[1]!.scheduled_at.getTime() - row.ended_at!.getTime()).toBe(10 * 60_000);

    // The live session's close, arriving after the reconciler's: that close stands, and no second retry is made.
    const late = await new CallWriter(db).close({
      callId: call.callId, attemptId: first.id, endedAt: new Date(), ringingAt: null, hangupCause: 17, hangupCauseText: 'late', outcome: 'busy',
      attemptState: 'completed', ringMs: null, talkMs: null, holdMs: null, endedBy: 'customer', recordingStatus: null,
    });
    expect(late).toBe(false);
    expect(await attemptsOf()).toHaveLength(2);

    // The retry is dialed and is busy again: closed live this time; at the rule's 2 attempts there is no third.
    const retry = await dialed(attempts[1]!.id);
    // A closer that no longer holds the lease it works under writes nothing (fencing).
    const set = { ended_at: new Date(), hangup_cause: 17, outcome: 'busy' };
    expect(await closeCall(db, retry.callId, attempts[1]!.id, set, { state: 'completed', outcome: 'busy' }, { lease: `not-held-${randomUUID()}`, owner: 'nobody', epoch: 1 })).toBe(false);
    expect((await db.selectFrom('calls').where('id', '=', retry.callId).select('ended_at').executeTakeFirstOrThrow()).ended_at).toBeNull();
    const closed = await new CallWriter(db).close({
      callId: retry.callId, attemptId: attempts[1]!.id, endedAt: new Date(), ringingAt: null, hangupCause: 17, hangupCauseText: 'busy', outcome: 'busy',
      attemptState: 'completed', ringMs: null, talkMs: null, holdMs: null, endedBy: 'customer', recordingStatus: null,
    });
    expect(closed).toBe(true);
    attempts = await attemptsOf();
    expect(attempts.map((a) => [a.state, a.outcome])).toEqual([['completed', 'busy'], ['completed', 'busy']]);
  });
});
