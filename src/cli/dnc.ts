// `dialwell dnc add|remove|list|import`: the do-not-call lists from the command line.
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { parsePhone } from '../compliance/phone.js';
import { addDncEntry, importDncRegistry, listDncEntries, removeDncEntry } from '../compliance/store/dnc.repository.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase, poolOf } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { CliInputError } from './errors.js';

const actor = `cli:${process.env.USER ?? 'unknown'}`;

function e164(input: string | undefined, country: string | undefined): string {
  if (!input) throw new CliInputError('give the phone number');
  const p = parsePhone(input, country);
  if (!p.ok) throw new CliInputError(`phone: ${p.error}`);
  return p.e164;
}

export async function runDnc(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      campaign: { type: 'string' },
      reason: { type: 'string' },
      source: { type: 'string', default: 'manual' },
      'expires-at': { type: 'string' },
      country: { type: 'string' },
      registry: { type: 'string' },
      replace: { type: 'boolean', default: false },
      'national-prefix': { type: 'string' },
      limit: { type: 'string', default: '100' },
    },
  });
  if (!['add', 'remove', 'list', 'import'].includes(sub ?? '')) {
    throw new CliInputError('usage: dialwell dnc add <phone> [--campaign ID] [--reason TEXT] [--source manual|complaint] [--expires-at ISO]\n' +
      '       dialwell dnc remove <phone> [--campaign ID] [--reason TEXT]\n' +
      '       dialwell dnc list [--campaign ID] [--limit N]\n' +
      '       dialwell dnc import <file|-> --registry NAME [--replace] [--national-prefix 1]');
  }
  if (values.source !== 'manual' && values.source !== 'complaint') throw new CliInputError('--source must be manual or complaint');
  const cfg = loadConfig();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrateToLatest(db);
    switch (sub) {
      case 'add': {
        const phone = e164(positionals[0], values.country);
        const expiresAt = values['expires-at'] ? new Date(values['expires-at']) : null;
        if (expiresAt && Number.isNaN(expiresAt.getTime())) throw new CliInputError('--expires-at must be an ISO 8601 instant');
        const r = await addDncEntry(db, { phone, campaignId: values.campaign ?? null, source: values.source, reason: values.reason ?? null, expiresAt, actor });
        console.log(`${phone} ${r.created ? 'added to' : 'already on (refreshed)'} the ${values.campaign ? 'campaign' : 'global'} do-not-call list`);
        return 0;
      }
      case 'remove': {
        const phone = e164(positionals[0], values.country);
        const n = await removeDncEntry(db, { phone, campaignId: values.campaign ?? null, actor, reason: values.reason ?? null });
        console.log(n > 0 ? `${phone} removed (${n} entr${n === 1 ? 'y' : 'ies'}), audited` : `${phone} was not on that list`);
        return n > 0 ? 0 : 1;
      }
      case 'list': {
        const rows = await listDncEntries(db, { campaignId: values.campaign, limit: Number(values.limit), offset: 0 });
        for (const r of rows) console.log(`${r.phone}\t${r.campaignId ?? 'global'}\t${r.source}\t${r.expiresAt?.toISOString() ?? '-'}\t${r.reason ?? ''}`);
        return 0;
      }
      default: {
        const file = positionals[0];
        if (!file) throw new CliInputError('give the registry file (or - for standard input)');
        if (!values.registry || !/^[a-z0-9][a-z0-9_-]{0,39}$/.test(values.registry)) throw new CliInputError('--registry NAME is required (lower-case, e.g. us-national)');
        const input = file === '-' ? process.stdin : createReadStream(file);
        const report = await importDncRegistry(poolOf(db), input, {
          registry: values.registry, actor, replace: values.replace, nationalPrefix: values['national-prefix'] ?? null,
        });
        console.log(JSON.stringify(report, null, 2));
        return 0;
      }
    }
  } finally {
    await db.destroy();
  }
}
