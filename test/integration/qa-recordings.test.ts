// Recordings and QA on the real stack: a sipp customer answers, hears the campaign's recording
// announcement, is joined to a sipp agent softphone and recorded; QA finds the call by search,
// plays the audio with Range requests (bytes equal the file's slices; the full download's
// sha256 equals the metadata; plays and downloads audited), `dialwell recordings verify` passes,
// then reports a tampered and a missing file; `dialwell recordings purge` removes the recording
// past its retention; a review is scored and summarised, a complaint worked; and every route's
// permissions per role (qa, agent own only, supervisor read, qa changes no configuration).
import { spawnSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncAgent, syncTrunk } from '../../src/admin/pbx-sync.js';
import { enqueueAttempt } from '../../src/dialer/queue.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { addWorkingDays } from '../../src/qa/working-days.js';
import { readWavInfo } from '../../src/recordings/wav.js';
import { LocalRecordingStore } from '../../src/recordings/store.js';
import type { Sipp } from '../../src/sim/sipp.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber } from '../helpers/env.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';
import { sippInMediaRange } from '../helpers/sipp-ports.js';

// This file's SIP ports (5450-5499) and sipp media ports (21000-21999).
const CUSTOMER_PORT = 5450;
const AGENT_PORT = 5460;
const TALK_MS = 6000;
const CUSTOMER_PHONE = '+13055550177';
// "This conference is now being recorded": about 2.3 s, longer than the 2 s connect timeout.
const ANNOUNCEMENT = 'sound:conf-now-recording';

