// `dialwell contacts import <file|-> --campaign ID [--country CC]`: streams a CSV into a campaign
// with a progress line on stderr (when it is a terminal) and the report as JSON on stdout; exit 0
// when every row was imported, 1 when some were rejected, 2 on bad input.
// `dialwell contacts reclaim [--months 10]`: takes back contact data agents have held that long.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ContactImportError, importContacts, resolveImportTarget, type ImportReport } from '../contacts/import.js';
import { DEFAULT_RECLAIM_MONTHS, reclaimContacts } from '../contacts/reclaim.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase, type Db } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { CliInputError } from './errors.js';

const USAGE = 'usage: dialwell contacts import <file|-> --campaign ID [--country CC]\n' +
  '       dialwell contacts reclaim [--months 10]';

const group = (n: number) => Math.round(n).toLocaleString('en-US');

/** The progress line: percent and a bar when the size is known, rows, and rows per second. */
export function renderProgress(p: { rowsRead: number; bytesRead: number; totalBytes?: number; elapsedMs: number }, width = 24): string {
  const rate = p.elapsedMs > 0 ? (p.rowsRead * 1000) / p.elapsedMs : 0;
  const tail = `${group(p.rowsRead)} rows  ${group(rate)} rows/s`;
  if (!p.totalBytes || p.totalBytes <= 0) return `importing  ${tail}`;
  const fraction = Math.min(1, Math.max(0, p.bytesRead / p.totalBytes));
  const filled = Math.round(fraction * width);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  return `${percent} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}`;
}

export function summaryLine(r: ImportReport): string {
  return `imported ${group(r.imported)} of ${group(r.rows)} rows (${group(r.inserted)} new, ${group(r.updated)} updated, ${group(r.unchanged)} unchanged), ` +
    `${group(r.rejected)} rejected, ${group(r.attemptsCreated)} attempts queued, in ${(r.durationMs / 1000).toFixed(1)} s (${group(r.rowsPerSecond)} rows/s)`;
}

async function openInput(file: string): Promise<{ input: AsyncIterable<Uint8Array | string>; totalBytes?: number }> {
  if (file === '-') return { input: process.stdin };
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new CliInputError(`${file} is not a file`);
    size = s.size;
  } catch (err) {
    if (err instanceof CliInputError) throw err;
    throw new CliInputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const input = createReadStream(file);
  // Opening fails asynchronously (e.g. no permission): wait for it, so it is reported as bad input.
  await new Promise<void>((resolve, reject) => {
    input.once('ready', () => resolve());
    input.once('error', (err) => reject(new CliInputError(`cannot read ${file}: ${err.message}`)));
  });
  return { input, totalBytes: size };
}

async function runImport(db: Db, file: string | undefined, campaign: string | undefined, country: string | undefined): Promise<number> {
  if (!file) throw new CliInputError(`give the CSV file (or - for standard input)\n${USAGE}`);
  if (!campaign) throw new CliInputError(`--campaign ID is required\n${USAGE}`);
  // Check the campaign before reading anything.
  await resolveImportTarget(db, campaign, country);
  const { input, totalBytes } = await openInput(file);
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let lastDrawn = 0;
  let last = { rowsRead: 0, bytesRead: 0 };
  const draw = () => {
    lastDrawn = performance.now();
    process.stderr.write(`\r${renderProgress({ ...last, totalBytes, elapsedMs: lastDrawn - started })}\x1b[K`);
  };
  const report = await importContacts(db, input, {
    campaignId: campaign,
    country,
    totalBytes,
    onProgress: (rowsRead, bytesRead) => {
      last = { rowsRead, bytesRead };
      if (tty && performance.now() - lastDrawn >= 100) draw();
    },
  });
  if (tty) {
    draw();
    process.stderr.write('\n');
  }
  process.stderr.write(`${summaryLine(report)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return report.rejected === 0 ? 0 : 1;
}

export async function runContacts(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: { campaign: { type: 'string' }, country: { type: 'string' }, months: { type: 'string' } },
  });
  if (sub !== 'import' && sub !== 'reclaim') throw new CliInputError(USAGE);
  let months = DEFAULT_RECLAIM_MONTHS;
  if (sub === 'reclaim' && values.months !== undefined) {
    months = /^\d{1,4}$/.test(values.months) ? Number(values.months) : Number.NaN;
    if (!(months >= 1 && months <= 1200)) throw new CliInputError('--months must be a whole number of months from 1 to 1200');
  }
  const cfg = loadConfig();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrateToLatest(db);
    if (sub === 'reclaim') {
      const n = await reclaimContacts(db, new Date(), months);
      process.stdout.write(`${JSON.stringify({ reclaimed: n, months })}\n`);
      return 0;
    }
    return await runImport(db, positionals[0], values.campaign, values.country);
  } catch (err) {
    if (err instanceof ContactImportError) throw new CliInputError(err.message);
    throw err;
  } finally {
    await db.destroy();
  }
}
