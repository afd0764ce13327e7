// "Why was this contact not called?" on the real stack: denied attempts produced by the real dial
// gate (hours, DNC, a cap) without placing calls, listed per campaign and per contact (filters,
// keyset pages, masked numbers), counted in the campaign's progress with their reasons and next
// instants, explained in plain words on the contact's page; a campaign idle beyond its limit
// completed by the campaign runner (audited as the system); and the campaign's ring timeout,
// bounded by the policy's minimum ring time, ending a call sipp lets ring.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { decideAndReserve } from '../../src/compliance/store/dial-gate.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import { CampaignRunner } from '../../src/dialer/campaign-runner.js';
import { finishAttempt } from '../../src/dialer/dial.repository.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { Sipp } from '../../src/sim/sipp.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber } from '../helpers/env.js';
import { openAllHours, saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const CARRIER = 6601;
const DAY = 86_400_000;

describe('campaign progress, attempts, contact page, auto-complete, ring timeout (real stack)', () => {
  let h: Harness;
  let app: FastifyInstance;
  let admin: Api;
  let supervisor: Api;
  let qa: Api;
  let trunkId: string;
  let callerIdId: string;
  let policyName: string;
  let campaignA: string;
  const contacts: Record<string, { id: string; phone: string }> = {};
  const attempts: Record<string, string> = {};
  const sipps: Sipp[] = [];
  // Decisions are made at instants a week ahead, so what they reschedule lies in the future.
  const base = new Date(Math.floor(Date.now() / DAY) * DAY + 7 * DAY);
  const night = new Date(base.getTime() + 6 * 3_600_000); // 01:00 or 02:00 in New York
  const daytime = new Date(base.getTime() + 16 * 3_600_000); // 11:00 or 12:00 in New York

  const gate = (attemptId: string, now: Date) => decideAndReserve({ db: h.db, policies: h.policies, now: () => now }, attemptId);
  const get = (api: Api, url: string) => api.inject({ method: 'GET', url });

  async function newCampaign(name: string, extra: Record<string, unknown> = {}) {
    const r = await admin.inject({ method: 'POST', url: '/api/v1/campaigns', payload: { name, trunkId, callerIdId, policyName, ...extra } });
    expect(r.statusCode, r.body).toBe(201);
    return r.json<{ id: string }>().id;
  }

  beforeAll(async () => {
    h = await startHarness();
    app = await buildServer({ db: h.db, policies: h.policies, log: createLogger('silent') });
    admin = await apiAs(app, h.db, 'admin');
    supervisor = await apiAs(app, h.db, 'supervisor');
    qa = await apiAs(app, h.db, 'qa');
    policyName = `hours-cap-${h.app}`;
    await savePolicy(h.db, {
      name: policyName, version: 1,
      windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '08:00', end: '21:00' }],
      caps: [{ scope: 'phone', max: 1, windowHours: 24 }],
      dnc: { lists: ['global', 'campaign'] },
      dialing: { minRingSeconds: 15 },
    }, 'test');
    sipps.push(await Sipp.start({ scenario: 'customer-no-answer.xml', port: CARRIER, mediaPort: 15000 }));
    trunkId = (await createTrunk(h.db, { name: `pg-${h.app}`.slice(0, 40), host: '127.0.0.1', port: CARRIER })).id;
    await syncTrunk(h.db, h.ari, trunkId);
    callerIdId = (await createCallerId(h.db, randomCallerNumber())).id;

    campaignA = await newCampaign(`progress ${h.app}`);
    for (const [k, n] of [['hours', '01'], ['dnc', '02'], ['waiting', '03'], ['retry', '04'], ['cap', '05'], ['done', '06'], ['none', '07']] as const) {
      contacts[k] = await addContact(h.db, { campaignId: campaignA, phone: `+130555501${n}` });
      if (k === 'none') continue;
      const retry = k === 'retry';
      attempts[k] = (await createAttempt(h.db, {
        campaignId: campaignA, contactId: contacts[k].id, phone: contacts[k].phone,
        idempotencyKey: `${campaignA}:${contacts[k].id}:${retry ? 'retry:2' : 'initial'}`,
        ...(retry ? { scheduledAt: new Date(Date.now() + 30 * DAY) } : {}),
      })).id;
    }
    // Outside calling hours, decided twice (the second decision is the attempt's latest).
    expect((await gate(attempts.hours!, night)).status).toBe('denied');
    expect((await gate(attempts.hours!, new Date(night.getTime() + 3_600_000))).status).toBe('denied');
    // On the global do-not-call list: skipped for good.
    const dnc = await admin.inject({ method: 'POST', url: '/api/v1/dnc', payload: { phone: contacts.dnc!.phone, source: 'manual', reason: 'asked to stop' } });
    expect(dnc.statusCode).toBe(201);
    expect(await gate(attempts.dnc!, daytime)).toMatchObject({ status: 'denied', rescheduledTo: null });
    // Dialed once (allowed), then its retry is over the cap of one call per 24 h.
    expect((await gate(attempts.cap!, daytime)).status).toBe('allowed');
    await finishAttempt(h.db, attempts.cap!, 'completed', 'no-answer');
    attempts.cap2 = (await createAttempt(h.db, {
      campaignId: campaignA, contactId: contacts.cap!.id, phone: contacts.cap!.phone, idempotencyKey: `${campaignA}:${contacts.cap!.id}:retry:2`,
    })).id;
    expect((await gate(attempts.cap2, new Date(daytime.getTime() + 3_600_000))).status).toBe('denied');
    // Allowed and answered.
    expect((await gate(attempts.done!, daytime)).status).toBe('allowed');
    await finishAttempt(h.db, attempts.done!, 'completed', 'answered');
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await h?.close();
    for (const s of sipps) await s.stop();
  });

  it("counts the campaign's contacts by state, says why the later ones wait and until when", async () => {
    expect((await get(qa, `/api/v1/campaigns/${campaignA}/progress`)).statusCode).toBe(403);
    const r = await get(supervisor, `/api/v1/campaigns/${campaignA}/progress`);
    expect(r.statusCode, r.body).toBe(200);
    const p = r.json();
    expect(p).toMatchObject({
      contacts: 7, notStarted: 1, waiting: { contacts: 1, handedToDialer: 0 }, dialing: { contacts: 0 },
      done: { contacts: 1, byOutcome: [{ outcome: 'answered', contacts: 1 }] },
      skipped: { contacts: 1, byReason: [{ reason: 'dnc', rules: ['dnc'], contacts: 1 }] },
      cancelled: { contacts: 0 },
      // One contact is due now: the campaign is not idle.
      idleUntil: null, nothingLeft: false, completesByItself: false,
    });
    const later = new Map<string, { contacts: number; nextAt: string; description: string }>(
      p.scheduledLater.byReason.map((g: { reason: string; contacts: number; nextAt: string; description: string }) => [g.reason, g]),
    );
    expect(p.scheduledLater.contacts).toBe(3);
    expect([...later.keys()].sort()).toEqual(['cap', 'hours', 'retry']);
    expect(later.get('hours')!.description).toBe('outside calling hours');
    // 08:00 in New York on the night's day (EST or EDT).
    expect([12, 13]).toContain(new Date(later.get('hours')!.nextAt).getUTCHours());
    expect(new Date(later.get('hours')!.nextAt).getTime() - base.getTime()).toBeLessThan(DAY);
    // The cap of one per 24 h lifts 24 h after the first dial.
    expect(later.get('cap')!.nextAt).toBe(new Date(daytime.getTime() + DAY).toISOString());
    expect(new Date(later.get('retry')!.nextAt).getTime()).toBeGreaterThan(Date.now() + 29 * DAY);
    expect(p.scheduledLater.nextAt).toBe(later.get('hours')!.nextAt);
  });

  it('lists attempts newest first with filters and keyset pages; numbers masked without numbers.view', async () => {
    const all = (await get(admin, `/api/v1/campaigns/${campaignA}/attempts`)).json();
    expect(all.attempts).toHaveLength(7);
    expect(all.nextCursor).toBeNull();
    const created = all.attempts.map((a: { createdAt: string }) => a.createdAt);
    expect([...created].sort().reverse()).toEqual(created);
    // Pages of 3 walk every attempt exactly once.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor ? `limit=3&cursor=${cursor}` : 'limit=3';
      const page = (await get(admin, `/api/v1/campaigns/${campaignA}/attempts?${q}`)).json();
      expect(page.attempts.length).toBeLessThanOrEqual(3);
      seen.push(...page.attempts.map((a: { id: string }) => a.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen.sort()).toEqual(all.attempts.map((a: { id: string }) => a.id).sort());

    const denied = (await get(admin, `/api/v1/campaigns/${campaignA}/attempts?outcome=denied`)).json();
    expect(denied.attempts.map((a: { id: string }) => a.id)).toEqual([attempts.dnc]);
    expect(denied.attempts[0]).toMatchObject({ state: 'skipped', phone: contacts.dnc!.phone, decision: { allowed: false, failedRules: ['dnc'], nextAllowedAt: null } });
    const queued = (await get(admin, `/api/v1/campaigns/${campaignA}/attempts?state=queued`)).json();
    expect(queued.attempts.map((a: { id: string }) => a.id).sort()).toEqual([attempts.hours, attempts.waiting, attempts.retry, attempts.cap2].sort());
    const future = (await get(admin, `/api/v1/campaigns/${campaignA}/attempts?from=${encodeURIComponent(new Date(Date.now() + DAY).toISOString())}`)).json();
    expect(future.attempts).toHaveLength(0);
    const past = (await get(admin, `/api/v1/campaigns/${campaignA}/attempts?to=${encodeURIComponent(new Date(Date.now() + DAY).toISOString())}&limit=500`)).json();
    expect(past.attempts).toHaveLength(7);

    const masked = (await get(supervisor, `/api/v1/contacts/${contacts.cap!.id}/attempts`)).json();
    expect(masked.attempts).toHaveLength(2);
    expect(masked.attempts[0]).toMatchObject({ id: attempts.cap2, phone: '+1 305****105', decision: { failedRules: ['cap'] } });
    expect(masked.attempts[1]).toMatchObject({ id: attempts.cap, state: 'completed', outcome: 'no-answer', decision: { allowed: true } });

    const bad = await get(admin, `/api/v1/campaigns/${campaignA}/attempts?cursor=not-a-cursor`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/cursor/);
    expect((await get(admin, `/api/v1/campaigns/${campaignA}/attempts?state=lost`)).statusCode).toBe(400);
    expect((await get(admin, `/api/v1/campaigns/${randomUUID()}/attempts`)).statusCode).toBe(404);
    expect((await get(admin, `/api/v1/contacts/${randomUUID()}/attempts`)).statusCode).toBe(404);
    expect((await get(admin, `/api/v1/campaigns/${randomUUID()}/progress`)).statusCode).toBe(404);
    const badFrom = await get(admin, `/api/v1/campaigns/${campaignA}/attempts?from=yesterday`);
    expect(badFrom.statusCode).toBe(400);
    expect(badFrom.json().issues[0].field).toBe('querystring.from');
  });

  it("shows a contact's attempts with each decision in plain words and the next allowed instant", async () => {
    const r = await get(admin, `/api/v1/contacts/${contacts.hours!.id}`);
    expect(r.statusCode, r.body).toBe(200);
    const c = r.json();
    expect(c.contact).toMatchObject({ id: contacts.hours!.id, campaignId: campaignA, phone: contacts.hours!.phone });
    expect(c.state).toBe('scheduled');
    expect(c.attempts).toHaveLength(1);
    const [latest, earlier] = c.attempts[0].decisions;
    expect(c.attempts[0].decisions).toHaveLength(2);
    expect(c.nextAllowedAt).toBe(latest.nextAllowedAt);
    expect(c.next).toMatch(/^Next allowed \w{3} (\d{4}-\d\d-\d\d )?08:00 in America\/New_York/);
    expect(latest.explanation.reasons).toHaveLength(1);
    expect(latest.explanation.reasons[0]).toMatchObject({ rule: 'hours', policy: policyName });
    expect(latest.explanation.reasons[0].sentence).toMatch(/^Outside allowed hours in America\/New_York \(08:00-21:00\) at 0[12]:00 local; next allowed \w{3} (\d{4}-\d\d-\d\d )?08:00 local$/);
    expect(latest.explanation.summary).toMatch(/^Not dialed; next allowed .*08:00 in America\/New_York/);
    expect(new Date(earlier.decidedAt).getTime()).toBeLessThan(new Date(latest.decidedAt).getTime());

    const dnc = (await get(supervisor, `/api/v1/contacts/${contacts.dnc!.id}`)).json();
    expect(dnc.state).toBe('skipped');
    expect(dnc.nextAllowedAt).toBeNull();
    expect(dnc.contact.phone).toBe('+1 305****102');
    expect(dnc.attempts[0].decisions[0].explanation.reasons[0].sentence).toBe('On the do-not-call list (global list, from manual), with no end date');
    expect(dnc.attempts[0].decisions[0].explanation.summary).toMatch(/never will be under these rules \(dnc\)/);

    const cap = (await get(admin, `/api/v1/contacts/${contacts.cap!.id}`)).json();
    expect(cap.attempts[0].decisions[0].explanation.reasons[0].sentence).toMatch(/^Call limit reached: 1 call to this number in the last 24 hours, at most 1 allowed; next allowed/);
    expect(cap.attempts[1].decisions[0].explanation.summary).toMatch(/^Allowed: all \d+ checks passed$/);
    expect((await get(admin, `/api/v1/contacts/${contacts.none!.id}`)).json()).toMatchObject({ state: 'not-started', attempts: [], nextAllowedAt: null });
    expect((await get(admin, `/api/v1/contacts/${randomUUID()}`)).statusCode).toBe(404);
  });

  it("names the attempt's earlier decisions earlierDecisions (documented in OpenAPI)", async () => {
    const d = (await get(admin, `/api/v1/attempts/${attempts.hours}/decision`)).json();
    expect(d).not.toHaveProperty('history');
    expect(d.earlierDecisions).toHaveLength(1);
    expect(d.earlierDecisions[0].allowed).toBe(false);
    expect(d.explanation.reasons[0].rule).toBe('hours');
    const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json();
    const schema = doc.paths['/api/v1/attempts/{id}/decision'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['earlierDecisions', 'explanation', 'nextAllowedAt']));
    expect(doc.paths['/api/v1/campaigns/{id}/progress'].get.responses['200']).toBeDefined();
  });

  it('completes by itself a campaign with nothing due within its idle limit, audited as the system', async () => {
    const runner = new CampaignRunner(h.db, h.queue, h.dialer, createLogger('silent'), { tickMs: 60_000, idleCheckMs: 0 });
    const make = async (name: string, days: number | null) => {
      const id = await newCampaign(`${name} ${h.app}`);
      if (days !== null) {
        const patch = await admin.inject({ method: 'PATCH', url: `/api/v1/campaigns/${id}`, payload: { completeWhenIdleDays: days } });
        expect(patch.json().completeWhenIdleDays).toBe(days);
      }
      const c = await addContact(h.db, { campaignId: id, phone: '+13055550190' });
      const a = await createAttempt(h.db, { campaignId: id, contactId: c.id, phone: c.phone, idempotencyKey: `${id}:${c.id}:retry:2`, scheduledAt: new Date(Date.now() + 30 * DAY) });
      expect((await admin.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/start` })).statusCode).toBe(200);
      return { id, attemptId: a.id };
    };
    const idle7 = await make('idle-7', 7);
    const idle60 = await make('idle-60', 60);
    const never = await make('idle-never', null);
    const p = (await get(admin, `/api/v1/campaigns/${idle7.id}/progress`)).json();
    expect(p).toMatchObject({ nothingLeft: false, completeWhenIdleDays: 7, completesByItself: true, waiting: { contacts: 0 } });
    expect(new Date(p.idleUntil).getTime()).toBeGreaterThan(Date.now() + 29 * DAY);
    expect((await get(admin, `/api/v1/campaigns/${idle60.id}/progress`)).json()).toMatchObject({ completesByItself: false });

    await runner.tick(new Date());
    const state = async (id: string) => (await h.db.selectFrom('campaigns').where('id', '=', id).select('state').executeTakeFirstOrThrow()).state;
    expect(await state(idle7.id)).toBe('completed');
    expect(await state(idle60.id)).toBe('running');
    expect(await state(never.id)).toBe('running');
    expect((await h.db.selectFrom('attempts').where('id', '=', idle7.attemptId).select('state').executeTakeFirstOrThrow()).state).toBe('cancelled');
    const audit = await h.db.selectFrom('audit_log').where('resource_id', '=', idle7.id).where('action', '=', 'campaign.completed').select(['actor', 'user_id', 'details']).execute();
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'system', user_id: null, details: { why: 'idle', completeWhenIdleDays: 7, attemptsCancelled: 1 } });
    // The campaign with work due now is not idle.
    expect(await runner.completeIdleCampaigns(new Date())).toEqual([]);
  });

  it("refuses a ring timeout below the policy's minimum ring time, and the originate uses the campaign's", async () => {
    const low = await admin.inject({ method: 'PATCH', url: `/api/v1/campaigns/${campaignA}`, payload: { ringTimeoutSeconds: 10 } });
    expect(low.statusCode).toBe(400);
    expect(low.json().issues[0]).toMatchObject({ field: 'body.ringTimeoutSeconds' });
    expect(low.json().error).toMatch(/below the 15 s minimum ring time/);
    const ok = await admin.inject({ method: 'PATCH', url: `/api/v1/campaigns/${campaignA}`, payload: { ringTimeoutSeconds: 20 } });
    // A PATCH changes what it names only (it once reset every defaulted field, the policy among them).
    expect(ok.json()).toMatchObject({ ringTimeoutSeconds: 20, policyName, dialMode: 'progressive', recordCalls: true });
    const dialMode = await admin.inject({ method: 'PATCH', url: `/api/v1/campaigns/${campaignA}`, payload: { dialMode: 'preview', recordCalls: false } });
    expect((await admin.inject({ method: 'PATCH', url: `/api/v1/campaigns/${campaignA}`, payload: { maxCps: 2 } })).json())
      .toMatchObject({ dialMode: 'preview', recordCalls: false, policyName, ringTimeoutSeconds: 20, maxCps: 2 });
    expect(dialMode.statusCode).toBe(200);
    // Moving to a policy without a minimum ring time allows a short ring.
    const open = await saveOpenPolicy(h);
    const id = await newCampaign(`ring ${h.app}`, { policyName: open, ringTimeoutSeconds: 6 });
    expect((await newCampaignFails({ policyName, ringTimeoutSeconds: 14 })).statusCode).toBe(400);
    const c = await addContact(h.db, { campaignId: id, phone: '+13055550199' });
    const a = await createAttempt(h.db, { campaignId: id, contactId: c.id, phone: c.phone, idempotencyKey: randomUUID() });
    expect((await h.dialer.dialAttempt(a.id)).status).toBe('dialing');
    const summary = await h.dialer.callDone(a.id);
    // Under 15 s of ringing is not "no answer" (outcome.ts): the call failed, Asterisk's cause says no answer.
    expect(summary.outcome).toBe('failed');
    const call = await h.db.selectFrom('calls').where('attempt_id', '=', a.id).selectAll().executeTakeFirstOrThrow();
    expect([18, 19]).toContain(call.hangup_cause);
    expect(call.answered_at).toBeNull();
    const rang = call.ended_at!.getTime() - call.created_at.getTime();
    // 6 s, not the dialer's default 30 s (tolerant: a busy machine adds set-up time).
    expect(rang).toBeGreaterThanOrEqual(5_000);
    expect(rang).toBeLessThan(15_000);
    // A policy tightened after the campaign was saved still bounds the ring: the dialer rings at least its minimum.
    await savePolicy(h.db, { ...openAllHours(open), dialing: { minRingSeconds: 10 } }, 'test');
    const b = await createAttempt(h.db, { campaignId: id, contactId: c.id, phone: c.phone, idempotencyKey: randomUUID() });
    expect((await h.dialer.dialAttempt(b.id)).status).toBe('dialing');
    await h.dialer.callDone(b.id);
    const call2 = await h.db.selectFrom('calls').where('attempt_id', '=', b.id).selectAll().executeTakeFirstOrThrow();
    expect(call2.ended_at!.getTime() - call2.created_at.getTime()).toBeGreaterThanOrEqual(9_500);
  }, 60_000);

  async function newCampaignFails(extra: Record<string, unknown>) {
    return admin.inject({ method: 'POST', url: '/api/v1/campaigns', payload: { name: `bad ${randomUUID()}`, trunkId, callerIdId, ...extra } });
  }
});
