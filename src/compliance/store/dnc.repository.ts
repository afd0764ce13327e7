// Do-not-call storage: entries added by people and processes (manual, API, complaints,
// dispositions; global or per campaign, optionally expiring), bulk registry imports streamed with
// COPY, and an audit row for every addition, removal and import.
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { sql, type Transaction } from 'kysely';
import type { Db } from '../../db/database.js';
import type { Database, DncSource } from '../../db/schema.js';

export interface DncEntryInput {
  phone: string;
  campaignId?: string | null;
  source: DncSource;
  reason?: string | null;
  expiresAt?: Date | null;
  actor: string;
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** Adds (or refreshes) an entry; effective for the very next dial decision once this returns. */
export async function addDncEntry(db: Db, e: DncEntryInput): Promise<{ id: string; created: boolean }> {
  return db.transaction().execute((trx) => addDncEntryIn(trx, e));
}

/** The same, inside a transaction the caller owns (a disposition adds the number with its other writes). */
export async function addDncEntryIn(trx: Transaction<Database>, e: DncEntryInput): Promise<{ id: string; created: boolean }> {
  const row = await sql<{ id: string; created: boolean }>`
    insert into dnc_entries (phone, campaign_id, source, reason, expires_at, created_by)
    values (${e.phone}, ${e.campaignId ?? null}, ${e.source}, ${e.reason ?? null}, ${e.expiresAt ?? null}, ${e.actor})
    on conflict (phone, coalesce(campaign_id, ${NIL_UUID}::uuid))
    do update set source = excluded.source, reason = excluded.reason, expires_at = excluded.expires_at,
                  created_by = excluded.created_by, created_at = now()
    returning id::text, (xmax = 0) as created`.execute(trx);
  await trx
    .insertInto('dnc_audit')
    .values({
      actor: e.actor, action: 'add', phone: e.phone, campaign_id: e.campaignId ?? null,
      detail: JSON.stringify({ source: e.source, reason: e.reason ?? null, expiresAt: e.expiresAt?.toISOString() ?? null }),
    })
    .execute();
  return row.rows[0]!;
}

/** Removes a number from a list (global: also from the imported registry). Audited. */
export async function removeDncEntry(
  db: Db,
  r: { phone: string; campaignId?: string | null; actor: string; reason?: string | null },
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    let q = trx.deleteFrom('dnc_entries').where('phone', '=', r.phone);
    q = r.campaignId ? q.where('campaign_id', '=', r.campaignId) : q.where('campaign_id', 'is', null);
    const removed = Number((await q.executeTakeFirst()).numDeletedRows);
    let fromRegistry = 0;
    if (!r.campaignId) {
      fromRegistry = Number((await trx.deleteFrom('dnc_registry').where('phone', '=', r.phone.slice(1)).executeTakeFirst()).numDeletedRows);
    }
    if (removed + fromRegistry > 0) {
      await trx
        .insertInto('dnc_audit')
        .values({ actor: r.actor, action: 'remove', phone: r.phone, campaign_id: r.campaignId ?? null, detail: JSON.stringify({ reason: r.reason ?? null, fromRegistry: fromRegistry > 0 }) })
        .execute();
    }
    return removed + fromRegistry;
  });
}

export interface DncListing {
  phone: string;
  campaignId: string | null;
  source: string;
  reason: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}

export async function listDncEntries(db: Db, opts: { phone?: string; campaignId?: string | null; limit: number; offset: number }): Promise<DncListing[]> {
  let q = db.selectFrom('dnc_entries').selectAll().orderBy('created_at', 'desc').limit(opts.limit).offset(opts.offset);
  if (opts.phone) q = q.where('phone', '=', opts.phone);
  if (opts.campaignId !== undefined) q = opts.campaignId ? q.where('campaign_id', '=', opts.campaignId) : q.where('campaign_id', 'is', null);
  const rows = await q.execute();
  return rows.map((r) => ({ phone: r.phone, campaignId: r.campaign_id, source: r.source, reason: r.reason, expiresAt: r.expires_at, createdAt: r.created_at }));
}

export interface ImportReport {
  read: number;
  imported: number;
  invalid: number;
  duplicates: number;
  invalidExamples: { line: number; value: string }[];
  seconds: number;
}

/**
 * Turns registry lines into COPY rows. A line is E.164 (+13055550123), international digits
 * (13055550123) or, with a national prefix configured, national digits (3055550123 → 1 + digits).
 * Full libphonenumber parsing of every line would cost minutes for a national registry; registry
 * files are plain digit lists, so they get a digit-shape check here (7-15 digits, no leading 0).
 */
class RegistryLines extends Transform {
  lineCount = 0;
  valid = 0;
  invalid = 0;
  readonly invalidExamples: { line: number; value: string }[] = [];
  private rest = '';

