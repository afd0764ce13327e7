// A supervisor listens to and whispers to an agent's live call from the console, with their own
// browser as the phone, end to end on the real stack. A network namespace of this test's own
// holds Asterisk node 8 and Debian's Chromium (Asterisk never offers 127.0.0.1 as an ICE
// candidate); the customer and the agent are sipp phones on the host's end of the veth pair whose
// media is this process's (test/helpers/rtp-peer.ts: each speaks a tone, what each heard is
// measured per frequency); the supervisor's fake microphone plays a tone of its own. The engine
// drives node 8 under a lease with the agent bus, as `serve` does; one API process runs with it
// (serving the console), another without any engine (supervision through the bus).
// Checked: the supervisor sees the agent go on call within 1 s of the server-side change; Listen
// rings the supervisor's browser, which answers by itself, and audio with energy reaches it; the
// customer never hears the supervisor, the agent does only in whisper; the same supervision is
// driven from the API-only process (listen, list, stop), with the engine's clear errors; each use
// is audited; axe on the supervisor page with the phone; screenshots.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { createNode } from '../../src/admin/nodes.service.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { startEngine, type Engine } from '../../src/app/engine.js';
import { systemActor } from '../../src/auth/audit.repository.js';
import { setPassword } from '../../src/auth/sessions.repository.js';
import { createUser, issueToken } from '../../src/auth/users.repository.js';
import { AgentBus } from '../../src/cluster/agent-bus.js';
import { defaultLeaseOptions, LeaseKeeper, newOwnerId } from '../../src/cluster/lease-keeper.js';
import { nodeLease } from '../../src/cluster/leases.repository.js';
import { PolicyResolver, savePolicy } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { dialQueueAddress } from '../../src/dialer/queue.js';
import type { SupervisionView } from '../../src/dialer/supervision.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { defaultReportSettings } from '../../src/reports/figures.js';
import { InProcessLiveSource } from '../../src/reports/live-source.js';
import { Sipp } from '../../src/sim/sipp.js';
import { checkPage, phoneShown, signInByKeyboard, type AxeFinding } from '../helpers/browser.js';
import { launchChromiumInNetns, type BrowserInNetns } from '../helpers/browser-phone.js';
import { until } from '../helpers/engine-harness.js';
import { randomCallerNumber, testConfig } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { RtpPeer } from '../helpers/rtp-peer.js';
import { ariAnswers, nodeUpInNetns } from '../helpers/webrtc-node.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// This file's own: node 8; SIP and media ports 7600-7699 (sipp SIP 7601-7602, sipp media
// 7610-7629, the phones' RTP held by this process 7640-7643).
const NODE = 8;
const ARI_PORT = 8088 + 100 * (NODE - 1);
const AMI_PORT = 5038 + 100 * (NODE - 1);
const CUSTOMER_SIP = 7601;
const AGENT_SIP = 7602;
const CUSTOMER_RTP = 7640;
const AGENT_RTP = 7642;
/** Each party's voice: a tone of its own (the supervisor's is the browser's fake microphone). */
const CUSTOMER_HZ = 440;
const AGENT_HZ = 700;
const SUPERVISOR_HZ = 1100;
/** A tone heard clearly (the phones speak at amplitude 8000) against one not heard at all. */
const HEARD = 1000;
const NOT_HEARD = 150;
/** The browser's tone heard clearly: Chromium's audio processing of the microphone (noise
 * suppression, gain control) brings a steady tone down to ~1000 (0-5 when not heard). */
const BROWSER_HEARD = 400;

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the supervisor listens and whispers from the console with the browser as the phone (WebRTC in a network namespace)', () => {
  const tag = randomUUID().slice(0, 8);
  const nodeName = `sup-${tag}`;
  const cfgOver = { ARI_APP: `dialwell-sup-${tag}`, DIAL_QUEUE: `dial-sup-${tag}` };
  let ns: Netns;
  let confDir: string;
  let recDir: string;
  let nodeUp = false;
  let db: Db;
  let keeper: LeaseKeeper | undefined;
  let bus: AgentBus | undefined;
  let engine: Engine | undefined;
  let live: InProcessLiveSource | undefined;
  /** The process that runs the engine and serves the console. */
  let withEngine: FastifyInstance | undefined;
  /** A process with no engine: supervision goes through the agent bus. */
  let apiOnly: FastifyInstance | undefined;
  let base: string;
  let chromium: BrowserInNetns | undefined;
  const sipps: Sipp[] = [];
  const peers: RtpPeer[] = [];
  let nodeId = '';
  const findings: AxeFinding[] = [];
  const pageErrors: string[] = [];
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    ns = createNetns('dw-supphone');
    confDir = mkdtempSync(path.join(tmpdir(), 'dialwell-supphone-conf-'));
    recDir = mkdtempSync(path.join(tmpdir(), 'dialwell-supphone-rec-'));
    nodeUpInNetns(ns, NODE, confDir, ['http.conf', 'pjsip.conf', 'manager.conf']);
    nodeUp = true;
    const ariUrl = `http://${ns.nsAddr}:${ARI_PORT}`;
    await until(() => ariAnswers(ariUrl), 30_000, `ARI of node ${NODE} at ${ariUrl}`);
    const celFile = `/var/cache/dialwell/asterisk22-chroot/var/log/asterisk-node${NODE}/cel-custom/dialwell-cel.jsonl`;
    const cfg = testConfig({ ...cfgOver, ARI_URL: ariUrl, AMI_HOST: ns.nsAddr, AMI_PORT: String(AMI_PORT), RECORDINGS_DIR: recDir, ASTERISK_CEL_FILE: celFile });
    const log = createLogger(cfg.LOG_LEVEL, cfg.LOG_FILE);
    db = createDb(cfg.DATABASE_URL, 10);
    // The engine paces every running campaign in the database: other files' are finished.
    await db.updateTable('campaigns').set({ state: 'completed' }).where('state', '=', 'running').execute();
    // Node 8 as a node of the installation, driven under its lease, its sessions on the agent bus (as `serve` runs it).
    const node = await createNode(db, systemActor('system'), {
      name: nodeName, ariUrl, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: ns.nsAddr, amiPort: AMI_PORT,
      amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: `${ns.nsAddr}:${5060 + 100 * (NODE - 1)}`, celFile, enabled: true,
    });
    nodeId = node.id;
    const lease = nodeLease(nodeName);
    const k = new LeaseKeeper(db, newOwnerId(), log, defaultLeaseOptions);
    keeper = k;
    k.want(lease);
    k.start();
    await k.beat();
    expect(k.holds(lease)).toBe(true);
    bus = new AgentBus(cfg.REDIS_URL, (await dialQueueAddress(db, cfg.DIAL_QUEUE)).prefix, db, log);
    await bus.start();
    const policies = new PolicyResolver(db, 0);
    engine = await startEngine(cfg, db, policies, log, {
      tickMs: 200, keeper: k, agentBus: bus,
      // Wrap-up stays until the agent (here nobody) makes them ready: the grid shows it.
      dialer: { agents: { autoReadyAfterMs: null, loginTimeoutSeconds: 20 } },
      node: { id: node.id, name: nodeName, fence: () => k.fence(lease) ?? { lease, owner: k.owner, epoch: 1 }, holds: () => k.holds(lease) },
    });
    live = new InProcessLiveSource(db, engine.dialer, defaultReportSettings, log);
    const webrtcWsUrl = `ws://${ns.nsAddr}:${ARI_PORT}/ws`;
    withEngine = await buildServer({ db, policies, log: createLogger('silent'), dialer: engine.dialer, ari: engine.ari, recordings: engine.store, live, agentBus: bus, webrtcWsUrl });
    apiOnly = await buildServer({ db, policies, log: createLogger('silent'), agentBus: bus, webrtcWsUrl });
    // The console is served on the host's end of the veth pair: the namespace's browser reaches it there.
    await withEngine.listen({ host: ns.hostAddr, port: 0 });
    base = `http://${ns.hostAddr}:${(withEngine.server.address() as AddressInfo).port}`;
    // The customer and the agent: sipp for SIP on the host's end of the veth, their media here.
    peers.push(await RtpPeer.open(CUSTOMER_RTP, CUSTOMER_HZ, ns.hostAddr), await RtpPeer.open(AGENT_RTP, AGENT_HZ, ns.hostAddr));
    sipps.push(await Sipp.start({ scenario: 'rtp-peer-phone.xml', port: CUSTOMER_SIP, mediaPort: 7610, address: ns.hostAddr, vars: { rtp_port: String(CUSTOMER_RTP) } }));
    sipps.push(await Sipp.start({ scenario: 'rtp-peer-phone.xml', port: AGENT_SIP, mediaPort: 7620, address: ns.hostAddr, vars: { rtp_port: String(AGENT_RTP) } }));
    // getUserMedia and WebRTC need a secure context: this plain-http origin is declared one.
    chromium = await launchChromiumInNetns(ns.name, SUPERVISOR_HZ, [`--unsafely-treat-insecure-origin-as-secure=${base}`]);
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await withEngine?.close();
    await apiOnly?.close();
    live?.close();
    await engine?.close();
    await bus?.close();
    await keeper?.stop();
    for (const s of sipps) await s.stop();
    for (const p of peers) p.close();
    if (nodeId) await db.updateTable('nodes').set({ enabled: false }).where('id', '=', nodeId).execute().catch(() => undefined);
    await db?.destroy();
    if (nodeUp) execFileSync('bash', [path.join(ROOT, 'scripts/stack.sh'), 'node-down', String(NODE)], { cwd: ROOT });
    ns?.close();
    for (const d of [confDir, recDir]) if (d) rmSync(d, { recursive: true, force: true });
    if (Object.keys(figures).length) process.stdout.write(`console supervision figures (ms): ${JSON.stringify(figures)}\n`);
  });

  it('sees the agent go on call within 1 s, listens and whispers from the browser phone (each audited), and drives it from an API process without the engine', async () => {
    const [customer, agentPhone] = peers as [RtpPeer, RtpPeer];
    const admin = await createUser(db, { name: `sup-admin-${tag}`, role: 'admin', agentId: null });
    const adminToken = (await issueToken(db, admin.id, 'test')).token;
    const as = (app: FastifyInstance, token: string) => (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
      app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) });
    const adminApi = as(withEngine!, adminToken);

    // The agent (a SIP phone: sipp), the supervisor's browser phone and a second supervisor's
    // browser phone that never registers; the users.
    const agentName = `Ada ${tag}`;
    const a = await adminApi('POST', '/api/v1/agents', { name: agentName, endpoint: `sa-${tag}`, contactUri: `sip:${ns.hostAddr}:${AGENT_SIP}` });
    expect(a.statusCode, a.body).toBe(201);
    const agentId = (a.json() as { id: string }).id;
    const p = await adminApi('POST', '/api/v1/agents', { name: `Sam's phone ${tag}`, endpoint: `sp-${tag}`, sipPassword: `secret-${tag}-1`, phoneType: 'webrtc' });
    expect(p.statusCode, p.body).toBe(201);
    const phoneId = (p.json() as { id: string }).id;
    const q = await adminApi('POST', '/api/v1/agents', { name: `Quiet phone ${tag}`, endpoint: `sq-${tag}`, sipPassword: `secret-${tag}-2`, phoneType: 'webrtc' });
    expect(q.statusCode, q.body).toBe(201);
    const pw = `pw ${tag} long enough`;
    const supervisor = await createUser(db, { name: `sam-${tag}`, role: 'supervisor', agentId: phoneId });
    await setPassword(db, supervisor.id, pw);
    const viaBus = as(apiOnly!, (await issueToken(db, supervisor.id, 'test')).token);
    const quiet = await createUser(db, { name: `quiet-${tag}`, role: 'supervisor', agentId: (q.json() as { id: string }).id });
    await setPassword(db, quiet.id, pw);
    const quietViaBus = as(apiOnly!, (await issueToken(db, quiet.id, 'test')).token);
    const phoneless = await createUser(db, { name: `nophone-${tag}`, role: 'supervisor', agentId: null });
    await setPassword(db, phoneless.id, pw);
    const phonelessViaBus = as(apiOnly!, (await issueToken(db, phoneless.id, 'test')).token);

    // A supervisor reads only their own phone's credentials.
    expect((await viaBus('GET', `/api/v1/agents/${phoneId}/phone`)).statusCode).toBe(200);
    expect((await viaBus('GET', `/api/v1/agents/${agentId}/phone`)).statusCode).toBe(403);
    expect((await quietViaBus('GET', `/api/v1/agents/${phoneId}/phone`)).statusCode).toBe(403);

    // The customer's trunk and campaign (started once the supervisor watches).
    const trunk = await createTrunk(db, { name: `sup-${tag}`, host: ns.hostAddr, port: CUSTOMER_SIP, codecs: ['alaw'] });
    await syncTrunk(db, engine!.ari, trunk.id);
    const callerId = await createCallerId(db, randomCallerNumber(), 'console supervision test');
    await savePolicy(db, openAllHours(`open-${tag}`), 'test');
    const campaign = await createCampaign(db, { name: `Console supervision ${tag}`, trunkId: trunk.id, callerIdId: callerId.id, policyName: `open-${tag}` });
    const contact = await addContact(db, { campaignId: campaign.id, phone: '+13055557811', name: 'Linus Customer' });
    await createAttempt(db, { campaignId: campaign.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });

    // The supervisor signs in: the supervisor view starts their browser phone (lazy chunk), which registers.
    const ctx = await chromium!.browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error' || process.env.LOG_LEVEL === 'debug') process.stderr.write(`[supervisor page] ${m.type()}: ${m.text()}\n`);
    });
    const phoneChunks: string[] = [];
    page.on('response', (r) => {
      if (/\/assets\/phone-.*\.js$/.test(r.url())) phoneChunks.push(r.url());
    });
    await signInByKeyboard(page, base, supervisor.name, pw);
    await page.getByRole('heading', { level: 1, name: 'Supervisor' }).waitFor();
    await expect.poll(async () => (await phoneShown(page))?.registered, { timeout: 15_000 }).toBe(true);
    expect(phoneChunks.length, 'the phone module came as its own lazy chunk').toBeGreaterThan(0);
    expect((await phoneShown(page))!.text).toContain('no call (Listen or Whisper rings this browser)');

    // The agent logs in (Dialwell calls the sipp phone) and is ready: the grid shows it.
    const login = await adminApi('POST', `/api/v1/agents/${agentId}/login`);
    expect(login.statusCode, login.body).toBe(200);
    const stateCell = page.getByTestId(`agent-state-${agentId}`);
    await expect.poll(async () => ((await stateCell.count()) ? stateCell.textContent() : null), { timeout: 15_000 }).toBe('ready');

    // Refused clearly, from the API process without the engine (the engine's answers, over the bus).
    const unknown = await viaBus('POST', `/api/v1/agents/${randomUUID()}/call/listen`);
    expect(unknown.statusCode, unknown.body).toBe(404);
    const noCall = await viaBus('POST', `/api/v1/agents/${agentId}/call/listen`);
    expect(noCall.statusCode, noCall.body).toBe(409);
    expect(noCall.json().error).toMatch(new RegExp(`${agentName} has no call in progress \\(ready\\)`));

    // The DOM's moment of "on-call" for this agent, and the server's.
    await page.evaluate(`(() => {
      window.__onCallAt = null;
      const check = () => {
        const el = document.querySelector('[data-testid="agent-state-${agentId}"]');
        if (el && el.textContent === 'on-call' && window.__onCallAt === null) window.__onCallAt = Date.now();
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
      check();
    })()`);
    let serverOnCallAt = 0;
    engine!.dialer.agents.on('state', (s) => {
      if (s.agentId === agentId && s.state === 'on-call' && !serverOnCallAt) serverOnCallAt = Date.now();
    });
    expect((await adminApi('POST', `/api/v1/campaigns/${campaign.id}/start`)).statusCode).toBe(200);
    await until(() => serverOnCallAt > 0, 30_000, 'the agent on a call');
    const domOnCallAt = await until(async () => (await page.evaluate('window.__onCallAt')) !== null, 5_000, 'the grid to show on-call')
      .then(() => page.evaluate('window.__onCallAt') as Promise<number>);
    figures.serverOnCallToGrid = domOnCallAt - serverOnCallAt;
    expect(figures.serverOnCallToGrid, 'the supervisor sees the agent\'s state change within 1 s').toBeLessThanOrEqual(1000);
    const callId = engine!.dialer.agents.get(agentId)!.callId!;

    // More refusals: a supervisor with no phone, one whose browser phone is not registered.
    const noPhone = await phonelessViaBus('POST', `/api/v1/agents/${agentId}/call/listen`);
    expect(noPhone.statusCode, noPhone.body).toBe(409);
    expect(noPhone.json().error).toMatch(/has no phone to listen on/);
    const unregistered = await quietViaBus('POST', `/api/v1/agents/${agentId}/call/listen`);
    expect(unregistered.statusCode, unregistered.body).toBe(409);
    expect(unregistered.json().error).toMatch(/browser phone sq-.* is not registered/);

    // The same refusals in the console, in the agent's row: a supervisor with no phone linked
    // (the page says so above the grid), and one whose browser phone fails to register (a stale
    // password on its way to the page).
    const refusedIn = async (user: { name: string }, name: string, setup?: (pg: Page) => Promise<void>) => {
      const c = await chromium!.browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const pg = await c.newPage();
      pg.on('pageerror', (e) => pageErrors.push(e.message));
      await setup?.(pg);
      await signInByKeyboard(pg, base, user.name, pw);
      await pg.getByRole('heading', { level: 1, name: 'Supervisor' }).waitFor();
      const listen = pg.getByRole('button', { name: `Listen to ${agentName}` });
      await listen.waitFor({ timeout: 10_000 });
      await listen.click();
      const alert = pg.getByRole('row').filter({ hasText: agentName }).getByRole('alert');
      await alert.waitFor({ timeout: 10_000 });
      findings.push(...(await checkPage(pg, name)));
      const text = (await alert.textContent()) ?? '';
      const phoneLine = (await pg.locator('.phone-status').first().textContent()) ?? '';
      await c.close();
      return { text, phoneLine };
    };
    const noPhoneShown = await refusedIn(phoneless, 'supervisor-no-phone');
    expect(noPhoneShown.text).toMatch(/has no phone to listen on/);
    expect(noPhoneShown.phoneLine).toMatch(/^Your phone: none linked/);
    const staleShown = await refusedIn(quiet, 'supervisor-phone-not-registered', async (pg) => {
      await pg.route('**/api/v1/agents/*/phone', async (route) => {
        const res = await route.fetch();
        const body = (await res.json()) as { webrtc: { password: string } };
        await route.fulfill({ response: res, json: { ...body, webrtc: { ...body.webrtc, password: 'stale-password' } } });
      });
    });
    expect(staleShown.text).toMatch(/browser phone sq-.* is not registered/);
    expect(staleShown.phoneLine).toMatch(/not registered/);

    /**
     * Over windows of `ms` (up to 10 s, until every path that must carry audio does): the
     * customer hears the agent and never the supervisor; the agent hears the supervisor only in
     * whisper mode. Returns the levels judged.
     */
    const judge = async (mode: 'listen' | 'whisper', ms: number) => {
      const levels = (from: number) => ({
        customerHearsAgent: Math.round(customer.levelOf(AGENT_HZ, from)), customerHearsSupervisor: Math.round(customer.levelOf(SUPERVISOR_HZ, from)),
        agentHearsCustomer: Math.round(agentPhone.levelOf(CUSTOMER_HZ, from)), agentHearsSupervisor: Math.round(agentPhone.levelOf(SUPERVISOR_HZ, from)),
      });
      const flowing = (l: ReturnType<typeof levels>) => l.customerHearsAgent > HEARD && l.agentHearsCustomer > HEARD && (mode === 'listen' || l.agentHearsSupervisor > BROWSER_HEARD);
      const deadline = Date.now() + 10_000;
      let from = Date.now() + 500;
      await wait(500 + ms);
      let l = levels(from);
      while (!flowing(l) && Date.now() < deadline) {
        from = Date.now();
        await wait(ms);
        l = levels(from);
      }
      console.log(`${mode} levels`, l);
      expect(l.customerHearsAgent).toBeGreaterThan(HEARD);
      expect(l.agentHearsCustomer).toBeGreaterThan(HEARD);
      expect(l.customerHearsSupervisor).toBeLessThan(NOT_HEARD);
      if (mode === 'whisper') expect(l.agentHearsSupervisor).toBeGreaterThan(BROWSER_HEARD);
      else expect(l.agentHearsSupervisor).toBeLessThan(NOT_HEARD);
    };

    // Listen from the console: Dialwell calls this browser, which answers by itself; audio comes in.
    const before = (await phoneShown(page))!;
    const row = page.getByRole('row').filter({ hasText: agentName });
    const pressedAt = Date.now();
    await page.getByRole('button', { name: `Listen to ${agentName}` }).click();
    await expect.poll(async () => (await phoneShown(page))?.connected, { timeout: 20_000 }).toBe(true);
    figures.listenPressedToPhoneConnected = Date.now() - pressedAt;
    await row.getByRole('status').filter({ hasText: 'Listening' }).waitFor({ timeout: 10_000 });
    await expect.poll(async () => (await phoneShown(page))?.flowing, { timeout: 10_000 }).toBe(true);
    figures.listenPressedToAudioFlowing = Date.now() - pressedAt;
    await judge('listen', 2000);
    const listening = (await phoneShown(page))!;
    expect(listening.packetsReceived - before.packetsReceived, 'the call\'s audio reached the supervisor\'s browser').toBeGreaterThan(50);
    expect(listening.energyReceived - before.energyReceived, 'with energy').toBeGreaterThan(0);
    expect(listening.text).toMatch(/registered · connected · audio flowing/);
    findings.push(...(await checkPage(page, 'supervisor-phone-listening')));

    // Whisper: the agent hears the supervisor, the customer still does not; the same phone call.
    const viewOf = async (): Promise<SupervisionView> => {
      const r = await viaBus('GET', '/api/v1/supervisions');
      expect(r.statusCode, r.body).toBe(200);
      const mine = (r.json() as { supervisions: SupervisionView[] }).supervisions.filter((s) => s.supervisorUserId === supervisor.id);
      expect(mine).toHaveLength(1);
      return mine[0]!;
    };
    const listened = await viewOf();
    expect(listened).toMatchObject({ agentId, callId, mode: 'listen', phoneEndpoint: `sp-${tag}` });
    await page.getByRole('button', { name: `Whisper to ${agentName}` }).click();
    await row.getByRole('status').filter({ hasText: 'Whispering' }).waitFor({ timeout: 10_000 });
    await judge('whisper', 2000);
    const whispered = await viewOf();
    expect(whispered).toMatchObject({ id: listened.id, mode: 'whisper', phoneChannelId: listened.phoneChannelId });
    expect((await phoneShown(page))!.connected).toBe(true);
    findings.push(...(await checkPage(page, 'supervisor-phone-whispering')));

    // From the API process without the engine: back to listen (over the bus, the same phone call), then stop.
    const back = await viaBus('POST', `/api/v1/agents/${agentId}/call/listen`);
    expect(back.statusCode, back.body).toBe(200);
    expect(back.json()).toMatchObject({ id: listened.id, mode: 'listen', phoneChannelId: listened.phoneChannelId });
    await judge('listen', 2000);
    const stop = await viaBus('DELETE', `/api/v1/agents/${agentId}/call/supervision`);
    expect(stop.statusCode, stop.body).toBe(200);
    await expect.poll(async () => (await phoneShown(page))?.connected, { timeout: 10_000 }).toBe(false);
    expect((await viaBus('GET', '/api/v1/supervisions')).json().supervisions).toEqual([]);
    const notListening = await viaBus('DELETE', `/api/v1/agents/${agentId}/call/supervision`);
    expect(notListening.statusCode, notListening.body).toBe(409);

    // Each use audited, by the supervisor, on the call.
    const audit = await db.selectFrom('audit_log').where('resource', '=', 'call').where('resource_id', '=', callId).orderBy('id').selectAll().execute();
    expect(audit.map((r) => [r.action, r.user_id])).toEqual([
      ['call.listen', supervisor.id], ['call.whisper', supervisor.id], ['call.listen', supervisor.id], ['call.supervision-end', supervisor.id],
    ]);
    expect(audit.at(-1)!.details).toMatchObject({ reason: 'stopped', supervisionId: listened.id });

    // The customer's call goes on with the agent until it is hung up; the supervisor sees wrap-up within 1 s too.
    let serverWrapUpAt = 0;
    engine!.dialer.agents.on('state', (s) => {
      if (s.agentId === agentId && s.state === 'wrap-up' && !serverWrapUpAt) serverWrapUpAt = Date.now();
    });
    await page.evaluate(`(() => {
      window.__wrapUpAt = null;
      const check = () => {
        const el = document.querySelector('[data-testid="agent-state-${agentId}"]');
        if (el && el.textContent === 'wrap-up' && window.__wrapUpAt === null) window.__wrapUpAt = Date.now();
      };
      new MutationObserver(check).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    expect((await adminApi('POST', `/api/v1/calls/${callId}/hangup`)).statusCode).toBe(200);
    await until(async () => (await page.evaluate('window.__wrapUpAt')) !== null && serverWrapUpAt > 0, 10_000, 'the grid to show wrap-up');
    figures.serverWrapUpToGrid = (await page.evaluate('window.__wrapUpAt') as number) - serverWrapUpAt;
    expect(figures.serverWrapUpToGrid).toBeLessThanOrEqual(1000);
    expect((await phoneShown(page))!.registered).toBe(true);
    findings.push(...(await checkPage(page, 'supervisor-phone-idle')));

    await ctx.close();
    expect(findings).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
