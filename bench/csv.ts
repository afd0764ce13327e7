// npx tsx bench/csv.ts — the contacts CSV reader (src/contacts/csv.ts) on a 100,000-row file:
//  1. parsing alone: the file streamed from disk through readCsv (64 KiB chunks), rows/s and CPU,
//     and npm csv-parse on the same file with the options a csv-parse reader needs here (bom,
//     CR/LF/CRLF, ragged rows, quotes in unquoted fields, max_record_size, raw for the lines of
//     skipped records, per-record errors), counting records only: its least cost;
//  2. the whole import (importContacts into a fresh campaign, real PostgreSQL, 1,000-row batches).
// csv-parse as the importer's reader was measured with this benchmark at commit 34cf6ad (see
// docs/performance.md): slower, so src/contacts/csv.ts stays.
// The file mixes what real exports have: quoted names with commas and doubled quotes, a quoted
// line break in one row in 50, CRLF line ends, a BOM. Runs on a database of its own
// (dialwell_bench_csv). BENCH_SCALE scales the row count; BENCH_RUNS the repetitions (median kept).
import { execSync } from 'node:child_process';
import { createReadStream, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse';
import { createCallerId, createCampaign, createTrunk } from '../src/admin/provision.js';
import { loadConfig } from '../src/config.js';
import { importContacts } from '../src/contacts/import.js';
import { readCsv } from '../src/contacts/csv.js';
import { createDb, recreateDatabase } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrate.js';

const ROWS = Math.round(100_000 * Number(process.env.BENCH_SCALE ?? '1'));
const RUNS = Number(process.env.BENCH_RUNS ?? '5');
const AREA_CODES = [212, 305, 312, 415, 617, 702, 713, 808, 907, 303, 404, 503];

function phoneOf(i: number): string {
  const npa = AREA_CODES[i % AREA_CODES.length]!;
  const nxx = 200 + (Math.floor(i / AREA_CODES.length) % 20);
  const line = Math.floor(i / (AREA_CODES.length * 20)) % 10_000;
  return `(${npa}) ${nxx}-${String(line).padStart(4, '0')}`;
}

function makeFile(): string {
  const lines = ['\uFEFFphone,name,segment,time_zone,priority,external_id,notes'];
  for (let i = 0; i < ROWS; i++) {
    const name = i % 3 === 0 ? `"Smith, Ann ${i}"` : i % 3 === 1 ? `"Bob ""B"" ${i}"` : `Carol ${i}`;
    const notes = i % 50 === 0 ? '"called back\r\nprefers mornings"' : i % 7 === 0 ? 'vip' : '';
    lines.push(`${phoneOf(i)},${name},${i % 2 ? 'owner' : 'renter'},,${i % 10},crm-${i},${notes}`);
  }
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'dialwell-bench-csv-')), 'contacts.csv');
  writeFileSync(file, `${lines.join('\r\n')}\r\n`);
  return file;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stream = (file: string) => createReadStream(file, { highWaterMark: 64 * 1024 });

async function main(): Promise<void> {
  const file = makeFile();
  const mb = statSync(file).size / 1e6;
  const commit = execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
  console.log(`${ROWS.toLocaleString('en-US')} rows, ${mb.toFixed(1)} MB, ${RUNS} runs each (median), commit ${commit}, ${new Date().toISOString()}`);

  const parsed: { ms: number; cpu: number }[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    for await (const rec of readCsv(stream(file))) {
      if (rec.error) throw new Error(`line ${rec.line}: ${rec.error}`);
      n++;
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (n !== ROWS + 1) throw new Error(`read ${n} records, expected ${ROWS + 1}`);
    if (r > 0) parsed.push({ ms, cpu: (cpu.user + cpu.system) / 1000 }); // the first run warms up
  }

  const csvParse: { ms: number; cpu: number }[] = [];
  for (let r = 0; r < RUNS + 1; r++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let n = 0;
    const parser = parse({
      bom: true, record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, relax_quotes: true, max_record_size: 1_000_000,
      raw: true, skip_records_with_error: true,
      on_record: () => {
        n++;
        return null;
      },
    });
    await new Promise<void>((resolve, reject) => {
      stream(file).pipe(parser).on('finish', resolve).on('error', reject);
      parser.resume();
    });
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (n !== ROWS + 1) throw new Error(`csv-parse read ${n} records, expected ${ROWS + 1}`);
    if (r > 0) csvParse.push({ ms, cpu: (cpu.user + cpu.system) / 1000 });
  }

  const url = new URL(loadConfig().DATABASE_URL);
  url.pathname = '/dialwell_bench_csv';
  await recreateDatabase(url.toString());
  const db = createDb(url.toString(), 4);
  const imports: { ms: number; cpu: number }[] = [];
  try {
    await migrateToLatest(db);
    const trunk = await createTrunk(db, { name: 'bench', host: '127.0.0.1', port: 5060 });
    const cid = await createCallerId(db, '+13055550001');
    for (let r = 0; r < RUNS; r++) {
      const camp = await createCampaign(db, { name: `bench csv ${r}`, trunkId: trunk.id, callerIdId: cid.id });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const rep = await importContacts(db, stream(file), { campaignId: camp.id });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (rep.imported !== ROWS) throw new Error(`imported ${rep.imported} of ${ROWS}: ${JSON.stringify(rep.errors.slice(0, 3))}`);
      imports.push({ ms, cpu: (cpu.user + cpu.system) / 1000 });
    }
  } finally {
    await db.destroy();
  }

  const row = (what: string, xs: { ms: number; cpu: number }[]) => {
    const ms = median(xs.map((x) => x.ms));
    const cpu = median(xs.map((x) => x.cpu));
    console.log(`| ${what} | ${(ms / 1000).toFixed(2)} s | ${Math.round((ROWS * 1000) / ms).toLocaleString('en-US')} | ${(cpu / 1000).toFixed(2)} s | ${xs.map((x) => (x.ms / 1000).toFixed(2)).join(', ')} |`);
  };
  console.log('| what | median wall | rows/s | process CPU | runs (s) |');
  console.log('|---|---|---|---|---|');
  row('parse only (readCsv, 64 KiB chunks)', parsed);
  row('parse only, npm csv-parse (records counted, nothing else)', csvParse);
  row('import (importContacts, PostgreSQL)', imports);
}

await main();
