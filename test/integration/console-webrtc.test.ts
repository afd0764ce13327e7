// The console's agent view with the browser as the phone, end to end on the real stack: a network
// namespace of this test's own (Asterisk never offers 127.0.0.1 as an ICE candidate) holds
// Asterisk node 6, Debian's Chromium and a sipp customer; the dialer and the API (serving the
// built console) run here, listening on the veth pair's host address. The agent signs in to the
// console, the phone (lazy JsSIP chunk) registers and answers the login call by itself, the agent
// goes ready with the keyboard, a customer is bridged and audio flows both ways (the phone's own
// getStats figures on the page; the bridge's recording), the agent enters a disposition with a
// callback, a reload keeps the session (the phone is called again), and sign-out logs out.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addContact, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { syncTrunk } from '../../src/admin/pbx-sync.js';
import { setPassword } from '../../src/auth/sessions.repository.js';
import { createUser } from '../../src/auth/users.repository.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import { readWavInfo } from '../../src/recordings/wav.js';
import { Sipp } from '../../src/sim/sipp.js';
import { checkPage, phoneShown, screenshotDir, signInByKeyboard, type AxeFinding } from '../helpers/browser.js';
import { launchChromiumInNetns, type BrowserInNetns } from '../helpers/browser-phone.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';
import { createNetns, type Netns } from '../helpers/netns.js';
import { writeGreetingPcap } from '../helpers/pcap.js';
import { ariAnswers, nodeUpInNetns, rmsBetween } from '../helpers/webrtc-node.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// This file's own ranges: node 6, sipp SIP 7200-7249, sipp media 8500-8999.
const NODE = 6;
const ARI_PORT = 8088 + 100 * (NODE - 1);
const AMI_PORT = 5038 + 100 * (NODE - 1);
const CUSTOMER_PORT = 7201;
const CUSTOMER_MEDIA = 8500;
const MIC_HZ = 660;
/** The customer talks (a 440 Hz tone) this long, then is silent until CALL_MS and hangs up. */
const CUSTOMER_TALK_MS = 3000;
const CALL_MS = 8000;

