// A dial worker in a process of its own (the dialer engine from the environment), so a test can
// kill it with SIGKILL in the middle of dialing. Prints "ready" when it takes jobs (by then its
// start-up CDR reconciliation has run). CDR_CAMPAIGN_IDS (comma-separated, tests only) keeps its
// CDR reconciler to those campaigns: test files share a database. LOGIN_AGENT_IDS (comma-separated)
// logs those agents in first (their softphones answer), so the process's calls reach an agent.
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { loadConfig } from '../../src/config.js';
import { createDb } from '../../src/db/database.js';
import { startEngine } from '../../src/app/engine.js';
import { createLogger } from '../../src/log.js';

const cfg = loadConfig();
const db = createDb(cfg.DATABASE_URL, 10);
const campaignIds = process.env.CDR_CAMPAIGN_IDS?.split(',').filter(Boolean);
const engine = await startEngine(cfg, db, new PolicyResolver(db), createLogger(cfg.LOG_LEVEL, cfg.LOG_FILE), {
  tickMs: 3_600_000, reconcileEveryMs: 3_600_000, ...(campaignIds ? { cdr: { campaignIds } } : {}),
});
engine.runner.stop();
for (const id of process.env.LOGIN_AGENT_IDS?.split(',').filter(Boolean) ?? []) {
  await engine.dialer.agents.login(await db.selectFrom('agents').where('id', '=', id).select(['id', 'name', 'endpoint']).executeTakeFirstOrThrow());
}
process.stdout.write('ready\n');
