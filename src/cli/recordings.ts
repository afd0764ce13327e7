// `dialwell recordings verify [--campaign ID] [--json]`: re-hashes every stored recording (or one campaign's) and reports files that
// changed or went missing (exit 1 when any did, 0 when all match).
// `dialwell recordings purge [--campaign ID] [--dry-run] [--json]`: deletes recordings past their
// campaign's retention (recordingRetentionDays), marks them purged and audits each.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { verifyRecordings } from '../recordings/integrity.js';
import { purgeExpiredRecordings } from '../recordings/retention.js';
import { LocalRecordingStore } from '../recordings/store.js';
import { CliInputError } from './errors.js';

const USAGE = 'usage: dialwell recordings verify [--campaign ID] [--json] | recordings purge [--campaign ID] [--dry-run] [--json]';

export async function runRecordings(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'verify' && sub !== 'purge') throw new CliInputError(USAGE);
  const { values } = parseArgs({
    args: rest,
    options: { json: { type: 'boolean', default: false }, campaign: { type: 'string' }, 'dry-run': { type: 'boolean', default: false } },
  });
  if (values.campaign && !/^[0-9a-f-]{36}$/i.test(values.campaign)) throw new CliInputError(`--campaign "${values.campaign}" is not a campaign id (a UUID)`);
  const cfg = loadConfig();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  const store = new LocalRecordingStore(cfg.RECORDINGS_DIR);
  try {
    await migrateToLatest(db);
    if (sub === 'verify') {
      const r = await verifyRecordings(db, store, { campaignId: values.campaign });
      if (values.json) console.log(JSON.stringify(r, null, 2));
      else {
        for (const p of r.changed) console.log(`CHANGED  ${p.key}  recording ${p.recordingId}  expected ${p.expected.sizeBytes} B sha256 ${p.expected.sha256}, found ${p.found?.sizeBytes} B sha256 ${p.found?.sha256}`);
        for (const p of r.missing) console.log(`MISSING  ${p.key}  recording ${p.recordingId} (call ${p.callId})`);
        for (const k of r.unknown) console.log(`UNKNOWN  ${k}  (no recording row describes this file)`);
        console.log(`${r.checked} recordings checked in ${cfg.RECORDINGS_DIR}: ${r.ok} intact, ${r.changed.length} changed, ${r.missing.length} missing, ${r.unknown.length} unknown files`);
      }
      return r.changed.length + r.missing.length > 0 ? 1 : 0;
    }
    const actor = { userId: null, name: `cli:${process.env.USER ?? 'unknown'}` };
    const purged = await purgeExpiredRecordings(db, store, actor, { campaignId: values.campaign, dryRun: values['dry-run'] });
    if (values.json) console.log(JSON.stringify({ dryRun: values['dry-run'], purged }, null, 2));
    else {
      for (const p of purged) console.log(`${values['dry-run'] ? 'would purge' : 'purged'}  ${p.key}  recording ${p.recordingId}  started ${p.startedAt.toISOString()}  retention ${p.retentionDays} d`);
      console.log(`${purged.length} recordings ${values['dry-run'] ? 'past their retention (dry run: nothing deleted)' : 'purged'}`);
    }
    return 0;
  } finally {
    await db.destroy();
  }
}
