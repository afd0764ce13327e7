// Debian's Chromium inside a test's network namespace, with the browser phone's test page
// (web/src/phone/test-page.ts bundled by esbuild) served by playwright itself at
// http://localhost/phone-test: a secure context (getUserMedia, WebRTC) with no web server, and
// the page reaches Asterisk's websocket on the namespace's own address. The microphone is
// Chromium's fake device playing a tone of a known frequency, so the recording can show it.
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { pcm16MonoWav } from '../../src/recordings/wav.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = '/usr/bin/chromium';
export const PHONE_PAGE_URL = 'http://localhost/phone-test';

/** A mono 16-bit 48 kHz wav of a sine tone (Chromium loops it as the fake microphone). */
export function writeToneWav(file: string, hz: number, seconds = 2, amplitude = 10_000): void {
  const rate = 48_000;
  const samples = Array.from({ length: rate * seconds }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate)));
  writeFileSync(file, pcm16MonoWav(samples, rate));
}

export async function phoneTestPageHtml(): Promise<string> {
  const out = await build({ entryPoints: [path.join(ROOT, 'web/src/phone/test-page.ts')], bundle: true, write: false, format: 'iife', platform: 'browser', target: 'es2022' });
  const js = out.outputFiles[0]!.text.replaceAll('</script', '<\\/script');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dialwell phone test</title></head><body><main><h1>Phone</h1></main><script>${js}</script></body></html>`;
}

export interface BrowserInNetns {
  browser: Browser;
  /** A page on the phone test page. */
  openPhonePage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Starts Chromium inside the namespace (a wrapper runs it under `ip netns exec`; playwright talks
 * over its pipe). `extraArgs`: more flags (the console's test treats its http origin as secure).
 */
export async function launchChromiumInNetns(netns: string, microphoneHz: number, extraArgs: string[] = []): Promise<BrowserInNetns> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (bash scripts/stack.sh up does)`);
  const dir = mkdtempSync(path.join(tmpdir(), 'dialwell-chromium-'));
  const wrapper = path.join(dir, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${netns} ${CHROMIUM} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const tone = path.join(dir, 'microphone.wav');
  writeToneWav(tone, microphoneHz);
  const browser = await chromium.launch({
    executablePath: wrapper,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${tone}`,
      '--allow-loopback-in-peer-connection',
      // The page (localhost) reaching the node's private address: Chromium's local network access checks would block it.
      '--disable-features=WebRtcHideLocalIpsWithMdns,LocalNetworkAccessChecks', '--autoplay-policy=no-user-gesture-required',
      ...extraArgs,
    ],
  });
  const html = await phoneTestPageHtml();
  return {
    browser,
    async openPhonePage() {
      const ctx = await browser.newContext();
      // Only the test page is served; any other request (none is expected) is refused, never sent out.
      await ctx.route('**/*', (route) => (route.request().url() === PHONE_PAGE_URL ? route.fulfill({ contentType: 'text/html', body: html }) : route.abort()));
      const page = await ctx.newPage();
      // What the page says goes to the test's output when it fails (LOG_LEVEL=debug shows all).
      page.on('console', (m) => {
        if (m.type() === 'error' || process.env.LOG_LEVEL === 'debug') process.stderr.write(`[phone page] ${m.type()}: ${m.text()}\n`);
      });
      page.on('pageerror', (e) => process.stderr.write(`[phone page] uncaught: ${e.message}\n`));
      await page.goto(PHONE_PAGE_URL);
      return page;
    },
    async close() {
      await browser.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