  constructor(
    private readonly registry: string,
    private readonly nationalPrefix: string | null,
    private readonly nationalLength: number,
  ) {
    super({ readableHighWaterMark: 1 << 20 });
  }

  private line(raw: string, out: string[]): void {
    let s = raw.trim();
    if (s === '' || s.startsWith('#')) return;
    this.lineCount++;
    const comma = s.indexOf(',');
    if (comma >= 0) s = s.slice(0, comma).trim();
    if (s.startsWith('+')) s = s.slice(1);
    else if (this.nationalPrefix && s.length === this.nationalLength) s = this.nationalPrefix + s;
    if (s.length < 7 || s.length > 15 || s.charCodeAt(0) === 48 || !/^\d+$/.test(s)) {
      this.invalid++;
      if (this.invalidExamples.length < 20) this.invalidExamples.push({ line: this.lineCount, value: raw.slice(0, 40) });
      return;
    }
    this.valid++;
    out.push(`${s}\t${this.registry}\n`);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const text = this.rest + chunk.toString('utf8');
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    const out: string[] = [];
    for (const l of lines) this.line(l, out);
    if (out.length) this.push(out.join(''));
    done();
  }

  override _flush(done: (err?: Error | null) => void): void {
    const out: string[] = [];
    if (this.rest) this.line(this.rest, out);
    if (out.length) this.push(out.join(''));
    done();
  }
}

/**
 * Streams a registry file into dnc_registry with COPY into a staging table, in one transaction (a
 * failed import changes nothing; imports run one at a time). When the result is the registry
 * alone (the table is empty, or this registry replaces itself and is the only one), the new table
 * is built whole, indexed once and swapped in: a national registry loads in seconds. Otherwise the
 * numbers are merged with ON CONFLICT DO NOTHING (replace first drops this registry's numbers).
 */
export async function importDncRegistry(
  pool: pg.Pool,
  input: Readable,
  opts: { registry: string; actor: string; replace?: boolean; nationalPrefix?: string | null; nationalLength?: number; expiresAt?: Date | null },
): Promise<ImportReport> {
  const started = process.hrtime.bigint();
  const client = await pool.connect();
  const lines = new RegistryLines(opts.registry, opts.nationalPrefix ?? null, opts.nationalLength ?? 10);
  try {
    await client.query('begin');
    await client.query("set local work_mem = '256MB'; set local maintenance_work_mem = '512MB'");
    await client.query("select pg_advisory_xact_lock(hashtext('dialwell:dnc-import'))");
    await client.query('create temp table dnc_import (phone bigint not null, registry text not null) on commit drop');
    await pipeline(input, lines, client.query(copyFrom('copy dnc_import (phone, registry) from stdin')));
    const others = await client.query<{ n: string }>('select count(*) as n from (select 1 from dnc_registry where registry <> $1 limit 1) x', [opts.registry]);
    const empty = await client.query('select 1 from dnc_registry limit 1');
    const rebuild = empty.rowCount === 0 || (!!opts.replace && Number(others.rows[0]?.n) === 0);
    let imported: number;
    if (rebuild) {
      const built = await client.query(
        `create table dnc_registry_next as
           select distinct on (phone) phone, registry, $1::timestamptz as expires_at from dnc_import order by phone`,
        [opts.expiresAt ?? null],
      );
      imported = built.rowCount ?? 0;
      await client.query(`alter table dnc_registry_next alter column registry set not null,
                          add constraint dnc_registry_next_pkey primary key (phone)`);
      await client.query('lock table dnc_registry in access exclusive mode');
      await client.query('drop table dnc_registry');
      await client.query('alter table dnc_registry_next rename to dnc_registry');
      await client.query('alter table dnc_registry rename constraint dnc_registry_next_pkey to dnc_registry_pkey');
    } else {
      if (opts.replace) await client.query('delete from dnc_registry where registry = $1', [opts.registry]);
      const merged = await client.query(
        `insert into dnc_registry (phone, registry, expires_at)
         select phone, registry, $1::timestamptz from dnc_import
         on conflict (phone) do nothing`,
        [opts.expiresAt ?? null],
      );
      imported = merged.rowCount ?? 0;
    }
    await client.query(
      `insert into dnc_audit (actor, action, detail) values ($1, 'import', $2)`,
      [opts.actor, JSON.stringify({ registry: opts.registry, read: lines.lineCount, imported, invalid: lines.invalid, replace: !!opts.replace, rebuilt: rebuild })],
    );
    await client.query('commit');
    return {
      read: lines.lineCount,
      imported,
      invalid: lines.invalid,
      duplicates: lines.valid - imported,
      invalidExamples: lines.invalidExamples,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
