// `dialwell serve`: the HTTP API on PORT (default 8080) and the dialer engine (ARI, dial worker,
// campaign runner, queue reconciler) in one process. `--no-dialer` serves the API alone.
import { parseArgs } from 'node:util';
import { PolicyResolver } from '../compliance/store/policies.repository.js';
import { startEngine } from '../app/engine.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { buildServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { LocalRecordingStore } from '../recordings/store.js';

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-dialer': { type: 'boolean', default: false } } });
  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL);
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 20);
  await migrateToLatest(db);
  const policies = new PolicyResolver(db);
  const engine = values['no-dialer'] ? null : await startEngine(cfg, db, policies, log);
  const app = await buildServer({
    db, policies, log, dialer: engine?.dialer, ari: engine?.ari, recordings: engine?.store ?? new LocalRecordingStore(cfg.RECORDINGS_DIR),
    reports: {
      settings: { effectiveTalkSeconds: cfg.REPORT_EFFECTIVE_TALK_SECONDS, successResults: cfg.REPORT_SUCCESS_RESULTS },
      ...(cfg.METRICS_TOKEN ? { metricsToken: cfg.METRICS_TOKEN } : {}),
    },
  });
  await app.listen({ host: '127.0.0.1', port: cfg.PORT });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await app.close();
  await engine?.close();
  await db.destroy();
  return 0;
}
