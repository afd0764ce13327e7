// Configuration for integration tests: the real stack, with a database of the tests' own.
import { loadConfig, type Config } from '../../src/config.js';

export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  const base = loadConfig(process.env);
  const db = new URL(base.DATABASE_URL);
  // DIALWELL_TEST_DB lets two test runs on one machine keep out of each other's database.
  db.pathname = `/${process.env.DIALWELL_TEST_DB ?? 'dialwell_test'}`;
  return loadConfig({ ...process.env, DATABASE_URL: db.toString(), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...overrides });
}

/** A valid caller id number (Miami, 786) no other test holds (caller_ids.number is unique across the test database). */
export function randomCallerNumber(): string {
  return `+1786${2 + Math.floor(Math.random() * 8)}${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
}
