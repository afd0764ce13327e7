// `dialwell scrub <file|-> [--campaign ID] [--country CC] [--details]`: sorts a list of numbers
// (one a line, or the first CSV column) into invalid, protected, on DNC, over caps, unknown zone
// and eligible, without dialing; prints the counts (and each number with --details) as JSON.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { checkNumbers, EligibilityInputError, scrubReport, type CheckOutcome } from '../compliance/store/eligibility.service.js';
import { PolicyResolver } from '../compliance/store/policies.repository.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { CliInputError } from './errors.js';

export async function runScrub(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { campaign: { type: 'string' }, country: { type: 'string' }, details: { type: 'boolean', default: false } },
  });
  const file = positionals[0];
  if (!file) throw new CliInputError('usage: dialwell scrub <file|-> [--campaign ID] [--country CC] [--details]');
  const cfg = loadConfig();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 4);
  try {
    await migrateToLatest(db);
    const deps = { db, policies: new PolicyResolver(db) };
    const outcomes: CheckOutcome[] = [];
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      outcomes.push(...(await checkNumbers(deps, { phones: batch, campaignId: values.campaign ?? null, country: values.country })));
      batch = [];
    };
    const input = file === '-' ? process.stdin : createReadStream(file);
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      const value = line.split(',')[0]!.trim();
      if (value === '' || value.startsWith('#')) continue;
      batch.push(value);
      if (batch.length >= 2000) await flush();
    }
    await flush();
    const report = scrubReport(outcomes);
    process.stdout.write(`${JSON.stringify(values.details ? report : { total: report.total, counts: report.counts }, null, 2)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof EligibilityInputError) throw new CliInputError(err.message);
    throw err;
  } finally {
    await db.destroy();
  }
}
