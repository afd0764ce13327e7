// Streaming CSV import of contacts into a campaign. A header names the columns; each row is checked
// on its own (a bad row is reported by line and never stops the good ones); good rows are upserted
// 1,000 at a time by (campaign, phone) and each contact gets one initial queued attempt with a
// deterministic key, so importing the same file again adds neither contacts nor attempts.
import type { Db } from '../db/database.js';
import { createInitialAttempts } from '../dialer/attempts.repository.js';
import { findCampaign, upsertContacts, type UpdateScope } from './contacts.repository.js';
import { CsvFormatError, readCsv } from './csv.js';
import { checkContact, HeaderError, isCountryCode, mapHeader, rawFromRow, shown, type ContactValues, type FieldProblem, type HeaderMap, type UpdatableField } from './validate.js';

/** One problem with one row: the file's line, the field, the value as given (shortened), and what is wrong. */
export interface RowError extends FieldProblem {
  line: number;
}

export interface ImportReport {
  campaignId: string;
  /** Data rows read (blank lines not counted). */
  rows: number;
  /** Rows stored: inserted + updated + unchanged. */
  imported: number;
  inserted: number;
  updated: number;
  unchanged: number;
  /** Rows not stored because of at least one problem. */
  rejected: number;
  /** Initial attempts created (0 for contacts that already had theirs). */
  attemptsCreated: number;
  /** Every problem found, counted; only the first `errorLimit` are listed. */
  errorCount: number;
  errors: RowError[];
  errorsTruncated: boolean;
  durationMs: number;
  rowsPerSecond: number;
}

export type ImportProgress = (rowsRead: number, bytesRead: number, totalBytes?: number) => void;

export interface ImportOptions {
  campaignId: string;
  /** Overrides the campaign's default country for numbers written in national form. */
  country?: string;
  batchSize?: number;
  /** Batches written at once (each takes a pooled connection). Default 2. */
  concurrency?: number;
  errorLimit?: number;
  totalBytes?: number;
  onProgress?: ImportProgress;
}

/** The input cannot be imported at all (no such campaign, no usable header); `status` is the HTTP one. */
export class ContactImportError extends Error {
  override readonly name = 'ContactImportError';
  constructor(message: string, readonly status: 400 | 404) {
    super(message);
  }
}

/** The campaign and the country its phones are read with; throws ContactImportError. */
export async function resolveImportTarget(db: Db, campaignId: string, country?: string): Promise<{ campaignId: string; country: string }> {
  if (country !== undefined && !isCountryCode(country)) {
    throw new ContactImportError(`country "${country}" is not an ISO 3166 country code such as "US" or "GB"`, 400);
  }
  const campaign = await findCampaign(db, campaignId);
  if (!campaign) throw new ContactImportError(`campaign ${campaignId} does not exist`, 404);
  return { campaignId: campaign.id, country: country ?? campaign.defaultCountry };
}

