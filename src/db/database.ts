// The Kysely instance over a pg pool, and helpers to create the database if it is missing.
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import type { Logger } from '../log.js';
import { DatabaseHealth } from './health.js';
import type { Database } from './schema.js';

// bigint columns (sizes) fit comfortably in a JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
// Calendar dates (complaint due days) stay "YYYY-MM-DD": a Date would shift them by the local zone.
pg.types.setTypeParser(pg.types.builtins.DATE, (v) => v);

export type Db = Kysely<Database>;

const pools = new WeakMap<Db, pg.Pool>();
const healths = new WeakMap<Db, DatabaseHealth>();

/**
 * A Kysely instance over its own pool. The pool's 'error' events (a server restart breaks its
 * idle connections) go to the database's health monitor (healthOf), which logs the outage to
 * `log` (silent when none is given): they never reach Node as an unhandled 'error'.
 */
export function createDb(databaseUrl: string, maxConnections = 20, log?: Logger): Db {
  // A server that is down refuses at once; one that hangs must not hold a caller for ever.
  // Idle connections are kept for a minute (pg's default is 10 s): a new connection costs
  // PostgreSQL ~3 ms of CPU to start and ~5-15 ms more on its first statements (catalog caches,
  // plans of the dial path's prepared statements), and a dialer whose load pauses for a few
  // seconds (a pacing lull, bench/dialer.ts between its rows) opened 8-20 of them again each time.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: maxConnections, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 60_000, keepAlive: true });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  healths.set(db, new DatabaseHealth(pool, log ?? pino({ level: 'silent' })));
  return db;
}

/** Whether PostgreSQL is reachable through this instance's pool (see DatabaseHealth). */
export function healthOf(db: Db): DatabaseHealth {
  const health = healths.get(db);
  if (!health) throw new Error('this Kysely instance was not made by createDb');
  return health;
}

/** The pg pool under a Kysely instance, for what Kysely cannot do (COPY). */
export function poolOf(db: Db): pg.Pool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this Kysely instance was not made by createDb');
  return pool;
}

/** Creates the database named in the URL when it does not exist yet (connecting to `postgres`). */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`database name "${name}" in DATABASE_URL: use letters, digits and _`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  // A connection lost between statements errors the client: the statement in flight rejects anyway.
  client.on('error', () => undefined);
  await client.connect();
  try {
    const found = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
}

/** Drops and recreates a database: for tests and benchmarks only. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new Error(`bad database name "${name}"`);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  // A connection lost between statements errors the client: the statement in flight rejects anyway.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query(`drop database if exists "${name}" with (force)`);
    await client.query(`create database "${name}"`);
  } finally {
    await client.end();
  }
}
