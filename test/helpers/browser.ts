// A real browser for the console's end-to-end tests: Debian's Chromium (never a downloaded one)
// driven by playwright-core, started with the flags from the project's PBX notes so it never
// reaches beyond loopback; playwright gives each launch a fresh, empty user-data-dir. Every page a
// test visits is checked with axe-core and saved as a screenshot under test-results/screenshots/.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium, type Browser, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';
export const screenshotDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test-results/screenshots');

const flags = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: install Debian's chromium (bash scripts/stack.sh up does)`);
  mkdirSync(screenshotDir, { recursive: true });
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: flags, timeout: 60_000 });
}

export interface AxeFinding {
  page: string;
  id: string;
  impact: string | null | undefined;
  help: string;
  nodes: string[];
}

/**
 * Walks the page with Tab from the top: every stop must be visible and show a focus indicator,
 * and every button, link and field of the main content must be reached (usable by keyboard).
 */
async function keyboardProblems(page: Page, name: string): Promise<AxeFinding[]> {
  const problems: AxeFinding[] = [];
  // Browser-side code as strings: this file is compiled without the DOM library.
  // The walk starts at the top (a click earlier moved Chromium's starting point); the controls to
  // reach are those enabled now (a live update may enable one during the walk).
  await page.evaluate(`(() => {
    for (const e of document.querySelectorAll('main a[href], main button:not([disabled]), main input:not([disabled]), main select, main textarea')) {
      if (e.getBoundingClientRect().width > 0) e.dataset.kbdWanted = '1';
    }
    const t = document.createElement('span');
    t.tabIndex = -1;
    document.body.prepend(t);
    t.focus();
    t.blur();
    t.remove();
    window.scrollTo(0, 0);
  })()`);
  const reached = new Set<string>();
  let previous = '';
  for (let i = 0; i < 250; i++) {
    await page.keyboard.press('Tab');
    const stop = (await page.evaluate(`(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return null;
      e.dataset.kbd = e.dataset.kbd || String(Math.random());
      const r = e.getBoundingClientRect();
      const st = getComputedStyle(e);
      return {
        id: e.dataset.kbd, label: e.tagName.toLowerCase() + ' "' + (e.getAttribute('aria-label') || e.textContent || e.name || '').trim().slice(0, 40) + '"',
        visible: r.width > 0 && r.height > 0 && st.visibility !== 'hidden',
        indicated: st.outlineStyle !== 'none' && st.outlineWidth !== '0px',
      };
    })()`)) as { id: string; label: string; visible: boolean; indicated: boolean } | null;
    if (!stop) break;
    // Date inputs and the audio player hold several stops inside one element: Tab stays on it.
    if (stop.id === previous) continue;
    if (reached.has(stop.id)) break;
    previous = stop.id;
    reached.add(stop.id);
    if (!stop.visible || !stop.indicated) {
      problems.push({ page: name, id: 'keyboard-focus', impact: 'serious', help: `focus stop ${stop.visible ? 'without a visible focus indicator' : 'not visible'}`, nodes: [stop.label] });
    }
  }
  const unreached = (await page.evaluate(`[...document.querySelectorAll('[data-kbd-wanted]')]
    .filter((e) => !e.dataset.kbd && !e.disabled && e.getBoundingClientRect().width > 0)
    .map((e) => e.tagName.toLowerCase() + ' "' + (e.textContent || e.name || '').trim().slice(0, 40) + '"')`)) as string[];
  // A page longer than the walk's limit is reported too: it would need many presses to cross.
  if (unreached.length) problems.push({ page: name, id: 'keyboard-unreached', impact: 'serious', help: 'not reached with Tab', nodes: unreached.slice(0, 5) });
  return problems;
}

/** Checks the page with axe-core and the keyboard walk, and saves its screenshot; returns serious and critical findings. */
export async function checkPage(page: Page, name: string): Promise<AxeFinding[]> {
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
  const keyboard = await keyboardProblems(page, name);
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return [
    ...keyboard,
    ...r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => ({ page: name, id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) })),
  ];
}

/** Signs in with the keyboard alone: Tab to each field, type, Enter. */
export async function signInByKeyboard(page: Page, base: string, name: string, password: string): Promise<void> {
  await page.goto(`${base}/#/sign-in`);
  // A fresh page: nothing typed before, focus at the top of the document.
  await page.reload();
  await page.getByRole('heading', { name: 'Sign in to Dialwell' }).waitFor();
  await page.keyboard.press('Tab');
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 10_000 });
}

/** What the console shows of the user's browser phone: its status text and the phone's figures,
 * which the page keeps in data attributes. */
export interface PhoneShown {
  registered: boolean;
  connected: boolean;
  flowing: boolean;
  packetsReceived: number;
  packetsSent: number;
  energyReceived: number;
  microphoneEnergy: number;
  codec: string;
  text: string;
}

export async function phoneShown(page: Page): Promise<PhoneShown | null> {
  const el = page.getByTestId('browser-phone');
  if ((await el.count()) === 0) return null;
  const a = (n: string) => el.getAttribute(`data-${n}`).then((v) => v ?? '');
  return {
    registered: (await a('registered')) === 'true', connected: (await a('connected')) === 'true', flowing: (await a('flowing')) === 'true',
    packetsReceived: Number(await a('packets-received')), packetsSent: Number(await a('packets-sent')),
    energyReceived: Number(await a('energy-received')), microphoneEnergy: Number(await a('microphone-energy')),
    codec: await a('codec'), text: (await el.textContent()) ?? '',
  };
}