/** Imports a CSV byte stream into a campaign; the report lists what was stored and what was not. */
export async function importContacts(db: Db, source: AsyncIterable<Uint8Array | string>, options: ImportOptions): Promise<ImportReport> {
  const started = performance.now();
  const { campaignId, country } = await resolveImportTarget(db, options.campaignId, options.country);
  const batchSize = options.batchSize ?? 1000;
  const errorLimit = options.errorLimit ?? 1000;
  const concurrency = Math.max(1, options.concurrency ?? 2);

  const report: ImportReport = {
    campaignId, rows: 0, imported: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0, attemptsCreated: 0,
    errorCount: 0, errors: [], errorsTruncated: false, durationMs: 0, rowsPerSecond: 0,
  };
  const addError = (e: RowError) => {
    report.errorCount++;
    if (report.errors.length < errorLimit) report.errors.push(e);
    else report.errorsTruncated = true;
  };

  let header: HeaderMap | undefined;
  let scope: UpdateScope = { fields: [], attributeKeys: [] };
  /** First line of every phone seen, so a repeated number is reported rather than silently merged. */
  const firstLine = new Map<string, number>();
  let batch: ContactValues[] = [];
  let bytesRead = 0;

  // Batches are written while the next ones are parsed, up to `concurrency` at once: their phones
  // are distinct (a repeated number is rejected as a row problem), so they never wait on each other's rows.
  const inFlight = new Set<Promise<void>>();
  let writeFailure: { error: unknown } | undefined;
  const write = async (contacts: ContactValues[]) => {
    const { r, attempts } = await db.transaction().execute(async (trx) => ({
      r: await upsertContacts(trx, campaignId, contacts, scope),
      attempts: await createInitialAttempts(trx, campaignId, contacts.map((c) => c.phone)),
    }));
    // Counted once committed (and never as `x += await ...`, which would lose concurrent updates).
    report.inserted += r.inserted;
    report.updated += r.updated;
    report.unchanged += r.unchanged;
    report.attemptsCreated += attempts;
    report.imported += contacts.length;
    options.onProgress?.(report.rows, bytesRead, options.totalBytes);
  };
  const rethrow = () => {
    if (writeFailure) throw writeFailure.error;
  };
  const flush = async () => {
    rethrow();
    if (batch.length === 0) return;
    const contacts = batch;
    batch = [];
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    rethrow();
    const p: Promise<void> = write(contacts)
      .catch((error: unknown) => {
        writeFailure ??= { error };
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const drain = async () => {
    await Promise.all(inFlight);
    rethrow();
  };

  try {
    for await (const record of readCsv(source, { onBytes: (n) => (bytesRead += n) })) {
      if (!header) {
        if (record.error) throw new ContactImportError(`the header (line ${record.line}) ${record.error}`, 400);
        header = mapHeader(record.fields);
        scope = { fields: header.fields.filter((f): f is UpdatableField => f !== 'phone'), attributeKeys: header.attributeKeys };
        continue;
      }
      report.rows++;
      const line = record.line;
      if (record.error) {
        report.rejected++;
        addError({ line, field: '(row)', value: shown(record.fields.join(',')), problem: record.error });
        continue;
      }
      const row = rawFromRow(header, record.fields);
      if (!row.ok) {
        report.rejected++;
        addError({ line, ...row.problem });
        continue;
      }
      const checked = checkContact(row.raw, country);
      if (!checked.ok) {
        report.rejected++;
        for (const p of checked.problems) addError({ line, ...p });
        continue;
      }
      const phone = checked.contact.phone;
      const earlier = firstLine.get(phone);
      if (earlier !== undefined) {
        report.rejected++;
        addError({ line, field: 'phone', value: row.raw.phone?.trim() ?? phone, problem: `is ${phone}, already on line ${earlier}: each number is imported once (the first row is kept)` });
        continue;
      }
      firstLine.set(phone, line);
      batch.push(checked.contact);
      if (batch.length >= batchSize) await flush();
    }
    if (!header) throw new ContactImportError('the file is empty: its first line must be a header naming the columns (phone required)', 400);
    await flush();
    await drain();
  } catch (err) {
    if (err instanceof CsvFormatError) {
      // The rows before the unreadable record are good: store them, as the message promises.
      await flush();
      await drain();
      throw new ContactImportError(`${err.message}; rows before line ${err.line} were imported, fix the file and import it again (nothing is duplicated)`, 400);
    }
    // Let writes in flight finish (or fail) before the caller closes the database.
    await Promise.all(inFlight);
    if (err instanceof HeaderError) throw new ContactImportError(err.message, 400);
    throw err;
  }
  options.onProgress?.(report.rows, bytesRead, options.totalBytes);
  report.durationMs = Math.round(performance.now() - started);
  report.rowsPerSecond = report.durationMs > 0 ? Math.round((report.rows * 1000) / report.durationMs) : report.rows;
  return report;
}
