// Before any integration test: the real stack must be there (fail loudly, never skip), and the
// tests get a freshly migrated database of their own.
import http from 'node:http';
import { createDb, recreateDatabase } from '../../src/db/database.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { testConfig } from '../helpers/env.js';

function ariInfo(url: string, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL('/ari/asterisk/info', url), { auth: `${user}:${password}`, timeout: 3000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}: ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

export default async function setup(): Promise<void> {
  const cfg = testConfig();
  let info: string;
  try {
    info = await ariInfo(cfg.ARI_URL, cfg.ARI_USER, cfg.ARI_PASSWORD);
  } catch (err) {
    throw new Error(
      `Integration tests need a running Asterisk 22 with ARI at ${cfg.ARI_URL} (${(err as Error).message}). ` +
        'Start the stack with `bash scripts/stack.sh up` (npm test does this).',
    );
  }
  const version = (JSON.parse(info) as { system: { version: string } }).system.version;
  if (!version.startsWith('22.')) throw new Error(`Integration tests need Asterisk 22; ARI reports ${version}`);
  process.stdout.write(`integration tests against Asterisk ${version} at ${cfg.ARI_URL}\n`);
  await recreateDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
