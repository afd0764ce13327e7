// The web console end to end, in Debian's Chromium against the real server, Asterisk, PostgreSQL,
// Redis and sipp: an admin signs in and sets up a trunk, a caller id, an agent and their user, a
// campaign with imported contacts; an agent signs in, logs in (a sipp softphone is the phone),
// receives a bridged customer and enters a disposition with a callback; a supervisor sees the
// agent's state change within a second and starts the campaign; QA finds the recording, plays it,
// seeks and scores it. Every page passes axe-core (no serious or critical violation) and is
// saved as a screenshot under test-results/screenshots/. Sign-in and the agent's actions use the keyboard alone.
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setPassword } from '../../src/auth/sessions.repository.js';
import { createUser } from '../../src/auth/users.repository.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import { agentViewSize } from '../helpers/console-size.js';
import { checkPage, launchChromium, screenshotDir, signInByKeyboard, type AxeFinding } from '../helpers/browser.js';
import { startEngineHarness, until, type EngineHarness } from '../helpers/engine-harness.js';
import { randomCallerNumber } from '../helpers/env.js';
import { openAllHours } from '../helpers/harness.js';

// This file's own sipp ports (console helper's range).
const CARRIER = 6810;
const SOFTPHONE = 6811;

describe('web console end to end (Chromium, Asterisk, PostgreSQL, Redis, sipp)', () => {
  let h: EngineHarness;
  let browser: Browser;
  let base: string;
  const contexts: BrowserContext[] = [];
  const findings: AxeFinding[] = [];
  const pageErrors: string[] = [];
  let tag: string;
  const pw = (who: string) => `pw ${who} ${tag} long enough`;
  const names = { admin: '', supervisor: '', qa: '', agent: '' };

  beforeAll(async () => {
    h = await startEngineHarness([
      // The customer talks for 8 s after answering, then hangs up.
      { scenario: 'customer-answer.xml', port: CARRIER, mediaPort: 9100, pauseMs: 8000 },
      { scenario: 'agent-softphone.xml', port: SOFTPHONE, mediaPort: 9200 },
    ]);
    tag = h.tag;
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
    // The first admin, supervisor and QA users exist (as `dialwell token create` makes the first admin).
    for (const role of ['admin', 'supervisor', 'qa'] as const) {
      const u = await createUser(h.db, { name: `${role}-${tag}`, role });
      await setPassword(h.db, u.id, pw(role));
      names[role] = u.name;
    }
    await savePolicy(h.db, openAllHours(`open-${tag}`), 'test');
    const card = await h.api.inject({
      method: 'POST', url: '/api/v1/scorecards',
      payload: { name: `Calls ${tag}`, criteria: [{ key: 'greeting', label: 'Greeting', weight: 1, maxScore: 5 }, { key: 'script', label: 'Script adherence', weight: 2, maxScore: 5 }] },
    });
    expect(card.statusCode, card.body).toBe(201);
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await h?.close();
  });

  // What every open page showed when a test ended (for a failed run, the place it stopped).
  let testNo = 0;
  afterEach(async () => {
    testNo++;
    for (const [i, c] of contexts.entries()) {
      for (const pg of c.pages()) await pg.screenshot({ path: `${screenshotDir}/end-of-test-${testNo}-page-${i}.png`, fullPage: true }).catch(() => undefined);
    }
  });

  const newPage = async (): Promise<Page> => {
    const c = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    contexts.push(c);
    const p = await c.newPage();
    p.on('pageerror', (e) => pageErrors.push(e.message));
    return p;
  };
  const visit = async (p: Page, hash: string, heading: string | RegExp, shot: string) => {
    await p.goto(`${base}/${hash}`);
    await p.getByRole('heading', { level: 1, name: heading }).waitFor();
    await p.waitForLoadState('networkidle').catch(() => undefined);
    findings.push(...(await checkPage(p, shot)));
  };
  const submit = async (p: Page, form: string, button = 'Save') => {
    await p.getByRole('form', { name: form }).getByRole('button', { name: button }).click();
  };

  let agentId = '';
  let campaignName = '';

  it('an admin signs in and adds a trunk, a caller id, an agent and their user, a campaign, and imports contacts', async () => {
    const p = await newPage();
    await p.goto(`${base}/`);
    await p.getByRole('heading', { name: 'Sign in to Dialwell' }).waitFor();
    findings.push(...(await checkPage(p, 'sign-in')));
    // A wrong password is answered in words, on the page.
    await p.getByLabel('Name', { exact: true }).fill(names.admin);
    await p.getByLabel('Password', { exact: true }).fill('wrong password!');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByText('the name or the password is wrong').waitFor();
    await signInByKeyboard(p, base, names.admin, pw('admin'));
    await p.getByRole('heading', { level: 1, name: 'Admin: Trunks' }).waitFor();

    await visit(p, '#/admin/trunks', 'Admin: Trunks', 'admin-trunks');
    const trunkForm = p.getByRole('form', { name: 'Add a trunk' });
    await trunkForm.getByLabel('Name', { exact: true }).fill(`e2e-${tag}`);
    await trunkForm.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await trunkForm.getByLabel('Port', { exact: true }).fill(String(CARRIER));
    await trunkForm.getByLabel('Codecs', { exact: true }).fill('alaw, ulaw');
    await submit(p, 'Add a trunk');
    await p.getByText(`Trunk e2e-${tag} added`).waitFor();
    await p.getByRole('cell', { name: `e2e-${tag}` }).waitFor();
    findings.push(...(await checkPage(p, 'admin-trunks-added')));

    await visit(p, '#/admin/caller-ids', 'Admin: Caller ids', 'admin-caller-ids');
    const cidForm = p.getByRole('form', { name: 'Add a caller id' });
    // The server's field error appears next to the field.
    await cidForm.getByLabel('Number', { exact: true }).fill('12');
    await submit(p, 'Add a caller id');
    const numberField = cidForm.locator('.field').filter({ has: p.getByLabel('Number', { exact: true }) });
    await numberField.locator('.field-error').waitFor();
    expect(await numberField.locator('.field-error').textContent()).toMatch(/\S/);
    findings.push(...(await checkPage(p, 'admin-caller-ids-field-error')));
    const number = randomCallerNumber();
    await cidForm.getByLabel('Number', { exact: true }).fill(number);
    await submit(p, 'Add a caller id');
    await p.getByText(`Caller id ${number} added`).waitFor();

    await visit(p, '#/admin/agents', 'Admin: Agents', 'admin-agents');
    const agentForm = p.getByRole('form', { name: 'Add an agent' });
    await agentForm.getByLabel('Name', { exact: true }).fill(`Agent ${tag}`);
    await agentForm.getByLabel('Phone endpoint', { exact: true }).fill(`e2e-${tag}`);
    await agentForm.getByLabel('Contact URI', { exact: true }).fill(`sip:127.0.0.1:${SOFTPHONE}`);
    await submit(p, 'Add an agent');
    await p.getByText(`Agent Agent ${tag} added`).waitFor();
    agentId = (await h.db.selectFrom('agents').select('id').where('endpoint', '=', `e2e-${tag}`).executeTakeFirstOrThrow()).id;

    await visit(p, '#/admin/users', 'Admin: Users', 'admin-users');
    const userForm = p.getByRole('form', { name: 'Add a user' });
    names.agent = `agent-${tag}`;
    await userForm.getByLabel('Name', { exact: true }).fill(names.agent);
    await userForm.getByLabel('Role', { exact: true }).selectOption('agent');
    await userForm.getByLabel('Works as agent', { exact: true }).selectOption({ label: `Agent ${tag}` });
    await userForm.getByLabel('Password', { exact: true }).fill(pw('agent'));
    await submit(p, 'Add a user');
    await p.getByText(`User ${names.agent} added and can sign in`).waitFor();

    await visit(p, '#/admin/campaigns', 'Admin: Campaigns', 'admin-campaigns');
    campaignName = `E2E ${tag}`;
    const campForm = p.getByRole('form', { name: 'Create a campaign' });
    await campForm.getByLabel('Name', { exact: true }).fill(campaignName);
    await campForm.getByLabel('Trunk', { exact: true }).selectOption({ label: `e2e-${tag}` });
    await campForm.getByLabel('Caller id', { exact: true }).selectOption({ label: number });
    await campForm.getByLabel('Compliance policy', { exact: true }).fill(`open-${tag}`);
    await campForm.getByLabel('Opening', { exact: true }).fill('Good morning, this is Dialwell calling about your order.');
    await campForm.getByLabel('Proposal', { exact: true }).fill('Would you like the new plan?');
    await submit(p, 'Create a campaign');
    await p.getByText(`Campaign ${campaignName} created`).waitFor();
    const importForm = p.getByRole('form', { name: 'Import contacts' });
    await importForm.getByLabel('Campaign', { exact: true }).selectOption({ label: campaignName });
    await importForm.getByLabel('CSV file', { exact: true }).setInputFiles({ name: 'contacts.csv', mimeType: 'text/csv', buffer: Buffer.from('phone,name\n+13055557301,Ada Lovelace\nnot-a-number,Bad Row\n') });
    await importForm.getByRole('button', { name: 'Import' }).click();
    await p.getByText('Imported 1 of 2 rows').waitFor();
    await p.getByRole('table', { name: 'Rejected rows' }).waitFor();
    findings.push(...(await checkPage(p, 'admin-campaigns-imported')));

    await visit(p, '#/admin/policies', 'Admin: Policies', 'admin-policies');
    const tester = p.getByRole('form', { name: 'Test a number' });
    await tester.getByLabel('Phone number', { exact: true }).fill('+13055557301');
    await submit(p, 'Test a number', 'Check');
    await p.getByText(/^(Allowed|Not allowed) now\.$/).waitFor();
    findings.push(...(await checkPage(p, 'admin-policies-tested')));
    await visit(p, '#/admin/dnc', 'Admin: Do not call', 'admin-dnc');
    await visit(p, '#/admin/audit', 'Admin: Audit log', 'admin-audit');
    await p.getByRole('cell', { name: 'trunk.created' }).first().waitFor();
    await visit(p, '#/account', 'Your account', 'account');
  }, 180_000);

  let agentPage: Page;
  let supPage: Page;

  it('an agent signs in and goes ready; the supervisor sees each state change within a second', async () => {
    agentPage = await newPage();
    await signInByKeyboard(agentPage, base, names.agent, pw('agent'));
    await agentPage.getByRole('heading', { level: 1, name: 'My calls' }).waitFor();
    findings.push(...(await checkPage(agentPage, 'agent-logged-out')));
    supPage = await newPage();
    await signInByKeyboard(supPage, base, names.supervisor, pw('supervisor'));
    await supPage.getByRole('heading', { level: 1, name: 'Supervisor' }).waitFor();

    // Alt+L: Dialwell calls the (sipp) phone once; the agent is ready.
    await agentPage.keyboard.press('Alt+L');
    const status = agentPage.getByRole('region', { name: 'Your state' }).getByRole('status').first();
    await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/^Ready/);
    const cell = supPage.getByTestId(`agent-state-${agentId}`);
    await expect.poll(() => cell.textContent(), { timeout: 5_000 }).toBe('ready');
    findings.push(...(await checkPage(agentPage, 'agent-ready')));

    // Pause with the keyboard; time until the supervisor's grid shows it.
    const t0 = Date.now();
    await agentPage.keyboard.press('Alt+P');
    await cell.filter({ hasText: 'paused' }).waitFor({ timeout: 5_000 });
    const pauseSeenMs = Date.now() - t0;
    findings.push(...(await checkPage(supPage, 'supervisor-agent-paused')));
    const t1 = Date.now();
    await agentPage.keyboard.press('Alt+R');
    await cell.filter({ hasText: 'ready' }).waitFor({ timeout: 5_000 });
    const readySeenMs = Date.now() - t1;
    console.log(`supervisor saw the agent's change after ${pauseSeenMs} ms (pause) and ${readySeenMs} ms (ready)`);
    expect(pauseSeenMs).toBeLessThan(1000);
    expect(readySeenMs).toBeLessThan(1000);
  }, 120_000);

  it('the supervisor starts the campaign; the agent gets the bridged customer and enters a disposition with a callback', async () => {
    await supPage.getByRole('button', { name: `Start ${campaignName}` }).click();
    await supPage.getByText(`start ${campaignName}: done.`).waitFor();
    await supPage.getByRole('heading', { level: 3, name: campaignName }).waitFor({ timeout: 5_000 });
    const cell = supPage.getByTestId(`agent-state-${agentId}`);
    await cell.filter({ hasText: 'on-call' }).waitFor({ timeout: 30_000 });
    findings.push(...(await checkPage(supPage, 'supervisor-on-call')));

    await agentPage.getByRole('heading', { level: 2, name: 'Current call' }).waitFor();
    await agentPage.getByText('Ada Lovelace').waitFor({ timeout: 10_000 });
    // The agent may not view numbers: masked.
    await agentPage.getByText('+1 305****301').waitFor();
    await agentPage.getByText('Good morning, this is Dialwell calling about your order.').waitFor();
    findings.push(...(await checkPage(agentPage, 'agent-on-call')));

    // The customer hangs up after 8 s: wrap-up, then the disposition (Alt+D jumps to it).
    await cell.filter({ hasText: 'wrap-up' }).waitFor({ timeout: 30_000 });
    await agentPage.getByRole('region', { name: 'Your state' }).getByText('Wrap-up').waitFor();
    await agentPage.keyboard.press('Alt+D');
    await agentPage.keyboard.type('callback-requested');
    const form = agentPage.getByRole('form', { name: 'Disposition' });
    const at = new Date(Date.now() + 86_400_000);
    const local = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
    await form.getByLabel('Call back at', { exact: true }).fill(local);
    await form.getByLabel('Note for the callback', { exact: true }).fill('Prefers mornings');
    findings.push(...(await checkPage(agentPage, 'agent-wrap-up')));
    await form.getByRole('button', { name: 'Save disposition' }).click();
    await expect.poll(async () => {
      const call = await h.db.selectFrom('calls').innerJoin('campaigns', 'campaigns.id', 'calls.campaign_id').select('calls.disposition').where('campaigns.name', '=', campaignName).executeTakeFirst();
      return call?.disposition;
    }, { timeout: 10_000 }).toBe('callback-requested');
    // The callback: for this agent ("me"), tomorrow, with the note (written just after the disposition).
    const callbacksOf = () => h.db.selectFrom('attempts').innerJoin('campaigns', 'campaigns.id', 'attempts.campaign_id')
      .select(['attempts.agent_id', 'attempts.note', 'attempts.scheduled_at'])
      .where('campaigns.name', '=', campaignName).where('attempts.is_callback', '=', true).execute();
    await expect.poll(async () => (await callbacksOf()).length, { timeout: 5_000 }).toBe(1);
    const callbacks = await callbacksOf();
    expect(callbacks).toMatchObject([{ agent_id: agentId, note: 'Prefers mornings' }]);
    expect(Math.abs(callbacks[0]!.scheduled_at.getTime() - at.getTime())).toBeLessThan(60_000);
    await supPage.getByRole('button', { name: `Complete ${campaignName}` }).click();
    await supPage.getByText(`complete ${campaignName}: done.`).waitFor();
    findings.push(...(await checkPage(supPage, 'supervisor')));
  }, 120_000);

  it('QA finds the recording, plays it, seeks through HTTP Range, and scores it', async () => {
    const p = await newPage();
    await signInByKeyboard(p, base, names.qa, pw('qa'));
    await p.getByRole('heading', { level: 1, name: 'Quality: calls' }).waitFor();
    // The recording is stored when the call closes: wait for its row.
    await until(async () => !!(await h.db.selectFrom('recordings').innerJoin('calls', 'calls.id', 'recordings.call_id').innerJoin('campaigns', 'campaigns.id', 'calls.campaign_id')
      .select('recordings.id').where('campaigns.name', '=', campaignName).executeTakeFirst()), 20_000, 'the recording row');
    await p.getByLabel('Recorded only', { exact: true }).check();
    await p.getByRole('search', { name: 'Search calls' }).getByRole('button', { name: 'Search' }).click();
    const row = p.getByRole('row').filter({ hasText: campaignName });
    await row.first().waitFor();
    findings.push(...(await checkPage(p, 'qa-calls')));
    const ranges: { status: number; range: string | undefined }[] = [];
    p.on('response', (r) => {
      if (r.url().includes('/audio')) ranges.push({ status: r.status(), range: r.request().headers().range });
    });
    await row.first().getByRole('link').click();
    await p.getByRole('heading', { level: 1, name: 'Quality: call' }).waitFor();
    const player = p.getByTestId('player');
    await player.waitFor();
    await expect.poll(() => player.evaluate((a) => (a as unknown as { duration: number }).duration), { timeout: 10_000 }).toBeGreaterThan(5);
    await p.getByRole('button', { name: 'Forward 5 s' }).click();
    await expect.poll(() => player.evaluate((a) => (a as unknown as { currentTime: number }).currentTime), { timeout: 5_000 }).toBeGreaterThanOrEqual(5);
    expect(ranges.some((r) => r.status === 206 && r.range?.startsWith('bytes='))).toBe(true);
    findings.push(...(await checkPage(p, 'qa-call')));

    const form = p.getByRole('form', { name: 'Score this call' });
    await form.getByLabel('Greeting (0–5)', { exact: true }).fill('4');
    await form.getByLabel('Script adherence (0–5)', { exact: true }).fill('5');
    await form.getByLabel('Comment', { exact: true }).fill('Clear opening.');
    await form.getByLabel('Time mark (seconds into the recording)', { exact: true }).fill('2');
    await form.getByLabel('Note at that time', { exact: true }).fill('Greets by name');
    await form.getByRole('button', { name: 'Save review' }).click();
    await p.getByText('Review saved.').waitFor();
    await p.getByRole('button', { name: /Greets by name/ }).waitFor();
    findings.push(...(await checkPage(p, 'qa-call-reviewed')));
    await visit(p, '#/qa/complaints', 'Quality: complaints', 'qa-complaints');
  }, 120_000);

  it('keeps the agent view\'s JavaScript under 300 KB gzipped', () => {
    const s = agentViewSize();
    console.log(`agent view JS: ${(s.gzipBytes / 1024).toFixed(1)} KB gzipped in ${s.files.length} files`);
    expect(s.files.length).toBeGreaterThanOrEqual(2);
    expect(s.gzipBytes).toBeLessThan(300 * 1024);
  });

  it('found no serious or critical accessibility violation and no script error on any page', () => {
    expect(findings).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