/** sipp on a free media port of this file's range (21000-21999). */
const startSipp = sippInMediaRange(21000, 22000);

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dialwell.js');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('recordings and QA review (Asterisk 22, PostgreSQL, Redis, sipp)', () => {
  let h: Harness;
  let app: FastifyInstance;
  let customer: Sipp;
  let agentPhone: Sipp;
  const more: Sipp[] = [];
  let admin: Api;
  let qa: Api;
  let qaNumbers: Api;
  let supervisor: Api;
  let agentUser: Api;
  let otherAgentUser: Api;
  let campaignId: string;
  let agentId: string;
  let callId: string;
  let attemptId: string;
  let recording: { id: string; storage_key: string; sha256: string; size_bytes: number; duration_ms: number };
  let file: Buffer;
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], {
      env: { ...process.env, DATABASE_URL: h.cfg.DATABASE_URL, RECORDINGS_DIR: h.recordingsDir, LOG_LEVEL: 'warn' },
      encoding: 'utf8',
      timeout: 60_000,
    });

  beforeAll(async () => {
    h = await startHarness({ dialer: { connectTimeoutMs: 2000 } });
    app = await buildServer({ db: h.db, policies: h.policies, log: createLogger('silent'), recordings: new LocalRecordingStore(h.recordingsDir) });
    customer = await startSipp({ scenario: 'customer-answer.xml', port: CUSTOMER_PORT, pauseMs: TALK_MS, maxCalls: 1 });
    agentPhone = await startSipp({ scenario: 'agent-softphone.xml', port: AGENT_PORT });
  });

  afterAll(async () => {
    await app?.close();
    await h?.close();
    await customer?.stop();
    await agentPhone?.stop();
    for (const s of more) await s.stop();
  });

  it('records an answered call after the announcement, within the 2 s join rule', async () => {
    const { db, ari, dialer, queue } = h;
    const policyName = await saveOpenPolicy(h);
    const trunk = await createTrunk(db, { name: `qa-${h.app}`, host: '127.0.0.1', port: CUSTOMER_PORT });
    await syncTrunk(db, ari, trunk.id);
    const callerId = await createCallerId(db, randomCallerNumber(), 'qa line');
    const agent = await createAgent(db, { name: 'Quinn Agent', endpoint: `qa-agent-${h.app.slice(-8)}`, contactUri: `sip:127.0.0.1:${AGENT_PORT}` });
    agentId = agent.id;
    await syncAgent(db, ari, agent.id);
    const otherAgent = await createAgent(db, { name: 'Other Agent', endpoint: `qa-other-${h.app.slice(-8)}`, contactUri: 'sip:127.0.0.1:5499' });

    admin = await apiAs(app, h.db, 'admin');
    qa = await apiAs(app, h.db, 'qa');
    qaNumbers = await apiAs(app, h.db, 'qa', { viewNumbers: true });
    supervisor = await apiAs(app, h.db, 'supervisor');
    agentUser = await apiAs(app, h.db, 'agent', { agentId: agent.id });
    otherAgentUser = await apiAs(app, h.db, 'agent', { agentId: otherAgent.id });

    // Recording, its announcement and its retention are campaign settings.
    const created = await admin.inject({
      method: 'POST', url: '/api/v1/campaigns',
      payload: { name: `qa ${h.app}`, trunkId: trunk.id, callerIdId: callerId.id, policyName, recordCalls: true, recordingAnnouncement: [ANNOUNCEMENT], recordingRetentionDays: 30 },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ recordCalls: true, recordingAnnouncement: [ANNOUNCEMENT], recordingRetentionDays: 30 });
    campaignId = created.json().id;
    const badMedia = await admin.inject({ method: 'PATCH', url: `/api/v1/campaigns/${campaignId}`, payload: { recordingAnnouncement: ['http://x/y.wav'], recordingRetentionDays: 0 } });
    expect(badMedia.statusCode).toBe(400);
    expect(badMedia.json().issues.map((i: { field: string }) => i.field)).toEqual(expect.arrayContaining(['body.recordingAnnouncement.0', 'body.recordingRetentionDays']));
    expect((await admin.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/start` })).statusCode).toBe(200);

    const contact = await addContact(db, { campaignId, phone: CUSTOMER_PHONE, name: 'Rita Recorded' });
    const attempt = await createAttempt(db, { campaignId, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });
    attemptId = attempt.id;
    await dialer.agents.login(agent);
    await enqueueAttempt(queue, attempt.id);
    const summary = await dialer.callDone(attempt.id);
    expect(summary.outcome).toBe('answered');
    expect(summary.agentId).toBe(agent.id);
    expect(summary.recordingId).not.toBeNull();
    callId = summary.callId;
    // The join waited for the announcement (~2.3 s, longer than the 2 s connect timeout) and
    // the call was still not abandoned: finding the agent is what the 2 s rule times.
    expect(summary.connectMs!).toBeGreaterThan(2000);
    expect(summary.connectMs!).toBeLessThan(6000);

    recording = await db.selectFrom('recordings').where('call_id', '=', callId).select(['id', 'storage_key', 'sha256', 'size_bytes', 'duration_ms']).executeTakeFirstOrThrow();
    file = readFileSync(path.join(h.recordingsDir, recording.storage_key));
    expect(sha(file)).toBe(recording.sha256);
    expect(readWavInfo(file).durationMs).toBeGreaterThan(1500);

    // The agent's wrap-up result is what QA searches by.
    const disp = await admin.inject({ method: 'POST', url: `/api/v1/attempts/${attemptId}/disposition`, payload: { result: 'sale' } });
    expect(disp.statusCode, disp.body).toBe(200);
    await customer.waitExit(5000);
    expect(customer.errors()).toBe('');
  });

  it('finds the recorded call by search; numbers masked, number search only with numbers.view', async () => {
    const q = `campaignId=${campaignId}&outcome=answered&disposition=sale&minDurationS=1&maxDurationS=60&recorded=true&agentId=${agentId}` +
      `&from=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`;
    const found = await qa.inject({ method: 'GET', url: `/api/v1/calls?${q}` });
    expect(found.statusCode, found.body).toBe(200);
    const calls = found.json().calls;
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: callId, outcome: 'answered', disposition: 'sale', agent: { id: agentId, name: 'Quinn Agent' } });
    expect(calls[0].recording).toMatchObject({ id: recording.id, sha256: recording.sha256, sizeBytes: recording.size_bytes, format: 'wav', audioUrl: `/api/v1/recordings/${recording.id}/audio` });
    expect(calls[0].durationMs).toBeGreaterThan(1000);
    expect(calls[0].phone).not.toBe(CUSTOMER_PHONE); // masked for qa without numbers.view
    expect(found.body).not.toContain(CUSTOMER_PHONE);

    // Filters that exclude it.
    for (const miss of ['disposition=no-sale', 'outcome=busy', 'minDurationS=600', 'recorded=false', `from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`]) {
      const r = await qa.inject({ method: 'GET', url: `/api/v1/calls?campaignId=${campaignId}&${miss}` });
      expect(r.statusCode, miss).toBe(200);
      expect(r.json().calls, miss).toHaveLength(0);
    }
    const bad = await qa.inject({ method: 'GET', url: '/api/v1/calls?minDurationS=-1&outcome=sold' });
    expect(bad.statusCode).toBe(400);

    // Exact number search: refused without numbers.view, exact with it ("+" sent as %2B or as a space).
    expect((await qa.inject({ method: 'GET', url: `/api/v1/calls?phone=${encodeURIComponent(CUSTOMER_PHONE)}` })).statusCode).toBe(403);
    const byNumber = await qaNumbers.inject({ method: 'GET', url: `/api/v1/calls?phone=${encodeURIComponent(CUSTOMER_PHONE)}` });
    expect(byNumber.statusCode).toBe(200);
    expect(byNumber.json().calls.map((c: { id: string; phone: string }) => [c.id, c.phone])).toEqual([[callId, CUSTOMER_PHONE]]);
    const plus = await qaNumbers.inject({ method: 'GET', url: `/api/v1/calls?phone=+${CUSTOMER_PHONE.slice(1)}` });
    expect(plus.json().calls).toHaveLength(1);
    const prefix = await qaNumbers.inject({ method: 'GET', url: `/api/v1/calls?phone=${encodeURIComponent(CUSTOMER_PHONE.slice(0, -1))}` });
    expect(prefix.json().calls).toHaveLength(0);

    // One call with its decision and recording; recordings search and metadata.
    const one = await qa.inject({ method: 'GET', url: `/api/v1/calls/${callId}` });
    expect(one.statusCode).toBe(200);
    expect(one.json()).toMatchObject({ id: callId, decision: { allowed: true }, recording: { id: recording.id }, reviews: [] });
    const recs = await qa.inject({ method: 'GET', url: `/api/v1/recordings?campaignId=${campaignId}` });
    expect(recs.json().recordings.map((r: { id: string; call: { id: string } }) => [r.id, r.call.id])).toEqual([[recording.id, callId]]);
    const meta = await supervisor.inject({ method: 'GET', url: `/api/v1/recordings/${recording.id}` });
    expect(meta.json()).toMatchObject({
      id: recording.id, callId, format: 'wav', sizeBytes: recording.size_bytes, sha256: recording.sha256, durationMs: recording.duration_ms,
      call: { agent: { id: agentId }, campaign: { id: campaignId } },
    });
  });

  it('plays the audio with Range requests, downloads it whole, and audits plays and downloads', async () => {
    const url = `/api/v1/recordings/${recording.id}/audio`;
    const size = file.length;
    const auditCount = async () =>
      (await h.db.selectFrom('audit_log').where('resource', '=', 'recording').where('resource_id', '=', recording.id).where('action', 'in', ['recording.played', 'recording.downloaded']).select('action').execute()).map((a) => a.action);
    const before = await auditCount();

    const ranges: [string, number, number][] = [
      ['bytes=0-43', 0, 43], // the WAV header, as a player reads first
      ['bytes=44-1043', 44, 1043],
      [`bytes=${size - 500}-`, size - 500, size - 1],
      ['bytes=-256', size - 256, size - 1],
      [`bytes=1000-${size + 5000}`, 1000, size - 1],
    ];
    for (const [range, start, end] of ranges) {
      const r = await qa.inject({ method: 'GET', url, headers: { range } });
      expect(r.statusCode, range).toBe(206);
      expect(r.headers['content-type']).toBe('audio/wav');
      expect(r.headers['accept-ranges']).toBe('bytes');
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${size}`);
      expect(Number(r.headers['content-length'])).toBe(end - start + 1);
      expect(r.rawPayload.equals(file.subarray(start, end + 1)), range).toBe(true);
    }
    const tooFar = await qa.inject({ method: 'GET', url, headers: { range: `bytes=${size}-` } });
    expect(tooFar.statusCode).toBe(416);
    expect(tooFar.headers['content-range']).toBe(`bytes */${size}`);
    expect((await qa.inject({ method: 'GET', url, headers: { range: 'bytes=9-3' } })).statusCode).toBe(416);

    const whole = await supervisor.inject({ method: 'GET', url });
    expect(whole.statusCode).toBe(200);
    expect(whole.rawPayload.length).toBe(size);
    const download = await qa.inject({ method: 'GET', url: `${url}?download=1` });
    expect(download.statusCode).toBe(200);
    expect(download.headers['content-disposition']).toMatch(/^attachment; filename="call-.*\.wav"$/);
    expect(sha(download.rawPayload)).toBe(recording.sha256);

    // HEAD: the headers, no body, and no audit entry.
    const head = await qa.inject({ method: 'HEAD', url, headers: { range: 'bytes=0-9' } });
    expect(head.statusCode).toBe(206);
    expect(head.headers['content-range']).toBe(`bytes 0-9/${size}`);
    expect(head.rawPayload.length).toBe(0);

    // One entry per play (a request from byte 0) and per download; seeks are not logged one by one.
    const after = await auditCount();
    expect(after.length - before.length).toBe(3);
    const fresh = after.slice(0, after.length - before.length);
    expect(fresh.filter((a) => a === 'recording.played')).toHaveLength(2);
    expect(fresh.filter((a) => a === 'recording.downloaded')).toHaveLength(1);
    const who = await h.db.selectFrom('audit_log').where('action', '=', 'recording.downloaded').where('resource_id', '=', recording.id).select(['user_id', 'at', 'details']).executeTakeFirstOrThrow();
    expect(who.user_id).toBe(qa.userId);
    expect(who.details).toMatchObject({ callId });

    // Agents get no recordings; a missing recording is a 404.
    expect((await agentUser.inject({ method: 'GET', url })).statusCode).toBe(403);
    expect((await qa.inject({ method: 'GET', url: `/api/v1/recordings/${randomUUID()}/audio` })).statusCode).toBe(404);
  });

  it('verify passes, then reports a changed and a missing file (exit 1); purge removes it past retention', async () => {
    const ok = cli('recordings', 'verify', '--campaign', campaignId);
    expect(ok.status, ok.stderr + ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/1 recordings checked .*: 1 intact, 0 changed, 0 missing/);

    const abs = path.join(h.recordingsDir, recording.storage_key);
    const saved = `${abs}.saved`;
    copyFileSync(abs, saved);
    const tampered = Buffer.from(file);
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 0xff;
    writeFileSync(abs, tampered);
    const changed = cli('recordings', 'verify', '--campaign', campaignId, '--json');
    expect(changed.status).toBe(1);
    const report = JSON.parse(changed.stdout);
    expect(report.changed).toHaveLength(1);
    expect(report.changed[0]).toMatchObject({ recordingId: recording.id, expected: { sha256: recording.sha256 }, found: { sha256: sha(tampered) } });

    rmSync(abs);
    const missing = cli('recordings', 'verify', '--campaign', campaignId);
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain(`MISSING  ${recording.storage_key}`);
    expect((await qa.inject({ method: 'GET', url: `/api/v1/recordings/${recording.id}/audio` })).statusCode).toBe(404);

    copyFileSync(saved, abs);
    rmSync(saved);

    // Within retention (30 days) nothing is purged.
    const early = cli('recordings', 'purge', '--campaign', campaignId, '--json');
    expect(early.status, early.stderr).toBe(0);
    expect(JSON.parse(early.stdout).purged).toEqual([]);
    expect(existsSync(abs)).toBe(true);
    // 31 days later (the recording's start moved back rather than the clock forward).
    await h.db.updateTable('recordings').set({ started_at: new Date(Date.now() - 31 * 86_400_000) }).where('id', '=', recording.id).execute();
    const dry = cli('recordings', 'purge', '--campaign', campaignId, '--dry-run', '--json');
    expect(JSON.parse(dry.stdout).purged.map((p: { recordingId: string }) => p.recordingId)).toEqual([recording.id]);
    expect(existsSync(abs)).toBe(true);
    const purge = cli('recordings', 'purge', '--campaign', campaignId);
    expect(purge.status, purge.stderr).toBe(0);
    expect(purge.stdout).toContain(`purged  ${recording.storage_key}  recording ${recording.id}`);
    expect(existsSync(abs)).toBe(false);
    const row = await h.db.selectFrom('recordings').where('id', '=', recording.id).selectAll().executeTakeFirstOrThrow();
    expect(row.purged_at).toBeInstanceOf(Date);
    expect(row.sha256).toBe(recording.sha256); // the metadata stays
    const audit = await h.db.selectFrom('audit_log').where('action', '=', 'recording.purged').where('resource_id', '=', recording.id).selectAll().execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ callId, campaignId, retentionDays: 30 });
    // Purged: no audio (410), not counted by verify, not offered to QA as recorded.
    expect((await qa.inject({ method: 'GET', url: `/api/v1/recordings/${recording.id}/audio` })).statusCode).toBe(410);
    expect(cli('recordings', 'verify', '--campaign', campaignId).stdout).toMatch(/0 recordings checked/);
    const meta = await qa.inject({ method: 'GET', url: `/api/v1/calls/${callId}` });
    expect(meta.json().recording).toMatchObject({ id: recording.id, audioUrl: null });
    expect(meta.json().recording.purgedAt).not.toBeNull();
  }, 240_000); // several CLI runs, each a process of its own, on this shared machine

  it('scores a review with weights and time marks, and summarises it per agent', async () => {
    const criteria = [
      { key: 'attitude', label: 'Service attitude', weight: 30, maxScore: 5 },
      { key: 'script', label: 'Script adherence', weight: 30, maxScore: 5 },
      { key: 'accuracy', label: 'Accuracy', weight: 20, maxScore: 5 },
      { key: 'confidentiality', label: 'Confidentiality', weight: 10, maxScore: 1 },
      { key: 'discipline', label: 'Discipline', weight: 10, maxScore: 5 },
    ];
    // Scorecards are configuration: admins create them, QA may not.
    expect((await qa.inject({ method: 'POST', url: '/api/v1/scorecards', payload: { name: `qa card ${h.app}`, criteria } })).statusCode).toBe(403);
    const card = await admin.inject({ method: 'POST', url: '/api/v1/scorecards', payload: { name: `Outbound ${h.app}`, criteria } });
    expect(card.statusCode, card.body).toBe(201);
    const cardId = card.json().id as string;
    const dupKeys = await admin.inject({ method: 'POST', url: '/api/v1/scorecards', payload: { name: `dup ${h.app}`, criteria: [criteria[0], criteria[0]] } });
    expect(dupKeys.statusCode).toBe(400);
    expect((await admin.inject({ method: 'POST', url: '/api/v1/scorecards', payload: { name: `Outbound ${h.app}`, criteria } })).statusCode).toBe(409);
    expect((await qa.inject({ method: 'GET', url: `/api/v1/scorecards/${cardId}` })).json().criteria).toEqual(criteria);
    const renamed = await admin.inject({ method: 'PATCH', url: `/api/v1/scorecards/${cardId}`, payload: { description: 'outbound sales calls' } });
    expect(renamed.json()).toMatchObject({ description: 'outbound sales calls', criteria });

    const scores = [
      { criterion: 'attitude', score: 5 },
      { criterion: 'script', score: 4, comment: 'skipped the needs question' },
      { criterion: 'accuracy', score: 3 },
      { criterion: 'confidentiality', score: 1 },
      { criterion: 'discipline', score: 2 },
    ];
    // 30·1 + 30·0.8 + 20·0.6 + 10·1 + 10·0.4 = 80
    const url = `/api/v1/calls/${callId}/reviews`;
    const tooHigh = await qa.inject({ method: 'POST', url, payload: { scorecardId: cardId, scores: scores.map((s) => (s.criterion === 'accuracy' ? { ...s, score: 6 } : s)) } });
    expect(tooHigh.statusCode).toBe(400);
    expect(tooHigh.json().error).toMatch(/above its maximum of 5/);
    const lateMark = await qa.inject({ method: 'POST', url, payload: { scorecardId: cardId, scores, marks: [{ atMs: recording.duration_ms + 1000, note: 'after the end' }] } });
    expect(lateMark.statusCode).toBe(400);
    expect(lateMark.json().issues[0].field).toBe('body.marks');
    expect((await supervisor.inject({ method: 'POST', url, payload: { scorecardId: cardId, scores } })).statusCode).toBe(403);

    const review = await qa.inject({
      method: 'POST', url,
      payload: { scorecardId: cardId, scores, comment: 'good close', marks: [{ atMs: Math.floor(recording.duration_ms / 2), note: 'needs question skipped' }, { atMs: 0, note: 'greeting' }] },
    });
    expect(review.statusCode, review.body).toBe(201);
    const r1 = review.json();
    expect(r1).toMatchObject({ callId, agentId, recordingId: recording.id, scorecardId: cardId, totalPct: 80, comment: 'good close' });
    expect(r1.marks.map((m: { note: string }) => m.note)).toEqual(['greeting', 'needs question skipped']);
    expect(r1.scores.find((s: { key: string }) => s.key === 'script')).toMatchObject({ score: 4, weight: 30, maxScore: 5, comment: 'skipped the needs question' });

    // A second review, all at maximum except discipline 0: 90 %.
    const r2 = await qa.inject({ method: 'POST', url, payload: { scorecardId: cardId, scores: criteria.map((c) => ({ criterion: c.key, score: c.key === 'discipline' ? 0 : c.maxScore })) } });
    expect(r2.json().totalPct).toBe(90);
    // Re-scoring recomputes the total under the review's own criteria, and is audited.
    const patched = await qa.inject({ method: 'PATCH', url: `/api/v1/reviews/${r2.json().id}`, payload: { scores: criteria.map((c) => ({ criterion: c.key, score: c.key === 'discipline' ? 5 : c.maxScore })) } });
    expect(patched.json().totalPct).toBe(100);
    const uncommented = await qa.inject({ method: 'PATCH', url: `/api/v1/reviews/${r1.id}`, payload: { comment: null } });
    expect(uncommented.json()).toMatchObject({ comment: null, totalPct: 80 });
    const reviewAudit = await h.db.selectFrom('audit_log').where('resource', '=', 'review').where('resource_id', '=', r2.json().id).select('action').orderBy('id').execute();
    expect(reviewAudit.map((a) => a.action)).toEqual(['review.created', 'review.updated']);
    // A scorecard with reviews is deactivated, not deleted.
    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/scorecards/${cardId}` })).statusCode).toBe(409);

    const from = encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString());
    const to = encodeURIComponent(new Date(Date.now() + 60_000).toISOString());
    const summary = await qa.inject({ method: 'GET', url: `/api/v1/qa/summary?from=${from}&to=${to}&scorecardId=${cardId}` });
    expect(summary.statusCode, summary.body).toBe(200);
    const mine = summary.json().agents.find((a: { agentId: string }) => a.agentId === agentId);
    expect(mine).toMatchObject({ agentName: 'Quinn Agent', reviews: 2, averagePct: 90, minPct: 80, maxPct: 100 });
    expect(mine.criteria.find((c: { key: string }) => c.key === 'accuracy')).toMatchObject({ reviews: 2, averagePct: 80 }); // (60 + 100) / 2
    expect(mine.criteria.find((c: { key: string }) => c.key === 'discipline')).toMatchObject({ averagePct: 70 }); // (40 + 100) / 2

    // The agent sees their own summary and reviews, never another agent's.
    const own = await agentUser.inject({ method: 'GET', url: `/api/v1/qa/summary?from=${from}&to=${to}` });
    expect(own.json().agents.map((a: { agentId: string }) => a.agentId)).toEqual([agentId]);
    expect((await otherAgentUser.inject({ method: 'GET', url: `/api/v1/qa/summary?from=${from}&to=${to}&agentId=${agentId}` })).statusCode).toBe(403);
    expect((await agentUser.inject({ method: 'GET', url: `/api/v1/reviews/${r1.id}` })).statusCode).toBe(200);
    expect((await otherAgentUser.inject({ method: 'GET', url: `/api/v1/reviews/${r1.id}` })).statusCode).toBe(403);
    const withReviews = await supervisor.inject({ method: 'GET', url: `/api/v1/calls/${callId}` });
    expect(withReviews.json().reviews.map((r: { totalPct: number }) => r.totalPct)).toEqual([80, 100]);
  });

  it('files a complaint due in 2 working days and works it to resolution, audited', async () => {
    const filed = await qa.inject({ method: 'POST', url: `/api/v1/calls/${callId}/complaints`, payload: { summary: 'customer says the agent was rude' } });
    expect(filed.statusCode, filed.body).toBe(201);
    const c = filed.json();
    expect(c).toMatchObject({ callId, recordingId: recording.id, status: 'open', dueOn: addWorkingDays(new Date(), 2), overdue: false });
    const id = c.id as string;
    const patch = (api: Api, payload: object) => api.inject({ method: 'PATCH', url: `/api/v1/complaints/${id}`, payload });
    expect((await patch(supervisor, { status: 'in-review' })).statusCode).toBe(403);
    expect((await patch(qa, { status: 'in-review' })).json().status).toBe('in-review');
    const noResolution = await patch(qa, { status: 'resolved' });
    expect(noResolution.statusCode).toBe(400);
    expect(noResolution.json().error).toMatch(/resolution/);
    expect((await patch(qa, { status: 'resolved', resolution: 'listened: agent coached' })).json()).toMatchObject({ status: 'resolved', resolution: 'listened: agent coached' });
    const reopen = await patch(qa, { status: 'open' });
    expect(reopen.statusCode).toBe(409);
    expect(reopen.json().error).toMatch(/closed/);
    const listed = await supervisor.inject({ method: 'GET', url: `/api/v1/complaints?callId=${callId}` });
    expect(listed.json().complaints.map((x: { id: string; status: string }) => [x.id, x.status])).toEqual([[id, 'resolved']]);
    const audit = await h.db.selectFrom('audit_log').where('resource', '=', 'complaint').where('resource_id', '=', id).select('action').orderBy('id').execute();
    expect(audit.map((a) => a.action)).toEqual(['complaint.filed', 'complaint.updated', 'complaint.updated']);
  });

  it('holds each role to its permissions on these routes', async () => {
    const get = (api: Api, url: string) => api.inject({ method: 'GET', url }).then((r) => r.statusCode);
    // Agents: their own calls only, no recordings, no complaints.
    const own = await agentUser.inject({ method: 'GET', url: '/api/v1/calls' });
    expect(own.statusCode).toBe(200);
    expect(own.json().calls.map((c: { id: string }) => c.id)).toEqual([callId]);
    expect(own.json().calls[0].recording).toBeNull();
    expect(own.body).not.toContain(CUSTOMER_PHONE);
    expect((await otherAgentUser.inject({ method: 'GET', url: '/api/v1/calls' })).json().calls).toEqual([]);
    expect(await get(otherAgentUser, `/api/v1/calls?agentId=${agentId}`)).toBe(403);
    expect(await get(agentUser, `/api/v1/calls/${callId}`)).toBe(200);
    expect(await get(otherAgentUser, `/api/v1/calls/${callId}`)).toBe(403);
    expect(await get(agentUser, `/api/v1/recordings/${recording.id}`)).toBe(403);
    expect(await get(agentUser, '/api/v1/recordings')).toBe(403);
    expect(await get(agentUser, '/api/v1/complaints')).toBe(403);
    expect((await agentUser.inject({ method: 'POST', url: `/api/v1/calls/${callId}/reviews`, payload: {} })).statusCode).toBe(403);
    // Supervisors read calls, recordings, reviews and complaints; they do not score.
    for (const url of ['/api/v1/calls', `/api/v1/calls/${callId}`, '/api/v1/recordings', `/api/v1/recordings/${recording.id}`, '/api/v1/complaints', '/api/v1/scorecards']) {
      expect(await get(supervisor, url), url).toBe(200);
    }
    expect((await supervisor.inject({ method: 'POST', url: `/api/v1/calls/${callId}/complaints`, payload: { summary: 'x' } })).statusCode).toBe(403);
    // QA reads and scores, and changes no configuration.
    for (const url of ['/api/v1/calls', '/api/v1/recordings', '/api/v1/complaints', '/api/v1/scorecards', `/api/v1/campaigns/${campaignId}`]) {
      expect(await get(qa, url), url).toBe(200);
    }
    const cardId = (await qa.inject({ method: 'GET', url: '/api/v1/scorecards' })).json().scorecards[0].id as string;
    expect((await qa.inject({ method: 'PATCH', url: `/api/v1/scorecards/${cardId}`, payload: { active: false } })).statusCode).toBe(403);
    expect((await qa.inject({ method: 'DELETE', url: `/api/v1/scorecards/${cardId}` })).statusCode).toBe(403);
    expect((await qa.inject({ method: 'PATCH', url: `/api/v1/campaigns/${campaignId}`, payload: { recordingRetentionDays: 1 } })).statusCode).toBe(403);
    expect((await qa.inject({ method: 'POST', url: `/api/v1/campaigns/${campaignId}/pause` })).statusCode).toBe(403);
    // No token, no access.
    expect((await app.inject({ method: 'GET', url: '/api/v1/calls' })).statusCode).toBe(401);
  });

  it('abandons as before when no agent is found within 2 s of the answer, announcement or not', async () => {
    await h.dialer.agents.logout(agentId);
    more.push(await startSipp({ scenario: 'customer-answer.xml', port: CUSTOMER_PORT, pauseMs: 20_000, maxCalls: 1 }));
    const contact = await addContact(h.db, { campaignId, phone: '+13055550178' });
    const attempt = await createAttempt(h.db, { campaignId, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });
    await enqueueAttempt(h.queue, attempt.id);
    const summary = await h.dialer.callDone(attempt.id);
    expect(summary.outcome).toBe('abandoned');
    expect(summary.bridgedAt).toBeNull();
    expect(summary.recordingId).toBeNull();
    const call = await h.db.selectFrom('calls').where('attempt_id', '=', attempt.id).selectAll().executeTakeFirstOrThrow();
    // Asterisk ended it after the 2 s timeout and the information message (with the caller id
    // read back), the announcement having been cut off: not the customer, who waits 20 s.
    expect(call.ended_at!.getTime() - call.answered_at!.getTime()).toBeGreaterThanOrEqual(6000);
    expect(call.ended_at!.getTime() - call.answered_at!.getTime()).toBeLessThan(19_000);
    expect(await h.db.selectFrom('recordings').where('call_id', '=', call.id).select('id').execute()).toEqual([]);
  }, 60_000);
});
