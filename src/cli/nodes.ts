// `dialwell nodes add|list`: registers an Asterisk node from the command line, through the same
// validated and audited service as POST /api/v1/nodes (actor "cli"), so a deployment script (or
// docker-compose's cluster profile) can add its second node without an API token. `--from-env`
// takes the node's ARI, AMI, SIP address and CEL file from the environment variables a single
// node is configured with (ARI_URL, ARI_USER, ..., NODE_SIP_ADDRESS, ASTERISK_CEL_FILE);
// `--if-missing` makes adding a node that already exists a no-op (exit 0).
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { systemActor } from '../auth/audit.repository.js';
import { createNode, listNodes, nodeInputSchema } from '../admin/nodes.service.js';
import { leaseHolder, nodeLease } from '../cluster/leases.repository.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { CliInputError } from './errors.js';

const USAGE = `usage: dialwell nodes list
       dialwell nodes add --name N (--from-env | --ari-url URL --ari-user U --ari-password P --ami-host H [--ami-port N]
                          --ami-user U --ami-password P --sip-address HOST:PORT [--cel-file PATH]) [--disabled] [--if-missing]`;

export async function runNodes(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'add' && sub !== 'list') throw new CliInputError(USAGE);
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' }, 'from-env': { type: 'boolean', default: false }, 'if-missing': { type: 'boolean', default: false }, disabled: { type: 'boolean', default: false },
      'ari-url': { type: 'string' }, 'ari-user': { type: 'string' }, 'ari-password': { type: 'string' },
      'ami-host': { type: 'string' }, 'ami-port': { type: 'string' }, 'ami-user': { type: 'string' }, 'ami-password': { type: 'string' },
      'sip-address': { type: 'string' }, 'cel-file': { type: 'string' },
    },
  });
  const cfg = loadConfig();
  let input: z.infer<typeof nodeInputSchema> | null = null;
  if (sub === 'add') {
    if (!values.name) throw new CliInputError(`--name is required\n${USAGE}`);
    const env = values['from-env'];
    const port = values['ami-port'] ?? (env ? String(cfg.AMI_PORT) : undefined);
    if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new CliInputError(`--ami-port must be a port number (got "${port}")`);
    const celFile = values['cel-file'] ?? (env ? cfg.ASTERISK_CEL_FILE || null : null);
    const parsed = nodeInputSchema.safeParse({
      name: values.name,
      ariUrl: values['ari-url'] ?? (env ? cfg.ARI_URL : undefined),
      ariUser: values['ari-user'] ?? (env ? cfg.ARI_USER : undefined),
      ariPassword: values['ari-password'] ?? (env ? cfg.ARI_PASSWORD : undefined),
      amiHost: values['ami-host'] ?? (env ? cfg.AMI_HOST : undefined),
      ...(port !== undefined ? { amiPort: Number(port) } : {}),
      amiUser: values['ami-user'] ?? (env ? cfg.AMI_USER : undefined),
      amiPassword: values['ami-password'] ?? (env ? cfg.AMI_PASSWORD : undefined),
      sipAddress: values['sip-address'] ?? (env ? cfg.NODE_SIP_ADDRESS : undefined),
      celFile,
      enabled: !values.disabled,
    });
    if (!parsed.success) {
      const flag = (path: PropertyKey | undefined) => `--${String(path ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new CliInputError(parsed.error.issues.map((i) => `${flag(i.path[0])}: ${i.code === 'invalid_type' && i.message.endsWith('undefined') ? 'is required (or pass --from-env)' : i.message}`).join('\n') + `\n${USAGE}`);
    }
    input = parsed.data;
  }
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 2);
  try {
    await migrateToLatest(db);
    if (input) {
      const existing = (await listNodes(db)).find((n) => n.name === input.name);
      if (existing) {
        if (values['if-missing']) {
          console.log(`node ${existing.name} already exists (${existing.ari_url}): left as it is`);
          return 0;
        }
        throw new CliInputError(`node ${existing.name} already exists; change it with PATCH /api/v1/nodes/${existing.id}, or pass --if-missing`);
      }
      const n = await createNode(db, systemActor('cli'), input);
      console.log(`node ${n.name} added (ARI ${n.ari_url}, AMI ${n.ami_host}:${n.ami_port}, SIP ${n.sip_address}${n.enabled ? '' : ', disabled'}); an engine that may drive it takes its lease within a few seconds`);
      return 0;
    }
    for (const n of await listNodes(db)) {
      const owner = await leaseHolder(db, nodeLease(n.name));
      console.log([n.name, n.enabled ? 'enabled' : 'disabled', n.ari_url, `${n.ami_host}:${n.ami_port}`, n.sip_address, owner ? `owner ${owner.owner} (epoch ${owner.epoch})` : 'no owner'].join('\t'));
    }
    return 0;
  } finally {
    await db.destroy();
  }
}
