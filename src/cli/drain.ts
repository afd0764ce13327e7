// `dialwell drain <node> [--call-limit-seconds N] [--no-wait]`: asks the node's owner to drain it
// (no new calls, live calls finish up to the limit, then end with the closing message; agents
// logged out with reason "drain"; lease released) and waits until it is drained (exit 0), or
// prints where it stands after --timeout-seconds (exit 1). `dialwell undrain <node>` puts it back
// in service. Both audited (actor "cli"); the same as POST /api/v1/nodes/{id}/drain and /undrain.
import { parseArgs } from 'node:util';
import { systemActor } from '../auth/audit.repository.js';
import { findNode, requestDrain, undrain } from '../cluster/drain.js';
import { leaseHolder, nodeLease } from '../cluster/leases.repository.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { CliInputError } from './errors.js';

const DRAIN_USAGE = 'usage: dialwell drain <node> [--call-limit-seconds N] [--no-wait] [--timeout-seconds N] | dialwell undrain <node>';

export async function runDrain(args: string[], undrainIt = false): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { 'call-limit-seconds': { type: 'string' }, 'no-wait': { type: 'boolean', default: false }, 'timeout-seconds': { type: 'string' } },
  });
  if (positionals.length !== 1) throw new CliInputError(DRAIN_USAGE);
  const seconds = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d{1,6}$/.test(v)) throw new CliInputError(`--${name} must be a whole number of seconds (got "${v}")`);
    return Number(v);
  };
  const limit = seconds(values['call-limit-seconds'], 'call-limit-seconds');
  const cfg = loadConfig();
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrateToLatest(db);
    const node = await findNode(db, positionals[0]!).catch((err: Error) => {
      throw new CliInputError(err.message);
    });
    if (undrainIt) {
      const n = await undrain(db, systemActor('cli'), node.id);
      console.log(`node ${n.name}: in service (an engine takes it at its next look at the nodes)`);
      return 0;
    }
    const asked = await requestDrain(db, systemActor('cli'), node.id, limit !== undefined ? { callLimitMs: limit * 1000 } : {});
    console.log(`node ${asked.name}: ${asked.drain_state}${asked.drain_state === 'draining' ? ' (its owner finishes the calls up, then logs its agents out)' : ''}`);
    if (values['no-wait'] || asked.drain_state === 'drained') return 0;
    const timeoutMs = (seconds(values['timeout-seconds'], 'timeout-seconds') ?? (limit ?? 300) + 60) * 1000;
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      const n = await db.selectFrom('nodes').select(['drain_state', 'name']).where('id', '=', node.id).executeTakeFirstOrThrow();
      if (n.drain_state !== 'draining') {
        console.log(`node ${n.name}: ${n.drain_state ?? 'undrained meanwhile'}`);
        return n.drain_state === 'drained' ? 0 : 1;
      }
      const owner = await leaseHolder(db, nodeLease(n.name));
      const calls = await db.selectFrom('calls').where('node_id', '=', node.id).where('ended_at', 'is', null).select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      const line = `node ${n.name}: draining, owner ${owner?.owner ?? 'none'}, ${calls.n} calls open`;
      if (line !== last) console.log(line);
      last = line;
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`node ${node.name}: still draining after ${timeoutMs / 1000} s`);
    return 1;
  } finally {
    await db.destroy();
  }
}
