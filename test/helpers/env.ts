// Configuration for integration tests: the real stack, with a database of the tests' own.
import { loadConfig, type Config } from '../../src/config.js';

export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  const base = loadConfig(process.env);
  const db = new URL(base.DATABASE_URL);
  // DIALWELL_TEST_DB lets two test runs on one machine keep out of each other's database.
  db.pathname = `/${process.env.DIALWELL_TEST_DB ?? 'dialwell_test'}`;
  return loadConfig({ ...process.env, DATABASE_URL: db.toString(), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...overrides });
}

/** A caller id number no other test holds (caller_ids.number is unique across the test database). */
export function randomCallerNumber(): string {
  return `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
}