describe('the console\'s agent view with the browser as the phone (WebRTC in a network namespace)', () => {
  let ns: Netns;
  let confDir: string;
  let recDir: string;
  let nodeUp = false;
  let h: EngineHarness;
  let base: string;
  let chromium: BrowserInNetns;
  let sipp: Sipp | undefined;
  const findings: AxeFinding[] = [];
  const pageErrors: string[] = [];
  const figures: Record<string, number> = {};

  beforeAll(async () => {
    ns = createNetns('dw-cwebrtc');
    confDir = mkdtempSync(path.join(tmpdir(), 'dialwell-cwebrtc-conf-'));
    recDir = mkdtempSync(path.join(tmpdir(), 'dialwell-cwebrtc-rec-'));
    // Node 6 bound inside the namespace; AMI too (the engine's Cdr events), for the host's end of the veth.
    nodeUpInNetns(ns, NODE, confDir, ['http.conf', 'pjsip.conf', 'manager.conf']);
    nodeUp = true;
    const ariUrl = `http://${ns.nsAddr}:${ARI_PORT}`;
    await until(() => ariAnswers(ariUrl), 30_000, `ARI of node ${NODE} at ${ariUrl}`);
    h = await startEngineHarness([], {
      config: {
        ARI_URL: ariUrl, AMI_HOST: ns.nsAddr, AMI_PORT: String(AMI_PORT), RECORDINGS_DIR: recDir,
        ASTERISK_CEL_FILE: `/var/cache/dialwell/asterisk22-chroot/var/log/asterisk-node${NODE}/cel-custom/dialwell-cel.jsonl`,
      },
      webrtcWsUrl: `ws://${ns.nsAddr}:${ARI_PORT}/ws`,
    });
    // The console is served on the host's end of the veth pair: the namespace's browser reaches it there.
    await h.app.listen({ host: ns.hostAddr, port: 0 });
    base = `http://${ns.hostAddr}:${(h.app.server.address() as AddressInfo).port}`;
    mkdirSync(screenshotDir, { recursive: true });
    // getUserMedia and WebRTC need a secure context: this plain-http origin is declared one.
    chromium = await launchChromiumInNetns(ns.name, MIC_HZ, [`--unsafely-treat-insecure-origin-as-secure=${base}`]);
  }, 120_000);

  afterAll(async () => {
    await chromium?.close();
    await sipp?.stop();
    await h?.close();
    if (nodeUp) execFileSync('bash', [path.join(ROOT, 'scripts/stack.sh'), 'node-down', String(NODE)], { cwd: ROOT });
    ns?.close();
    for (const d of [confDir, recDir]) if (d) rmSync(d, { recursive: true, force: true });
    if (Object.keys(figures).length) process.stdout.write(`console webrtc figures (ms): ${JSON.stringify(figures)}\n`);
  });

  const newPage = async (): Promise<Page> => {
    const ctx = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const p = await ctx.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' || process.env.LOG_LEVEL === 'debug') process.stderr.write(`[agent page] ${m.type()}: ${m.text()}\n`);
    });
    return p;
  };

  it('an agent signs in with the browser as the phone, takes a bridged call with audio both ways, dispositions it, survives a reload, signs out', async () => {
    const tag = h.tag;
    // The console's CSP lets the page open the phone's websocket (and nothing else outside).
    const index = await fetch(`${base}/`);
    expect(index.headers.get('content-security-policy')).toContain(`connect-src 'self' ws://${ns.nsAddr}:${ARI_PORT};`);

    // A webrtc agent and their user; a SIP-phone agent and theirs.
    const created = await h.api.inject({ method: 'POST', url: '/api/v1/agents', payload: { name: `Web ${tag}`, endpoint: `cw-${tag}`, sipPassword: `secret-${tag}-1`, phoneType: 'webrtc' } });
    expect(created.statusCode, created.body).toBe(201);
    const agentId = (created.json() as { id: string }).id;
    const sipAgent = await h.api.inject({ method: 'POST', url: '/api/v1/agents', payload: { name: `Sip ${tag}`, endpoint: `cs-${tag}`, contactUri: 'sip:127.0.0.1:7202' } });
    expect(sipAgent.statusCode, sipAgent.body).toBe(201);
    const pw = `pw ${tag} long enough`;
    const user = await createUser(h.db, { name: `web-${tag}`, role: 'agent', agentId });
    await setPassword(h.db, user.id, pw);
    const sipUser = await createUser(h.db, { name: `sip-${tag}`, role: 'agent', agentId: (sipAgent.json() as { id: string }).id });
    await setPassword(h.db, sipUser.id, pw);

    // A SIP-phone agent sees no browser phone.
    const sipPage = await newPage();
    await signInByKeyboard(sipPage, base, sipUser.name, pw);
    await sipPage.getByRole('heading', { level: 1, name: 'My calls' }).waitFor();
    await sipPage.getByText('Phone: not called').waitFor();
    expect(await sipPage.getByTestId('browser-phone').count()).toBe(0);
    await sipPage.context().close();

    // A customer in the namespace behind a trunk of its own, in a campaign started later.
    const pcap = path.join(confDir, 'customer.pcap');
    writeGreetingPcap(pcap, CUSTOMER_TALK_MS, CALL_MS - CUSTOMER_TALK_MS + 1000);
    sipp = await Sipp.start({ scenario: 'customer-greeting.xml', port: CUSTOMER_PORT, mediaPort: CUSTOMER_MEDIA, pauseMs: CALL_MS, maxCalls: 1, vars: { pcap }, netns: ns.name });
    const trunk = await createTrunk(h.db, { name: `cw-${tag}`, host: '127.0.0.1', port: CUSTOMER_PORT, codecs: ['alaw'] });
    await syncTrunk(h.db, h.engine.ari, trunk.id);
    const callerId = await createCallerId(h.db, randomCallerNumber(), 'console webrtc test');
    await savePolicy(h.db, openAllHours(`open-${tag}`), 'test');
    const campaign = await createCampaign(h.db, { name: `Console WebRTC ${tag}`, trunkId: trunk.id, callerIdId: callerId.id, policyName: `open-${tag}` });
    const contact = await addContact(h.db, { campaignId: campaign.id, phone: '+13055557401', name: 'Grace Hopper' });
    await createAttempt(h.db, { campaignId: campaign.id, contactId: contact.id, phone: contact.phone, idempotencyKey: randomUUID() });

    // The agent signs in: the phone chunk loads, registers; the view says so.
    const page = await newPage();
    const phoneChunks: string[] = [];
    page.on('response', (r) => {
      if (/\/assets\/phone-.*\.js$/.test(r.url())) phoneChunks.push(r.url());
    });
    await signInByKeyboard(page, base, user.name, pw);
    await page.getByRole('heading', { level: 1, name: 'My calls' }).waitFor();
    await expect.poll(async () => (await phoneShown(page))?.registered, { timeout: 15_000 }).toBe(true);
    expect(phoneChunks.length, 'the phone module came as its own lazy chunk').toBeGreaterThan(0);
    expect((await phoneShown(page))!.text).toContain('registered');
    findings.push(...(await checkPage(page, 'webrtc-agent-registered')));

    // Alt+L: Dialwell calls this browser, which answers by itself; media connects.
    const status = page.getByRole('region', { name: 'Your state' }).getByRole('status').first();
    const loginAt = Date.now();
    await page.keyboard.press('Alt+L');
    await expect.poll(async () => (await phoneShown(page))?.connected, { timeout: 20_000 }).toBe(true);
    figures.loginKeyToPhoneConnected = Date.now() - loginAt;
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toMatch(/^Ready/);
    expect((await phoneShown(page))!.text).toMatch(/registered · connected/);
    // Pause and ready again with the keyboard.
    await page.keyboard.press('Alt+P');
    await expect.poll(() => status.textContent(), { timeout: 5_000 }).toMatch(/^Paused/);
    await page.keyboard.press('Alt+R');
    await expect.poll(() => status.textContent(), { timeout: 5_000 }).toMatch(/^Ready/);
    expect(h.engine.dialer.agents.get(agentId)?.state).toBe('ready');
    findings.push(...(await checkPage(page, 'webrtc-agent-ready')));

    // A customer is dialed and bridged: the card appears, audio flows both ways.
    const before = (await phoneShown(page))!;
    const start = await h.api.inject({ method: 'POST', url: `/api/v1/campaigns/${campaign.id}/start` });
    expect(start.statusCode, start.body).toBe(200);
    await page.getByText('Grace Hopper').waitFor({ timeout: 30_000 });
    const onCallAt = Date.now();
    await expect.poll(async () => (await phoneShown(page))?.flowing, { timeout: 10_000 }).toBe(true);
    figures.cardToAudioFlowingShown = Date.now() - onCallAt;
    expect((await phoneShown(page))!.text).toContain('audio flowing');
    await page.screenshot({ path: path.join(screenshotDir, 'webrtc-agent-audio-flowing.png'), fullPage: true });
    findings.push(...(await checkPage(page, 'webrtc-agent-on-call')));

    // The customer hangs up: wrap-up; the figures the phone showed during the call.
    await expect.poll(() => status.textContent(), { timeout: 20_000 }).toMatch(/^Wrap-up/);
    const after = (await phoneShown(page))!;
    expect(after.packetsReceived - before.packetsReceived, 'the customer\'s packets reached the browser').toBeGreaterThan(100);
    expect(after.energyReceived - before.energyReceived, 'with energy').toBeGreaterThan(0);
    expect(after.packetsSent - before.packetsSent, 'the microphone\'s packets left the browser').toBeGreaterThan(100);
    expect(after.microphoneEnergy - before.microphoneEnergy, 'the fake microphone plays its tone').toBeGreaterThan(0);
    expect(after.codec).toBe('audio/opus');

    // The disposition with a callback, through the form (Alt+D jumps to it).
    await page.keyboard.press('Alt+D');
    await page.keyboard.type('callback-requested');
    const form = page.getByRole('form', { name: 'Disposition' });
    const at = new Date(Date.now() + 86_400_000);
    const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await form.getByLabel('Call back at', { exact: true }).fill(local);
    await form.getByLabel('Note for the callback', { exact: true }).fill('After lunch');
    findings.push(...(await checkPage(page, 'webrtc-agent-wrap-up')));
    await form.getByRole('button', { name: 'Save disposition' }).click();
    const call = async () => h.db.selectFrom('calls').select(['id', 'disposition', 'agent_id']).where('campaign_id', '=', campaign.id).executeTakeFirst();
    await expect.poll(async () => (await call())?.disposition, { timeout: 10_000 }).toBe('callback-requested');
    expect((await call())?.agent_id).toBe(agentId);
    const callbacksOf = () => h.db.selectFrom('attempts').select(['agent_id', 'note', 'scheduled_at']).where('campaign_id', '=', campaign.id).where('is_callback', '=', true).execute();
    await expect.poll(async () => (await callbacksOf()).length, { timeout: 5_000 }).toBe(1);
    const [callback] = await callbacksOf();
    expect(callback).toMatchObject({ agent_id: agentId, note: 'After lunch' });
    expect(Math.abs(callback!.scheduled_at.getTime() - at.getTime())).toBeLessThan(60_000);

    // The bridge's recording: loud while the customer talks, and still loud after the customer
    // fell silent (the browser's 660 Hz microphone): audio went both ways through Asterisk.
    const callId = (await call())!.id;
    await until(async () => !!(await h.db.selectFrom('recordings').select('id').where('call_id', '=', callId).executeTakeFirst()), 20_000, 'the recording row');
    const rec = await h.db.selectFrom('recordings').where('call_id', '=', callId).selectAll().executeTakeFirstOrThrow();
    const wav = readFileSync(path.join(recDir, rec.storage_key));
    const info = readWavInfo(wav);
    figures.recordingRmsWithCustomer = Math.round(rmsBetween(wav, 500, CUSTOMER_TALK_MS - 500));
    figures.recordingRmsBrowserOnly = Math.round(rmsBetween(wav, CUSTOMER_TALK_MS + 1500, info.durationMs - 500));
    expect(figures.recordingRmsWithCustomer).toBeGreaterThan(300);
    expect(figures.recordingRmsBrowserOnly).toBeGreaterThan(300);

    // A reload keeps the session: the new page starts the phone again and Dialwell calls it.
    await page.keyboard.press('Alt+R');
    await expect.poll(() => status.textContent(), { timeout: 5_000 }).toMatch(/^Ready/);
    const seen = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.add(h.engine.dialer.agents.get(agentId)?.state ?? 'none');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const credentialReads = async () => (await h.db.selectFrom('audit_log').select('id').where('resource_id', '=', agentId).where('action', '=', 'agent.phone-credentials-read').execute()).length;
    const readsBefore = await credentialReads();
    const reloadAt = Date.now();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'My calls' }).waitFor();
    await expect.poll(async () => (await phoneShown(page))?.connected, { timeout: 30_000 }).toBe(true);
    figures.reloadToPhoneConnectedShown = Date.now() - reloadAt;
    await expect.poll(() => status.textContent(), { timeout: 10_000 }).toMatch(/^Ready/);
    watching = false;
    await watcher;
    expect([...seen]).not.toContain('logged-out');
    expect(await credentialReads()).toBe(readsBefore + 1);
    findings.push(...(await checkPage(page, 'webrtc-agent-after-reload')));

    // Another view of the console and back: the phone stays (same call, no new credentials read).
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByRole('heading', { level: 1, name: 'Your account' }).waitFor();
    await new Promise((r) => setTimeout(r, 1500));
    await page.getByRole('link', { name: 'My calls' }).click();
    await page.getByRole('heading', { level: 1, name: 'My calls' }).waitFor();
    expect(await phoneShown(page)).toMatchObject({ registered: true, connected: true });
    expect(await credentialReads()).toBe(readsBefore + 1);
    expect(h.engine.dialer.agents.get(agentId)?.state).toBe('ready');

    // Sign-out logs the agent out (the line is hung up) and stops the phone.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Dialwell' }).waitFor();
    await until(() => h.engine.dialer.agents.get(agentId)?.state === 'logged-out' || !h.engine.dialer.agents.get(agentId), 5_000, 'the agent to be logged out at sign-out');

    // A problem is shown: a phone given a stale password (the answer of GET …/phone altered on
    // its way to the page) fails to register; the state bar says so, in an alert.
    await page.route('**/api/v1/agents/*/phone', async (route) => {
      const res = await route.fetch();
      const body = (await res.json()) as { webrtc: { password: string } };
      await route.fulfill({ response: res, json: { ...body, webrtc: { ...body.webrtc, password: 'stale-password' } } });
    });
    await signInByKeyboard(page, base, user.name, pw);
    await page.getByRole('heading', { level: 1, name: 'My calls' }).waitFor();
    const alert = page.getByRole('region', { name: 'Your state' }).getByRole('alert');
    await expect.poll(() => alert.textContent(), { timeout: 15_000 }).toMatch(/^Phone problem: registration failed/);
    expect((await phoneShown(page))!.text).toContain('not registered');
    findings.push(...(await checkPage(page, 'webrtc-agent-registration-failed')));

    await sipp.waitExit(5000).catch(() => undefined);
    expect(sipp.errors()).toBe('');
    expect(findings).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
