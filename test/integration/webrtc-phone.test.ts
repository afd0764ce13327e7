// The agent's phone in the browser, end to end on the real stack: a network namespace of this
// test's own (Asterisk never offers 127.0.0.1 as an ICE candidate) holds an Asterisk node, Debian's
// Chromium with the browser phone (JsSIP over ws://<node>:8488/ws) and a sipp customer; the dialer
// and the API run here and reach the node over the veth pair. The agent's browser registers, the
// agent logs in, the login call is answered by the page itself, a customer is dialed and bridged:
// audio flows both ways (getStats in the browser; the bridge's recording holds the browser's
// microphone tone); a reload of the page keeps the session and the phone is called again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { PHONE_RECONNECTING } from '../../src/dialer/agent-pool.js';
import { enqueueAttempt } from '../../src/dialer/queue.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { readWavInfo } from '../../src/recordings/wav.js';
import { Sipp } from '../../src/sim/sipp.js';
import { apiAs, type Api } from '../helpers/api.js';
import { launchChromiumInNetns, type BrowserInNetns } from '../helpers/browser-phone.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { writeGreetingPcap } from '../helpers/pcap.js';
import { ariAnswers, nodeUpInNetns, rmsBetween } from '../helpers/webrtc-node.js';
import { saveOpenPolicy, startHarness, type Harness } from '../helpers/harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// This file's own ranges (docs/webrtc.md): node 5, sipp SIP 6900-6999, sipp media 8000-8999.
const NODE = 5;
const ARI_PORT = 8088 + 100 * (NODE - 1);
const CUSTOMER_PORT = 6901;
const CUSTOMER_MEDIA = 8000;
const MIC_HZ = 660;
/** The customer talks (a 440 Hz tone) this long, then is silent: after it, only the browser is heard. */
const CUSTOMER_TALK_MS = 3000;
const CALL_MS = 7000;
/** The customer of the call during which the page is reloaded talks all along. */
const MIDCALL_MS = 6000;
/** How long a browser phone that went away is called again before its agent is logged out. */
const RECALL_SECONDS = 6;

interface PageState {
  registered: boolean;
  inCall: boolean;
  ice: string;
  dtls: string;
  audio: { packetsReceived: number; packetsSent: number; microphoneEnergy: number; audioLevel: number; totalAudioEnergy: number; flowing: boolean; codec: string | null };
  marks: Record<string, number>;
  ended: string[];
  error?: string | null;
}
/** The test page's global (web/src/phone/test-page.ts), as seen from here (no DOM types in Node's build). */
interface PhoneTestGlobal {
  phoneTest: {
    phone: { state: Omit<PageState, 'marks' | 'ended'> } | null;
    marks: Record<string, number>;
    ended: string[];
    start(config: object): void;
  };
}
const readPage = (page: Page): Promise<PageState> =>
  page.evaluate(() => {
    const t = (globalThis as unknown as PhoneTestGlobal).phoneTest;
    const s = t.phone?.state;
    return { ...(s ?? { registered: false, inCall: false, ice: 'none', dtls: 'none', audio: { packetsReceived: 0, packetsSent: 0, microphoneEnergy: 0, audioLevel: 0, totalAudioEnergy: 0, flowing: false, codec: null } }), marks: { ...t.marks }, ended: [...t.ended] } as PageState;
  });

