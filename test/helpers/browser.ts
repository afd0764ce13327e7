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

/** Checks the page with axe-core and saves its screenshot; returns serious and critical findings. */
export async function checkPage(page: Page, name: string): Promise<AxeFinding[]> {
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: true });
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ page: name, id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
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
