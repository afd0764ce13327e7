// Runs the migrations in migrations/ up (to latest) or down (one step), and says whether the
// database's schema is the one this program knows.
//
// Up runs in one transaction that first takes a transaction-level advisory lock: processes started
// together (several engines, an API beside them) queue on the lock, the first one migrates, the
// others then find nothing to do. The lock lives and dies with the transaction (no session lock
// held across statements, which a pooler or a lost connection would leave dangling). A database
// that has a migration this program does not know was migrated by a newer version: this one
// refuses to start against it rather than write to a schema it does not understand.
import { Migrator, sql, type MigrationResult, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.js';
import type { Db } from './database.js';

/** Kysely's table, so `migrate --down` (Kysely's Migrator) and this module agree on what ran. */
const TABLE = 'kysely_migration';
const LOCK_KEY = 'dialwell:migrations';

export class SchemaNewerError extends Error {
  override readonly name = 'SchemaNewerError';
  constructor(readonly unknown: string[]) {
    super(
      `the database was migrated by a newer Dialwell: it has migration(s) ${unknown.join(', ')} that this version does not know. ` +
        'Run the newer version (or restore a backup taken before the upgrade); this one does not start against a schema it does not understand.',
    );
  }
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const exists = await sql<{ t: string | null }>`select to_regclass(${TABLE}) as t`.execute(db);
  if (!exists.rows[0]?.t) return [];
  const rows = await sql<{ name: string }>`select name from ${sql.table(TABLE)} order by name`.execute(db);
  return rows.rows.map((r) => r.name);
}

export interface SchemaStatus {
  /** Known migrations not yet applied. */
  pending: string[];
  /** Applied migrations this program does not know (the database is newer). */
  unknown: string[];
}

export async function schemaStatus(db: Db): Promise<SchemaStatus> {
  const applied = await appliedMigrations(db);
  const done = new Set(applied);
  return {
    pending: Object.keys(migrations).sort().filter((n) => !done.has(n)),
    unknown: applied.filter((n) => !(n in migrations)),
  };
}

/** Applies every pending migration, once, however many processes call this at the same time. */
export async function migrateToLatest(db: Db): Promise<MigrationResultSet> {
  const results: MigrationResult[] = [];
  let current = '';
  try {
    await db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${LOCK_KEY}))`.execute(trx);
      await sql`create table if not exists ${sql.table(TABLE)} (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(trx);
      const applied = await appliedMigrations(trx);
      const unknown = applied.filter((n) => !(n in migrations));
      if (unknown.length > 0) throw new SchemaNewerError(unknown);
      const done = new Set(applied);
      for (const name of Object.keys(migrations).sort()) {
        if (done.has(name)) continue;
        current = name;
        await migrations[name]!.up(trx);
        await sql`insert into ${sql.table(TABLE)} (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(trx);
        results.push({ migrationName: name, direction: 'Up', status: 'Success' });
      }
    });
  } catch (err) {
    if (err instanceof SchemaNewerError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `migration ${current || '?'} failed: ${e.message}`;
    throw e;
  }
  return { results };
}

/** Refuses a database migrated by a newer version (for processes that do not migrate). */
export async function assertSchemaKnown(db: Db): Promise<void> {
  const { unknown } = await schemaStatus(db);
  if (unknown.length > 0) throw new SchemaNewerError(unknown);
}

export async function migrateDown(db: Db): Promise<MigrationResultSet> {
  await assertSchemaKnown(db);
  const result = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateDown();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const err = result.error instanceof Error ? result.error : new Error(String(result.error));
    err.message = `migration ${failed?.migrationName ?? '?'} failed: ${err.message}`;
    throw err;
  }
  return result;
}
