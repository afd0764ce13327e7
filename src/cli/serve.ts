// `dialwell serve`: the HTTP API on PORT (default 8080) and the dialer engine (ARI, dial worker,
// campaign runner, queue reconciler) in one process. `--role api` serves the API alone (as
// `--no-dialer`), `--role engine` drives nodes without the API; `all` (the default) does both.
// Engines drive the nodes whose leases they hold (src/app/engine-host.ts): a second `serve` with
// the same settings stands by and takes the node over when the first dies.
import { parseArgs } from 'node:util';
import { PolicyResolver } from '../compliance/store/policies.repository.js';
import { EngineHost } from '../app/engine-host.js';
import { AgentBus } from '../cluster/agent-bus.js';
import { dialQueueAddress } from '../dialer/queue.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { buildServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { LocalRecordingStore } from '../recordings/store.js';

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-dialer': { type: 'boolean', default: false }, role: { type: 'string', default: 'all' } } });
  const role = values['no-dialer'] ? 'api' : values.role;
  if (role !== 'all' && role !== 'api' && role !== 'engine') throw new Error(`--role must be all, api or engine (got "${role}")`);
  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL);
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 20);
  await migrateToLatest(db);
  const policies = new PolicyResolver(db);
  // Agent sessions are shared and commanded across processes through Redis, under this installation's prefix.
  const agentBus = new AgentBus(cfg.REDIS_URL, (await dialQueueAddress(db, cfg.DIAL_QUEUE)).prefix, db, log);
  await agentBus.start();
  const host = role === 'api' ? null : new EngineHost(cfg, db, policies, log, { agentBus });
  await host?.start();
  const recordings = new LocalRecordingStore(cfg.RECORDINGS_DIR);
  const app = role === 'engine' ? null : await buildServer({
    db, policies, log, recordings, agentBus,
    // Read per request: the engine comes and goes with the node's lease.
    get dialer() {
      return host?.engine?.dialer;
    },
    get ari() {
      return host?.engine?.ari;
    },
    reports: {
      settings: { effectiveTalkSeconds: cfg.REPORT_EFFECTIVE_TALK_SECONDS, successResults: cfg.REPORT_SUCCESS_RESULTS },
      ...(cfg.METRICS_TOKEN ? { metricsToken: cfg.METRICS_TOKEN } : {}),
    },
  });
  await app?.listen({ host: '127.0.0.1', port: cfg.PORT });
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => resolve());
  });
  await app?.close();
  await host?.close();
  await agentBus.close();
  await db.destroy();
  return 0;
}
