// The `dialwell` command line: migrate, demo, and the commands later issues add.
import { parseArgs } from 'node:util';
// Each command's module is loaded only when that command runs: `dialwell --help` or `eligibility`
// does not load fastify, BullMQ and the database drivers.
import { ConfigError, loadConfig } from '../config.js';
import { CliInputError } from './errors.js';

const usage = `usage: dialwell <command> [options]

commands:
  migrate [--down]              run database migrations to the latest (or one step down)
  demo [--calls N] [--agents N] bring up a demo campaign against sipp customers and agents, dial it,
                                and print what happened
  serve [--role all|api|engine] run the HTTP API on PORT (default 8080) and/or the dialer engine
                                (engines drive the nodes whose leases they hold; --no-dialer = --role api)
  eligibility <phone> --policy <preset|file> [--at ISO] [--country CC] [--time-zone Z] [--segment S] [--json]
                                dry-run decision without a database; exit 0 allowed, 1 denied, 2 bad input
  dnc add|remove|list|import    do-not-call lists (see dialwell dnc)
  contacts import <file|-> --campaign ID [--country CC] | contacts reclaim [--months 10]
                                import contacts from CSV (exit 0 all imported, 1 rows rejected, 2 bad input);
                                take back contact data agents have held for the period
  token create --role R --name N [--agent ID] [--view-numbers] | token revoke ID | token list
                                API tokens (roles admin, supervisor, agent, qa); create prints the token once
  token password --name N       set a user's console password (read from standard input)
  recordings verify [--campaign ID] [--json] | recordings purge [--campaign ID] [--dry-run] [--json]
                                re-hash the recordings store (exit 1 when a file changed or is missing);
                                delete recordings past their campaign's retention (audited)
  nodes list | nodes add --name N (--from-env | --ari-url URL ...) [--if-missing]
                                the Asterisk nodes and their owners; add a node (validated and audited, as
                                POST /api/v1/nodes); --from-env takes its ARI/AMI/SIP settings from the environment
  drain <node> [--call-limit-seconds N] [--no-wait] | undrain <node>
                                drain a node (no new calls, live calls finish, agents logged out with reason
                                "drain", lease released; it stays drained until undrained); waits until drained
  scrub <file|-> [--campaign ID] [--country CC] [--details]
                                sort a list into invalid, protected, DNC, over caps, unknown zone, eligible
`;

async function migrate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { down: { type: 'boolean', default: false } } });
  const cfg = loadConfig();
  const { createDb, ensureDatabase } = await import('../db/database.js');
  const { migrateDown, migrateToLatest } = await import('../db/migrate.js');
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    const res = values.down ? await migrateDown(db) : await migrateToLatest(db);
    const ran = res.results ?? [];
    if (ran.length === 0) console.log('migrations: nothing to do');
    for (const r of ran) console.log(`migration ${r.migrationName}: ${r.direction} ${r.status}`);
    return 0;
  } finally {
    await db.destroy();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate':
      return migrate(rest);
    case 'demo':
      return (await import('./demo.js')).runDemo(rest);
    case 'serve':
      return (await import('./serve.js')).runServe(rest);
    case 'eligibility':
      return (await import('./eligibility.js')).runEligibility(rest);
    case 'dnc':
      return (await import('./dnc.js')).runDnc(rest);
    case 'contacts':
      return (await import('./contacts.js')).runContacts(rest);
    case 'scrub':
      return (await import('./scrub.js')).runScrub(rest);
    case 'token':
      return (await import('./token.js')).runToken(rest);
    case 'nodes':
      return (await import('./nodes.js')).runNodes(rest);
    case 'drain':
      return (await import('./drain.js')).runDrain(rest);
    case 'undrain':
      return (await import('./drain.js')).runDrain(rest, true);
    case 'recordings':
      return (await import('./recordings.js')).runRecordings(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`dialwell: unknown command "${command}"\n${usage}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError || (err instanceof Error && err.name === "SchemaNewerError")) process.stderr.write(`dialwell: ${err.message}\n`);
    else if (err instanceof CliInputError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      // Bad input: say what was wrong; exit 2.
      process.stderr.write(`dialwell: ${(err as Error).message}\n`);
      process.exit(2);
    } else process.stderr.write(`dialwell: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
