// `dialwell serve`: the HTTP API on PORT (default 8080) and the dialer engine (ARI, dial worker,
// campaign runner, queue reconciler) in one process. `--role api` serves the API alone (as
// `--no-dialer`), `--role engine` drives nodes without the API; `all` (the default) does both.
// Engines drive the nodes whose leases they hold (src/app/engine-host.ts): a second `serve` with
// the same settings stands by and takes the node over when the first dies.
// SIGTERM (or SIGINT) stops it cleanly: /readyz turns 503, no new dials, the calls up finish
// (up to SHUTDOWN_CALL_LIMIT_MS, then each is ended), agents are logged out with reason
// "shutdown", pending writes are flushed, the node leases are released, exit 0.
import { parseArgs } from 'node:util';
import { PolicyResolver } from '../compliance/store/policies.repository.js';
import { EngineHost } from '../app/engine-host.js';
import { AgentBus } from '../cluster/agent-bus.js';
import { dialQueueAddress } from '../dialer/queue.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { databaseProbes, engineHostProbes, Readiness } from '../health/readiness.js';
import { buildServer } from '../http/server.js';
import { createLogger } from '../log.js';
import { LocalRecordingStore } from '../recordings/store.js';
import { PbxFleet } from '../admin/pbx-sync.js';
import { SharedLiveSource } from '../cluster/live-board.js';

export async function runServe(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { 'no-dialer': { type: 'boolean', default: false }, role: { type: 'string', default: 'all' } } });
  const role = values['no-dialer'] ? 'api' : values.role;
  if (role !== 'all' && role !== 'api' && role !== 'engine') throw new Error(`--role must be all, api or engine (got "${role}")`);
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
  // Agent sessions are shared and commanded across processes through Redis, under this installation's prefix.
  const prefix = (await dialQueueAddress(db, cfg.DIAL_QUEUE)).prefix;
  const agentBus = new AgentBus(cfg.REDIS_URL, prefix, db, log);
  await agentBus.start();
  const host = role === 'api' ? null : new EngineHost(cfg, db, policies, log, { agentBus });
  await host?.start();
  const settings = { effectiveTalkSeconds: cfg.REPORT_EFFECTIVE_TALK_SECONDS, successResults: cfg.REPORT_SUCCESS_RESULTS };
  // Every node's live state (each engine writes its node's to Redis), whichever process answers.
  const live = new SharedLiveSource(cfg.REDIS_URL, prefix, db, settings, log);
  await live.start();
  // Trunk and agent changes go to every enabled node from whichever process takes them.
  const pbx = new PbxFleet(db, cfg, log);
  const readiness = new Readiness([...databaseProbes(db), ...(host ? engineHostProbes(host) : [])]);
  const recordings = new LocalRecordingStore(cfg.RECORDINGS_DIR);
  const app = role === 'engine' ? null : await buildServer({
    db, policies, log, recordings, agentBus, readiness, live, pbx,
    // Read per request: the engine comes and goes with the node's lease.
    get dialer() {
      return host?.engine?.dialer;
    },
    webrtcWsUrl: cfg.WEBRTC_WS_URL,
    reports: {
      settings,
      ...(cfg.METRICS_TOKEN ? { metricsToken: cfg.METRICS_TOKEN } : {}),
      // The node this process drives now (PBX_NODE before any is driven: no per-node samples then).
      node: () => host?.engineNode ?? cfg.PBX_NODE,
    },
  });
  await app?.listen({ host: '127.0.0.1', port: cfg.PORT });
  started = true;
  log.info({ port: cfg.PORT, role, node: host?.engineNode ?? null }, 'started');
  const signal = await stop;
  log.info({ signal, callLimitMs: cfg.SHUTDOWN_CALL_LIMIT_MS }, 'stop requested');
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => log.warn({ signal: sig }, 'already stopping: the calls up are being finished'));
  readiness.markStopping();
  // The API stays up while the calls finish (agents post their dispositions).
  await host?.drain({ callLimitMs: cfg.SHUTDOWN_CALL_LIMIT_MS });
  await app?.close();
  live.close();
  pbx.close();
  await agentBus.close();
  await db.destroy();
  return 0;
}
