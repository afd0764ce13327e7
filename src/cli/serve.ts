// `dialwell serve`: the HTTP API on PORT (default 8080) and the dialer engine (ARI, dial worker,
// campaign runner, queue reconciler) in one process. `--no-dialer` serves the API alone.
// SIGTERM (or SIGINT) stops it cleanly: /readyz turns 503, no new dials, the calls up finish
// (up to SHUTDOWN_CALL_LIMIT_MS, then each is ended), agents are logged out with reason
// "shutdown", pending writes are flushed, exit 0.
import { parseArgs } from 'node:util';
import { PolicyResolver } from '../compliance/store/policies.repository.js';
import { startEngine } from '../dialer/engine.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { databaseProbes, engineProbes, Readiness } from '../health/readiness.js';
import { buildServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { LocalRecordingStore } from '../recordings/store.js';
import { InProcessLiveSource } from '../reports/live-source.js';

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-dialer': { type: 'boolean', default: false } } });
  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL, cfg.LOG_FILE);
  // A signal during start-up ends the process at once: nothing is dialing yet, and a start stuck
  // on a dependency must not hold the stop. After the start, it drains as below.
  let started = false;
  const stop = new Promise<NodeJS.Signals>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        if (started) return resolve(sig);
        log.warn({ signal: sig }, 'stop requested during start-up: exiting');
        process.exit(0);
      });
    }
  });
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 20, log);
  // Refuses a schema newer than this program (SchemaNewerError); migrates once however many start.
  await migrateToLatest(db);
  const policies = new PolicyResolver(db);
  const engine = values['no-dialer'] ? null : await startEngine(cfg, db, policies, log);
  const settings = { effectiveTalkSeconds: cfg.REPORT_EFFECTIVE_TALK_SECONDS, successResults: cfg.REPORT_SUCCESS_RESULTS };
  // This process's live state; the shared one (every node) replaces it behind the same interface.
  const live = new InProcessLiveSource(db, engine?.dialer, settings, log);
  const readiness = new Readiness([...databaseProbes(db), ...(engine ? engineProbes(engine) : [])]);
  const app = await buildServer({
    db, policies, log, dialer: engine?.dialer, ari: engine?.ari, recordings: engine?.store ?? new LocalRecordingStore(cfg.RECORDINGS_DIR), readiness,
    live,
    webrtcWsUrl: cfg.WEBRTC_WS_URL,
    reports: {
      settings,
      ...(cfg.METRICS_TOKEN ? { metricsToken: cfg.METRICS_TOKEN } : {}),
      node: cfg.PBX_NODE,
    },
  });
  await app.listen({ host: '127.0.0.1', port: cfg.PORT });
  started = true;
  log.info({ port: cfg.PORT, dialer: engine !== null }, 'started');
  const signal = await stop;
  log.info({ signal, callLimitMs: cfg.SHUTDOWN_CALL_LIMIT_MS }, 'stop requested');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => log.warn({ signal: sig }, 'already stopping: the calls up are being finished'));
  readiness.markStopping();
  // The API stays up while the calls finish (agents post their dispositions).
  await engine?.drain({ callLimitMs: cfg.SHUTDOWN_CALL_LIMIT_MS });
  await app.close();
  live.close();
  await db.destroy();
  return 0;
}
