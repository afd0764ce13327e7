// `dialwell serve`: the HTTP API on PORT (default 8080).
import { PolicyResolver } from '../compliance/store/policies.repository.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { buildServer } from '../http/server.js';
import { createLogger } from '../log.js';

export async function runServe(): Promise<number> {
  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL);
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 20);
  await migrateToLatest(db);
  const app = await buildServer({ db, policies: new PolicyResolver(db), log });
  await app.listen({ host: '127.0.0.1', port: cfg.PORT });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await app.close();
  await db.destroy();
  return 0;
}