describe('the agent\'s browser phone (WebRTC, JsSIP) against Asterisk in a network namespace', () => {
  let ns: Netns;
  let confDir: string;
  let nodeUp = false;
  let h: Harness;
  let app: FastifyInstance;
  let admin: Api;
  let chromium: BrowserInNetns;
  const sipps: Sipp[] = [];
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    ns = createNetns('dw-webrtc');
    // Node 5's configuration, bound inside the namespace to every address (its veth's, for the
    // browser and the dialer; loopback, for sipp and stack.sh's own checks).
    // node-up renders the templates of the directory it is given with the node's own ports.
    confDir = mkdtempSync(path.join(tmpdir(), 'dialwell-webrtc-conf-'));
    nodeUpInNetns(ns, NODE, confDir, ['http.conf', 'pjsip.conf']);
    nodeUp = true;
    const ariUrl = `http://${ns.nsAddr}:${ARI_PORT}`;
    await until(() => ariAnswers(ariUrl), 30_000, `ARI of node ${NODE} at ${ariUrl}`);
    h = await startHarness({
      config: { ARI_URL: ariUrl },
      dialer: { agents: { autoReadyAfterMs: null, loginTimeoutSeconds: 20, phoneRecallSeconds: RECALL_SECONDS } },
    });
    app = await buildServer({
      db: h.db, policies: h.policies, log: createLogger('silent'), dialer: h.dialer, ari: h.ari, recordings: undefined,
      webrtcWsUrl: `ws://${ns.nsAddr}:${ARI_PORT}/ws`,
    });
    admin = await apiAs(app, h.db, 'admin');
    chromium = await launchChromiumInNetns(ns.name, MIC_HZ);
  });

  afterAll(async () => {
    await chromium?.close();
    for (const s of sipps) await s.stop();
    await app?.close();
    await h?.close();
    if (nodeUp) execFileSync('bash', [path.join(ROOT, 'scripts/stack.sh'), 'node-down', String(NODE)], { cwd: ROOT });
    ns?.close();
    if (confDir) rmSync(confDir, { recursive: true, force: true });
    if (Object.keys(figures).length) process.stdout.write(`webrtc figures (ms): ${JSON.stringify(figures)}\n`);
  });

  it('registers, answers the login call, carries a bridged call both ways, and survives a reload', async () => {
    // A browser phone registers: it needs a password and has no fixed contact.
    const endpoint = `wr-${randomUUID().slice(0, 8)}`;
    const noPassword = await admin.inject({ method: 'POST', url: '/api/v1/agents', payload: { name: 'X', endpoint, contactUri: 'sip:127.0.0.1:5999', phoneType: 'webrtc' } });
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json()).toMatchObject({ issues: [{ field: 'body.sipPassword' }] });
    // An agent with a SIP softphone today is moved to the browser by an admin; Asterisk's endpoint follows at once.
    const created = await admin.inject({ method: 'POST', url: '/api/v1/agents', payload: { name: 'Wendy Web', endpoint, sipPassword: 'browser-secret-1' } });
    expect(created.statusCode, created.body).toBe(201);
    const agentId = (created.json() as { id: string }).id;
    expect(created.json()).toMatchObject({ phoneType: 'sip' });
    const agent = await apiAs(app, h.db, 'agent', { agentId });
    expect((await agent.inject({ method: 'GET', url: `/api/v1/agents/${agentId}/phone` })).json()).toEqual({ agentId, phoneType: 'sip', webrtc: null });
    const moved = await admin.inject({ method: 'PATCH', url: `/api/v1/agents/${agentId}`, payload: { phoneType: 'webrtc' } });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json()).toMatchObject({ phoneType: 'webrtc', hasSipPassword: true, contactUri: null });
    const audit = await h.db.selectFrom('audit_log').where('resource_id', '=', agentId).where('action', '=', 'agent.updated').select(['before', 'after']).executeTakeFirstOrThrow();
    expect(audit).toMatchObject({ before: { phoneType: 'sip' }, after: { phoneType: 'webrtc' } });
    const shown = execFileSync('bash', [path.join(ROOT, 'scripts/stack.sh'), 'node-cli', String(NODE), `pjsip show endpoint ${endpoint}`], { encoding: 'utf8' });
    expect(shown).toMatch(/webrtc\s*:\s*yes/);
    expect(shown).toMatch(/media_encryption\s*:\s*dtls/);
    expect(shown).toMatch(/allow\s*:\s*\(opus\|ulaw\)/);

    // The agent's own browser asks what to register with; nobody else gets the password.
    const phoneRes = await agent.inject({ method: 'GET', url: `/api/v1/agents/${agentId}/phone` });
    expect(phoneRes.statusCode, phoneRes.body).toBe(200);
    expect(phoneRes.headers['cache-control']).toBe('no-store');
    const read = await h.db.selectFrom('audit_log').where('resource_id', '=', agentId).where('action', '=', 'agent.phone-credentials-read').select('user_id').execute();
    expect(read).toEqual([{ user_id: agent.userId }]);
    const phone = (phoneRes.json() as { webrtc: { wsUrl: string; uri: string; authorizationUser: string; password: string } }).webrtc;
    expect(phone).toEqual({ wsUrl: `ws://${ns.nsAddr}:${ARI_PORT}/ws`, uri: `sip:${endpoint}@${ns.nsAddr}`, authorizationUser: endpoint, password: 'browser-secret-1', displayName: endpoint });
    expect((await admin.inject({ method: 'GET', url: `/api/v1/agents/${agentId}/phone` })).statusCode).toBe(403);

    const page = await chromium.openPhonePage();
    await page.evaluate((cfg) => (globalThis as unknown as PhoneTestGlobal).phoneTest.start({ ...cfg, answerFrom: 'dialwell' }), phone);
    await until(async () => (await readPage(page)).registered, 15_000, 'the browser phone to register').catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await readPage(page))}`);
    });

    // Login: Dialwell calls the browser, which answers by itself; media connects (ICE, DTLS).
    const loginAt = Date.now();
    const login = await agent.inject({ method: 'POST', url: `/api/v1/agents/${agentId}/login` });
    expect(login.statusCode, login.body).toBe(200);
    expect(login.json()).toMatchObject({ state: 'ready' });
    await until(async () => (await readPage(page)).marks.connected !== undefined, 15_000, 'the login call\'s media to connect');
    let st = await readPage(page);
    figures.loginToPhoneConnected = st.marks.connected! - loginAt;
    expect(st).toMatchObject({ inCall: true, ice: expect.stringMatching(/connected|completed/), dtls: 'connected' });

    // A customer (in the namespace too) is dialed and bridged to the agent.
    const policyName = await saveOpenPolicy(h);
    const callerId = await createCallerId(h.db, randomCallerNumber(), 'webrtc test');
    /** A sipp customer in the namespace behind a trunk of its own, who talks (a 440 Hz tone) talkMs, then is silent until callMs. */
    const customer = async (n: number, talkMs: number, callMs: number): Promise<string> => {
      const pcap = path.join(confDir, `customer-${n}.pcap`);
      writeGreetingPcap(pcap, talkMs, callMs - talkMs + 1000);
      const port = CUSTOMER_PORT + n;
      sipps.push(await Sipp.start({ scenario: 'customer-greeting.xml', port, mediaPort: CUSTOMER_MEDIA + 10 * n, pauseMs: callMs, maxCalls: 1, vars: { pcap }, netns: ns.name }));
      const trunk = await createTrunk(h.db, { name: `wr${n}-${h.app}`.slice(0, 40), host: '127.0.0.1', port, codecs: ['alaw'] });
      await syncTrunk(h.db, h.ari, trunk.id);
      const campaign = await createCampaign(h.db, { name: `webrtc ${n} ${h.app}`, trunkId: trunk.id, callerIdId: callerId.id, state: 'running', policyName });
      const contact = await addContact(h.db, { campaignId: campaign.id, phone: `+1305555017${n}`, name: `Customer ${n}` });
      return (await createAttempt(h.db, { campaignId: campaign.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() })).id;
    };
    const attempt = { id: await customer(0, CUSTOMER_TALK_MS, CALL_MS) };

    const before = (await readPage(page)).audio;
    const samples: { at: number; s: PageState['audio'] }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        samples.push({ at: Date.now(), s: (await readPage(page)).audio });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await enqueueAttempt(h.queue, attempt.id);
    const summary = await h.dialer.callDone(attempt.id);
    sampling = false;
    await sampler;
    expect(summary.outcome).toBe('answered');
    expect(summary.agentId).toBe(agentId);
    const call = await h.db.selectFrom('calls').where('attempt_id', '=', attempt.id).selectAll().executeTakeFirstOrThrow();
    expect(call.agent_id).toBe(agentId);

    // Into the browser: the customer's voice arrived (packets with energy, opus).
    const last = samples.at(-1)!.s;
    expect(last.packetsReceived - before.packetsReceived).toBeGreaterThan(100);
    expect(last.totalAudioEnergy - before.totalAudioEnergy).toBeGreaterThan(0);
    expect(last.codec).toBe('audio/opus');
    const heard = samples.find((x) => x.at >= call.answered_at!.getTime() && x.s.audioLevel > 0.01);
    expect(heard, 'the customer\'s tone was heard in the browser').toBeDefined();
    figures.customerAnswerToAudioInBrowser = heard!.at - call.answered_at!.getTime();
    // Out of the browser: the microphone's packets left, and the bridge's recording holds them
    // after the customer fell silent (the customer's tone stops at CUSTOMER_TALK_MS).
    expect(last.packetsSent - before.packetsSent).toBeGreaterThan(100);
    expect(last.microphoneEnergy - before.microphoneEnergy, 'the fake microphone plays its tone').toBeGreaterThan(0);
    const rec = await h.db.selectFrom('recordings').where('call_id', '=', call.id).selectAll().executeTakeFirstOrThrow();
    const wav = readFileSync(path.join(h.recordingsDir, rec.storage_key));
    const info = readWavInfo(wav);
    expect(info.durationMs).toBeGreaterThan(CALL_MS - 2000);
    const customerPart = rmsBetween(wav, 500, CUSTOMER_TALK_MS - 500);
    const browserOnly = rmsBetween(wav, CUSTOMER_TALK_MS + 1500, info.durationMs - 500);
    figures.recordingRmsWithCustomer = Math.round(customerPart);
    figures.recordingRmsBrowserOnly = Math.round(browserOnly);
    expect(customerPart).toBeGreaterThan(300);
    expect(browserOnly).toBeGreaterThan(300);

    // Reloads keep the session (the agent is never logged out): Dialwell calls the new page's phone.
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.add(h.dialer.agents.get(agentId)?.state ?? 'none');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    // A reload in the middle of a call: the customer waits in the agent's bridge, the new page's
    // phone joins it, the customer is heard again and the call goes on until the customer hangs up.
    await agent.inject({ method: 'POST', url: `/api/v1/agents/${agentId}/ready` });
    const midCall = await customer(1, MIDCALL_MS, MIDCALL_MS);
    await enqueueAttempt(h.queue, midCall);
    await until(() => h.dialer.agents.get(agentId)?.state === 'on-call', 10_000, 'the second customer to be bridged');
    await until(async () => (await readPage(page)).audio.audioLevel > 0.01, 5000, 'the second customer to be heard');
    const midReloadAt = Date.now();
    await page.reload();
    await until(async () => (await readPage(page)).marks.connected !== undefined, 15_000, 'the phone to be called again mid-call');
    figures.midCallReloadToPhoneConnected = (await readPage(page)).marks.connected! - midReloadAt;
    await until(async () => (await readPage(page)).audio.audioLevel > 0.01, 5000, 'the customer to be heard again after the reload');
    figures.midCallReloadToCustomerHeard = Date.now() - midReloadAt;
    expect(h.dialer.agents.get(agentId)?.state).toBe('on-call');
    const midSummary = await h.dialer.callDone(midCall);
    expect(midSummary).toMatchObject({ outcome: 'answered', agentId });
    const midRow = await h.db.selectFrom('calls').where('attempt_id', '=', midCall).select(['ended_by', 'agent_id']).executeTakeFirstOrThrow();
    expect(midRow).toEqual({ ended_by: 'customer', agent_id: agentId });
    expect(h.dialer.agents.get(agentId)?.state).toBe('wrap-up');

    // A reload while ready: paused while the phone is away, ready again once it is back.
    await agent.inject({ method: 'POST', url: `/api/v1/agents/${agentId}/ready` });
    expect(h.dialer.agents.get(agentId)?.state).toBe('ready');
    const reloadAt = Date.now();
    await page.reload();
    await until(async () => (await readPage(page)).marks.connected !== undefined, 30_000, 'the reloaded page\'s phone to be called again and connect');
    st = await readPage(page);
    figures.reloadToPhoneConnected = st.marks.connected! - reloadAt;
    await until(() => h.dialer.agents.get(agentId)?.state === 'ready', 5000, 'the agent to be ready again');
    watching = false;
    await watcher;
    expect([...seen]).not.toContain('logged-out');
    // Audio flows again on the new page's call (the agent alone in the bridge hears nothing, so
    // the figures checked are the connection and the packets the browser sends).
    await until(async () => (await readPage(page)).audio.packetsSent > 50, 10_000, 'the new call to carry the microphone');

    // Logging out hangs the browser's call up; the phone reports it.
    const out = await agent.inject({ method: 'POST', url: `/api/v1/agents/${agentId}/logout` });
    expect(out.statusCode).toBe(200);
    await until(async () => (await readPage(page)).ended.length > 0, 10_000, 'the browser phone to see the hang-up');
    expect(h.dialer.agents.get(agentId)?.state).toBe('logged-out');

    // A page closed for good: the agent is paused (no call goes to a phone that is not there) and,
    // past the recall deadline, logged out as a SIP phone's hang-up would.
    const again = await agent.inject({ method: 'POST', url: `/api/v1/agents/${agentId}/login` });
    expect(again.statusCode, again.body).toBe(200);
    const crashAt = Date.now();
    const cdp = await page.context().newCDPSession(page);
    // Not awaited: a crashed page never answers.
    void cdp.send('Page.crash').catch(() => undefined);
    await until(() => h.dialer.agents.get(agentId)?.state === 'paused', 30000, 'the agent to be paused while the phone is away');
    figures.crashToPaused = Date.now() - crashAt;
    expect(h.dialer.agents.get(agentId)?.pauseReason).toBe(PHONE_RECONNECTING);
    const closedAt = Date.now();
    await until(() => h.dialer.agents.get(agentId)?.state === 'logged-out', (RECALL_SECONDS + 8) * 1000, 'the agent to be logged out after the recall deadline');
    expect(Date.now() - closedAt).toBeGreaterThan((RECALL_SECONDS - 2) * 1000);

    for (const s of sipps) {
      await s.waitExit(5000).catch(() => undefined);
      expect(s.errors()).toBe('');
    }
  });
});
