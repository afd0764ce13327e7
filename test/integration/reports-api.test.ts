// Reports over calls, attempts, dispositions and agent state changes written through the
// repositories into the real PostgreSQL: JSON and CSV figures per campaign and per agent, the live
// view, /metrics, and who may read what.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { recordDisposition } from '../../src/compliance/store/disposition.repository.js';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { parseCsv } from '../../src/contacts/csv.js';
import { createDb, type Db } from '../../src/db/database.js';
import { closeCall, insertCall, updateCall } from '../../src/cdr/cdr.repository.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { summarize } from '../../src/reports/figures.js';
import { aggregateFacts, callFacts, insertAgentStateChanges } from '../../src/reports/reports.repository.js';
import { apiAs, type Api } from '../helpers/api.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';

const FROM = new Date('2026-01-05T10:00:00Z');
const TO = new Date('2026-01-05T11:00:00Z');
const at = (base: Date, s: number) => new Date(base.getTime() + s * 1000);

interface CallSpec {
  campaignId: string;
  start: Date;
  outcome: string;
  agentId?: string;
  /** Seconds after start. */
  answered?: number;
  bridged?: number;
  ended: number;
  disposition?: { result: string; at: number };
}

describe('reports API over the real database', () => {
  let db: Db;
  let app: FastifyInstance;
  let admin: Api;
  let supervisor: Api;
  let tag: string;
  let campA: string;
  let campB: string;
  let campLive: string;
  let agentX: string;
  let agentY: string;
  let trunkId: string;
  let callerId: string;
  let phoneN = 0;

  async function placeCall(c: CallSpec): Promise<void> {
    const phone = `+1305555${String(7000 + phoneN++).padStart(4, '0')}`;
    const contact = await addContact(db, { campaignId: c.campaignId, phone });
    const attempt = await createAttempt(db, { campaignId: c.campaignId, contactId: contact.id, phone, idempotencyKey: randomUUID() });
    // The dial gate reserves an attempt by stamping dialed_at; a disposition needs it.
    await db.updateTable('attempts').set({ state: 'dialing', dialed_at: c.start }).where('id', '=', attempt.id).execute();
    const callId = await insertCall(db, { attemptId: attempt.id, campaignId: c.campaignId, contactId: contact.id, phone, callerId, trunkId, channelId: randomUUID() });
    await closeCall(db, callId, attempt.id, {
      created_at: c.start,
      agent_id: c.agentId ?? null,
      answered_at: c.answered !== undefined ? at(c.start, c.answered) : null,
      bridged_at: c.bridged !== undefined ? at(c.start, c.bridged) : null,
      ended_at: at(c.start, c.ended),
      outcome: c.outcome,
    }, { state: 'completed', outcome: c.outcome });
    if (c.disposition) {
      await recordDisposition(db, { attemptId: attempt.id, result: c.disposition.result, refused: false, doNotCall: false, actor: 'test', at: at(c.start, c.disposition.at) });
    }
  }

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, 5);
    tag = randomUUID().slice(0, 8);
    app = await buildServer({ db, policies: new PolicyResolver(db), log: createLogger('silent'), reports: { settings: { effectiveTalkSeconds: 30, successResults: ['sale'] } } });
    admin = await apiAs(app, db, 'admin');
    supervisor = await apiAs(app, db, 'supervisor');
    trunkId = (await createTrunk(db, { name: `rep-${tag}`, host: '127.0.0.1', port: 5500 })).id;
    const cid = await createCallerId(db, randomCallerNumber());
    callerId = cid.number;
    // A name holding a phone number: CSV and JSON mask it for users without numbers.view.
    campA = (await createCampaign(db, { name: `Reports A ${tag} +13055550199`, trunkId, callerIdId: cid.id })).id;
    campB = (await createCampaign(db, { name: `Reports B ${tag}`, trunkId, callerIdId: cid.id })).id;
    campLive = (await createCampaign(db, { name: `Reports live ${tag}`, trunkId, callerIdId: cid.id })).id;
    agentX = (await createAgent(db, { name: `Xavier ${tag}`, endpoint: `rx-${tag}`, sipPassword: 'test-sip-secret' })).id;
    agentY = (await createAgent(db, { name: `Yvonne ${tag}`, endpoint: `ry-${tag}`, sipPassword: 'test-sip-secret' })).id;

    const t = (s: number) => at(FROM, s);
    // Campaign A in the period: 5 attempts, 3 live answers (1 abandoned), 2 connected, 1 effective, 1 sale.
    await placeCall({ campaignId: campA, start: t(60), outcome: 'answered', agentId: agentX, answered: 10, bridged: 11, ended: 71, disposition: { result: 'sale', at: 81 } });
    await placeCall({ campaignId: campA, start: t(300), outcome: 'answered', agentId: agentX, answered: 8, bridged: 9, ended: 29, disposition: { result: 'not-interested', at: 34 } });
    await placeCall({ campaignId: campA, start: t(400), outcome: 'abandoned', answered: 12, ended: 30 });
    await placeCall({ campaignId: campA, start: t(500), outcome: 'busy', ended: 4 });
    await placeCall({ campaignId: campA, start: t(600), outcome: 'machine', answered: 9, ended: 13 });
    // Campaign A a day earlier: outside the period, inside the regulator's 30 days.
    await placeCall({ campaignId: campA, start: at(FROM, -86_400), outcome: 'abandoned', answered: 10, ended: 20 });
    // Campaign B: 2 attempts, 1 connected (40 s talk, no disposition).
    await placeCall({ campaignId: campB, start: t(700), outcome: 'answered', agentId: agentY, answered: 5, bridged: 6, ended: 46 });
    await placeCall({ campaignId: campB, start: t(800), outcome: 'no-answer', ended: 20 });
    // After the period: not counted.
    await placeCall({ campaignId: campB, start: at(TO, 1), outcome: 'answered', agentId: agentY, answered: 5, bridged: 6, ended: 600 });

    // X logged in 10 min before the period, out 30 min into it; Y logged in at its start, never out.
    await insertAgentStateChanges(db, [
      { agentId: agentX, state: 'ready', at: at(FROM, -600) },
      { agentId: agentX, state: 'on-call', at: t(71) },
      { agentId: agentX, state: 'wrap-up', at: t(131) },
      { agentId: agentX, state: 'logged-out', at: t(1800) },
      { agentId: agentY, state: 'ready', at: FROM },
    ]);
  });
  afterAll(async () => {
    await db?.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', campLive).execute();
    await app?.close();
    await db?.destroy();
  });

  const q = `from=${FROM.toISOString()}&to=${TO.toISOString()}`;

  it('campaign figures in JSON', async () => {
    const res = await admin.inject({ method: 'GET', url: `/api/v1/reports/campaigns?${q}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { campaigns: Record<string, unknown>[]; settings: unknown };
    expect(body.settings).toEqual({ effectiveTalkSeconds: 30, successResults: ['sale'] });
    const a = body.campaigns.find((c) => c.campaignId === campA)!;
    expect(a).toMatchObject({
      attempts: 5, liveAnswered: 3, connected: 2, effective: 1, successes: 1, abandoned: 1, machines: 1,
      talkSeconds: 80, wrapUpSeconds: 15, outcomes: { answered: 2, abandoned: 1, busy: 1, machine: 1 },
    });
    expect(a.connectRate).toBeCloseTo(2 / 5, 12);
    expect(a.abandonmentRate).toBeCloseTo(1 / 3, 12);
    expect(a.successRate).toBeCloseTo(1 / 2, 12);
    expect(a.averageHandleSeconds).toBeCloseTo((60 + 10 + 20 + 5) / 2, 12);
    // The regulator's 30 days ending at `to` include the day-old abandoned call: 2 of 4.
    expect(a.abandonmentRate30d).toBeCloseTo(2 / 4, 12);
    const b = body.campaigns.find((c) => c.campaignId === campB)!;
    expect(b).toMatchObject({ attempts: 2, connected: 1, effective: 1, successes: 0, abandoned: 0, averageHandleSeconds: 40, connectRate: 0.5, abandonmentRate: 0, abandonmentRate30d: 0 });
    expect(body.campaigns.find((c) => c.campaignId === campLive)).toBeUndefined();

    const one = await admin.inject({ method: 'GET', url: `/api/v1/reports/campaigns?${q}&campaignId=${campLive}` });
    expect(one.json()).toMatchObject({ campaigns: [{ campaignId: campLive, attempts: 0, connectRate: null, averageHandleSeconds: null }] });
  });

  it('campaign figures in CSV, by Accept header or ?format=csv, numbers masked', async () => {
    for (const req of [
      { url: `/api/v1/reports/campaigns?${q}&campaignId=${campA}`, headers: { accept: 'text/csv' } },
      { url: `/api/v1/reports/campaigns?${q}&campaignId=${campA}&format=csv`, headers: {} },
    ]) {
      const res = await supervisor.inject({ method: 'GET', ...req });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv/);
      const [head, row, ...rest] = parseCsv(res.body).filter((r) => r.fields.some((f) => f !== ''));
      expect(rest).toHaveLength(0);
      const rec = Object.fromEntries(head!.fields.map((h, i) => [h, row!.fields[i]]));
      expect(rec).toMatchObject({ campaignId: campA, attempts: '5', connected: '2', effective: '1', successes: '1', abandonmentRate30d: '0.5', outcome_busy: '1', outcome_failed: '0' });
      expect(Number(rec.connectRate)).toBeCloseTo(0.4, 12);
      expect(Number(rec.averageHandleSeconds)).toBeCloseTo(47.5, 12);
      expect(rec.campaign).not.toContain('+13055550199');
      expect(rec.campaign).toContain(`Reports A ${tag}`);
    }
  });

  it('agent figures: talk utilisation over logged-in time from the state history', async () => {
    const res = await supervisor.inject({ method: 'GET', url: `/api/v1/reports/agents?${q}` });
    expect(res.statusCode).toBe(200);
    const rows = (res.json() as { agents: Record<string, unknown>[] }).agents;
    const x = rows.find((r) => r.agentId === agentX)!;
    expect(x).toMatchObject({ attempts: 2, connected: 2, effective: 1, successes: 1, talkSeconds: 80, wrapUpSeconds: 15, loggedInSeconds: 1800 });
    expect(x.talkUtilisation).toBeCloseTo(80 / 1800, 12);
    expect(x.averageHandleSeconds).toBeCloseTo(47.5, 12);
    expect(x).not.toHaveProperty('abandonmentRate');
    const y = rows.find((r) => r.agentId === agentY)!;
    expect(y).toMatchObject({ attempts: 1, connected: 1, talkSeconds: 40, loggedInSeconds: 3600 });
    expect(y.talkUtilisation).toBeCloseTo(40 / 3600, 12);

    const csv = await supervisor.inject({ method: 'GET', url: `/api/v1/reports/agents?${q}&agentId=${agentX}&format=csv` });
    const [head, row] = parseCsv(csv.body);
    const rec = Object.fromEntries(head!.fields.map((h, i) => [h, row!.fields[i]]));
    expect(rec).toMatchObject({ agentId: agentX, loggedInSeconds: '1800', talkSeconds: '80', connected: '2' });
  });

  it('who may read what', async () => {
    const agentUser = await apiAs(app, db, 'agent', { agentId: agentX });
    const qa = await apiAs(app, db, 'qa');
    const get = (api: Api, url: string) => api.inject({ method: 'GET', url });
    // Campaign reports and the live view: live.read (supervisor, admin) only.
    for (const api of [agentUser, qa]) {
      expect((await get(api, `/api/v1/reports/campaigns?${q}`)).statusCode).toBe(403);
      expect((await get(api, '/api/v1/live')).statusCode).toBe(403);
      expect((await get(api, `/api/v1/reports/agents?${q}`)).statusCode).toBe(api === qa ? 403 : 200);
    }
    expect((await app.inject({ method: 'GET', url: `/api/v1/reports/campaigns?${q}` })).statusCode).toBe(401);
    // An agent reads their own report, whatever they ask for, never another's.
    const own = await get(agentUser, `/api/v1/reports/agents?${q}`);
    expect((own.json() as { agents: { agentId: string }[] }).agents.map((a) => a.agentId)).toEqual([agentX]);
    expect((await get(agentUser, `/api/v1/reports/agents?${q}&agentId=${agentX}`)).statusCode).toBe(200);
    const other = await get(agentUser, `/api/v1/reports/agents?${q}&agentId=${agentY}`);
    expect(other.statusCode).toBe(403);
    expect(other.json().error).toMatch(/only their own agent report/);
  });

  it('refuses a bad period or an unknown campaign with a reason', async () => {
    const rev = await admin.inject({ method: 'GET', url: `/api/v1/reports/campaigns?from=${TO.toISOString()}&to=${FROM.toISOString()}` });
    expect(rev.statusCode).toBe(400);
    expect(rev.json().error).toMatch(/must be before "to"/);
    const bad = await admin.inject({ method: 'GET', url: '/api/v1/reports/campaigns?from=yesterday' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/from.*ISO 8601/);
    expect((await admin.inject({ method: 'GET', url: `/api/v1/reports/campaigns?${q}&campaignId=${randomUUID()}` })).statusCode).toBe(404);
    expect((await admin.inject({ method: 'GET', url: '/api/v1/reports/campaigns' })).statusCode).toBe(400);
  });

  it('the SQL sums equal summarize() over the same calls (each definition mirrored in SQL)', async () => {
    // Seeded pseudo-random calls with the edges: talk exactly at the threshold, dispositions before
    // the end, calls in progress, success and other results, calls with and without an agent.
    let seed = 20261123;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const base = new Date('2026-02-10T08:00:00Z');
    const campC = (await createCampaign(db, { name: `Reports mirror ${tag}`, trunkId, callerIdId: (await createCallerId(db, randomCallerNumber())).id })).id;
    for (let i = 0; i < 160; i++) {
      const outcome = pick(['answered', 'answered', 'answered', 'abandoned', 'machine', 'busy', 'no-answer', 'failed']);
      const start = at(base, i * 37 + rnd());
      const live = outcome === 'answered' || outcome === 'abandoned' || outcome === 'machine';
      const joined = outcome === 'answered' && rnd() < 0.9;
      const talk = pick([30, 29.999, 5.5, 120.25, rnd() * 90]);
      const ended = joined ? 6 + talk : 3 + rnd() * 20;
      await placeCall({
        campaignId: campC, start, outcome, ...(joined || rnd() < 0.2 ? { agentId: pick([agentX, agentY]) } : {}),
        ...(live ? { answered: 5 } : {}), ...(joined ? { bridged: 6 } : {}), ended,
        ...(rnd() < 0.6 ? { disposition: { result: pick(['sale', 'not-interested', 'callback-requested']), at: ended + pick([-2, 0, 3.5, rnd() * 60]) } } : {}),
      });
    }
    for (let i = 0; i < 3; i++) {
      // In progress: bridged to an agent, not ended, no outcome yet.
      const c = await addContact(db, { campaignId: campC, phone: `+1305555${8900 + i}` });
      const att = await createAttempt(db, { campaignId: campC, contactId: c.id, phone: c.phone, idempotencyKey: randomUUID() });
      const id = await insertCall(db, { attemptId: att.id, campaignId: campC, contactId: c.id, phone: c.phone, callerId, trunkId, channelId: randomUUID() });
      await updateCall(db, id, { created_at: at(base, 100 + i), answered_at: at(base, 105), bridged_at: at(base, 106), agent_id: agentX });
    }
    const period = { from: base, to: at(base, 160 * 37 + 10) };
    for (const settings of [{ effectiveTalkSeconds: 30, successResults: ['sale'] }, { effectiveTalkSeconds: 0, successResults: ['sale', 'callback-requested'] }]) {
      const facts = await callFacts(db, { ...period, campaignIds: [campC] });
      expect(facts).toHaveLength(163);
      const ref = summarize(facts, settings);
      const sums = (await aggregateFacts(db, { ...period, by: 'campaign', campaignIds: [campC] }, settings)).get(campC)!;
      const { talkSeconds, wrapUpSeconds, ...counts } = sums;
      expect(counts).toEqual({ attempts: ref.attempts, liveAnswered: ref.liveAnswered, connected: ref.connected, effective: ref.effective, successes: ref.successes, abandoned: ref.abandoned, machines: ref.machines, outcomes: ref.outcomes });
      expect(talkSeconds).toBeCloseTo(ref.talkSeconds, 6);
      expect(wrapUpSeconds).toBeCloseTo(ref.wrapUpSeconds, 6);
      expect(ref.connected).toBeGreaterThan(0);
      expect(ref.wrapUpSeconds).toBeGreaterThan(0);
      for (const agentId of [agentX, agentY]) {
        const mine = facts.filter((f) => f.agentId === agentId);
        const r = summarize(mine, settings);
        const a = (await aggregateFacts(db, { ...period, by: 'agent', campaignIds: [campC], agentId }, settings)).get(agentId)!;
        expect({ ...a, talkSeconds: Math.round(a.talkSeconds * 1e6), wrapUpSeconds: Math.round(a.wrapUpSeconds * 1e6) })
          .toEqual({ attempts: r.attempts, liveAnswered: r.liveAnswered, connected: r.connected, effective: r.effective, successes: r.successes, abandoned: r.abandoned, machines: r.machines, outcomes: r.outcomes, talkSeconds: Math.round(r.talkSeconds * 1e6), wrapUpSeconds: Math.round(r.wrapUpSeconds * 1e6) });
      }
    }
  });

  describe('today: the live view and /metrics', () => {
    beforeAll(async () => {
      const now = Date.now();
      const start = new Date(Math.max(now - 5000, Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate())));
      await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', campLive).execute();
      await placeCall({ campaignId: campLive, start, outcome: 'answered', agentId: agentY, answered: 1, bridged: 1.5, ended: 4.5 });
      await placeCall({ campaignId: campLive, start, outcome: 'abandoned', answered: 1, ended: 3 });
    });

    it('the live view: today per running campaign; no dialer in this process', async () => {
      const res = await supervisor.inject({ method: 'GET', url: '/api/v1/live' });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { dialer: boolean; agents: { list: unknown[] }; callsInProgress: { total: number }; campaigns: Record<string, unknown>[] };
      expect(body).toMatchObject({ dialer: false, agents: { list: [] }, callsInProgress: { total: 0 } });
      const c = body.campaigns.find((r) => r.campaignId === campLive)!;
      expect(c).toMatchObject({ attempts: 2, connected: 1, abandoned: 1, connectRate: 0.5, abandonmentRate: 0.5, averageHandleSeconds: 3, abandonmentRate30d: 0.5 });
      expect(body.campaigns.find((r) => r.campaignId === campA)).toBeUndefined(); // not running
    });

    const sample = (text: string, name: string, labels: Record<string, string>): number | undefined => {
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return undefined;
    };

    it('/metrics in Prometheus text format, from loopback without a token', async () => {
      // A call in progress is no counter sample (counters never fall back when it ends).
      const c = await addContact(db, { campaignId: campB, phone: '+13055558999' });
      const att = await createAttempt(db, { campaignId: campB, contactId: c.id, phone: c.phone, idempotencyKey: randomUUID() });
      await insertCall(db, { attemptId: att.id, campaignId: campB, contactId: c.id, phone: c.phone, callerId, trunkId, channelId: randomUUID() });
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const t = res.body;
      expect(t).toContain('# TYPE dialwell_calls_total counter');
      // prom-client's process metrics beside ours.
      expect(t).toContain('# TYPE process_resident_memory_bytes gauge');
      expect(t).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
      // Counters since the start: campaign A's six calls, the day-old abandoned one included.
      expect(sample(t, 'dialwell_calls_total', { campaign_id: campA, outcome: 'answered' })).toBe(2);
      expect(sample(t, 'dialwell_calls_total', { campaign_id: campA, outcome: 'abandoned' })).toBe(2);
      expect(sample(t, 'dialwell_calls_total', { campaign_id: campA, outcome: 'busy' })).toBe(1);
      expect(sample(t, 'dialwell_calls_total', { campaign_id: campB, outcome: 'answered' })).toBe(2);
      expect(t).not.toMatch(/dialwell_calls_total\{[^}]*outcome="in-progress"/);
      expect(sample(t, 'dialwell_campaign_connect_rate', { campaign_id: campLive })).toBe(0.5);
      expect(sample(t, 'dialwell_campaign_average_handle_seconds', { campaign_id: campLive })).toBe(3);
      expect(sample(t, 'dialwell_campaign_abandonment_rate', { campaign_id: campLive, window: '30d' })).toBe(0.5);
      expect(sample(t, 'dialwell_campaign_today_calls', { campaign_id: campLive, stage: 'attempts' })).toBe(2);
      expect(sample(t, 'dialwell_campaign_abandonment_cap', { campaign_id: campLive })).toBeCloseTo(0.03, 6);
      expect(sample(t, 'dialwell_campaign_connect_rate', { campaign_id: campA })).toBeUndefined(); // not running
      // Label values are escaped, names kept whole (a campaign name with a quote).
      await db.updateTable('campaigns').set({ name: `Live "${tag}"` }).where('id', '=', campLive).execute();
      const again = (await app.inject({ method: 'GET', url: '/metrics' })).body;
      expect(again).toContain(`campaign="Live \\"${tag}\\""`);
    });

    it('/metrics refuses other addresses without METRICS_TOKEN, and needs the token when one is set', async () => {
      const far = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
      expect(far.statusCode).toBe(403);
      expect(far.json().error).toMatch(/METRICS_TOKEN/);
      const token = `metrics-${randomUUID()}`;
      const guarded = await buildServer({ db, policies: new PolicyResolver(db), log: createLogger('silent'), reports: { metricsToken: token } });
      try {
        expect((await guarded.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
        expect((await guarded.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-of-some-length' } })).statusCode).toBe(401);
        // A user's API token is not the metrics token.
        expect((await guarded.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${admin.token}` } })).statusCode).toBe(401);
        const ok = await guarded.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3', headers: { authorization: `Bearer ${token}` } });
        expect(ok.statusCode).toBe(200);
        expect(sample(ok.body, 'dialwell_calls_total', { campaign_id: campA, outcome: 'busy' })).toBe(1);
      } finally {
        await guarded.close();
      }
    });
  });
});
