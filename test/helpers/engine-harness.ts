// The dialer engine and the HTTP API in one test process, as `dialwell serve` runs them, with the
// sipp customers and softphones a test asks for; and a polling wait.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { startEngine, type Engine } from '../../src/app/engine.js';
import { buildServer } from '../../src/http/server.js';
import { apiAs, type Api } from './api.js';
import { createLogger } from '../../src/log.js';
import { InProcessLiveSource } from '../../src/reports/live-source.js';
import { defaultReportSettings } from '../../src/reports/figures.js';
import { Sipp, type SippOptions } from '../../src/sim/sipp.js';
import { testConfig } from './env.js';
import type { Config } from '../../src/config.js';
import type { DialerOptions } from '../../src/dialer/dialer.js';

export interface EngineHarness {
  tag: string;
  db: Db;
  engine: Engine;
  app: FastifyInstance;
  live: InProcessLiveSource;
  /** The API as an admin. */
  api: Api;
  close(): Promise<void>;
}

export interface EngineHarnessOptions {
  /** Configuration over the test defaults (e.g. ARI_URL of another Asterisk node, RECORDINGS_DIR). */
  config?: Partial<Record<keyof Config, string>>;
  dialer?: Partial<DialerOptions>;
  /** The browser phone's websocket URL the API hands out (and the console's CSP allows). */
  webrtcWsUrl?: string;
}

export async function startEngineHarness(sipp: SippOptions[], opts: EngineHarnessOptions = {}): Promise<EngineHarness> {
  const tag = randomUUID().slice(0, 8);
  const cfg = testConfig({ ARI_APP: `dialwell-it-${tag}`, DIAL_QUEUE: `dial-it-${tag}`, ...opts.config });
  const log = createLogger(cfg.LOG_LEVEL, cfg.LOG_FILE);
  const db = createDb(cfg.DATABASE_URL, 10);
  // The engine paces every running campaign in the database: other files' are finished.
  await db.updateTable('campaigns').set({ state: 'completed' }).where('state', '=', 'running').execute();
  const sipps: Sipp[] = [];
  for (const s of sipp) sipps.push(await Sipp.start(s));
  const policies = new PolicyResolver(db, 0);
  const engine = await startEngine(cfg, db, policies, log, { tickMs: 200, ...(opts.dialer ? { dialer: opts.dialer } : {}) });
  const live = new InProcessLiveSource(db, engine.dialer, defaultReportSettings, log);
  const app = await buildServer({ db, policies, log: createLogger('silent'), dialer: engine.dialer, ari: engine.ari, recordings: engine.store, live, webrtcWsUrl: opts.webrtcWsUrl });
  const api = await apiAs(app, db, 'admin');
  return {
    tag, db, engine, app, api, live,
    async close() {
      await app.close();
      live.close();
      await engine.close();
      await db.destroy();
      for (const s of sipps) await s.stop();
    },
  };
}

export async function until(what: () => boolean | Promise<boolean>, ms: number, label: string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${label}`);
}
