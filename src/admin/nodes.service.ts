// Asterisk nodes as admins configure them: where each node's ARI and AMI listen (with their
// credentials), its SIP address and its CEL record. Validated, audited (never a secret), and
// created once from the environment on a fresh install, so a single box needs no set-up.
import { z } from 'zod';
import { writeAudit, systemActor, type Actor } from '../auth/audit.repository.js';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { NodeTable } from '../db/schema.js';
import { ClientError } from '../errors.js';
import type { Selectable } from 'kysely';

export class NodeError extends ClientError {
  override readonly name = 'NodeError';
}

export type NodeRow = Selectable<NodeTable>;

/** A node's name is part of its ARI application's name (`<ARI_APP>-<node>`) and of its lease. */
export const nodeName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'must be lower-case letters, digits or - (at most 31), such as "node1"');
const credential = z.string().min(1, 'must not be empty').max(128).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const host = z.string().min(1).max(253).regex(/^[A-Za-z0-9.-]+$/, 'must be a host name or IPv4 address such as "10.0.0.5"');
const httpUrl = z.string().max(500).refine((v) => {
  try {
    return ['http:', 'https:'].includes(new URL(v).protocol);
  } catch {
    return false;
  }
}, 'must be a URL such as "http://10.0.0.5:8088"');

const nodeFields = {
  name: nodeName,
  ariUrl: httpUrl,
  ariUser: credential,
  ariPassword: credential,
  amiHost: host,
  amiPort: z.int('must be a whole number').min(1).max(65535),
  amiUser: credential,
  amiPassword: credential,
  sipAddress: z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'must be host:port, such as "10.0.0.5:5060"'),
  celFile: z.string().regex(/^\//, 'must be an absolute path').max(1000).nullable(),
  enabled: z.boolean(),
};
export const nodeInputSchema = z.strictObject({
  ...nodeFields,
  amiPort: nodeFields.amiPort.default(5038),
  celFile: nodeFields.celFile.default(null),
  enabled: nodeFields.enabled.default(true),
});
export const nodePatchSchema = z.strictObject(nodeFields).partial();

/** What the API shows of a node: never a password. */
export const nodeView = (n: NodeRow) => ({
  id: n.id, name: n.name, ariUrl: n.ari_url, ariUser: n.ari_user, hasAriPassword: n.ari_password.length > 0,
  amiHost: n.ami_host, amiPort: n.ami_port, amiUser: n.ami_user, hasAmiPassword: n.ami_password.length > 0,
  sipAddress: n.sip_address, celFile: n.cel_file, enabled: n.enabled, createdAt: n.created_at, updatedAt: n.updated_at,
  /** null: in service; 'draining': its owner is finishing its calls; 'drained': no engine takes it until undrained (src/cluster/drain.ts). */
  drainState: n.drain_state, drainRequestedAt: n.drain_requested_at, drainedAt: n.drained_at,
  /** A trunk or agent change the node could not take yet (it was unreachable): its engine pushes it (src/admin/pbx-sync.ts). */
  configPending: n.config_pending_at ? { since: n.config_pending_at, reason: n.config_pending_reason } : null,
});

const pgCode = (err: unknown): string | undefined => (err as { code?: string }).code;

export async function getNode(db: Db, id: string): Promise<NodeRow> {
  const n = await db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
  if (!n) throw new NodeError(`node ${id} does not exist`, 404);
  return n;
}

export async function listNodes(db: Db): Promise<NodeRow[]> {
  return db.selectFrom('nodes').selectAll().orderBy('name').execute();
}

export async function createNode(db: Db, actor: Actor, input: z.infer<typeof nodeInputSchema>): Promise<NodeRow> {
  try {
    return await db.transaction().execute(async (trx) => {
      const n = await trx
        .insertInto('nodes')
        .values({
          name: input.name, ari_url: input.ariUrl, ari_user: input.ariUser, ari_password: input.ariPassword, ami_host: input.amiHost,
          ami_port: input.amiPort, ami_user: input.amiUser, ami_password: input.amiPassword, sip_address: input.sipAddress,
          cel_file: input.celFile, enabled: input.enabled,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await writeAudit(trx, actor, { action: 'node.created', resource: 'node', resourceId: n.id, after: nodeView(n) });
      return n;
    });
  } catch (err) {
    if (pgCode(err) === '23505') throw new NodeError(`a node named "${input.name}" already exists`, 409, 'name');
    throw err;
  }
}

export async function updateNode(db: Db, actor: Actor, id: string, patch: z.infer<typeof nodePatchSchema>): Promise<NodeRow> {
  const before = await getNode(db, id);
  if (patch.name !== undefined && patch.name !== before.name) {
    throw new NodeError('a node keeps its name (its ARI application and lease are named after it); create a new node instead', 400, 'name');
  }
  return db.transaction().execute(async (trx) => {
    const n = await trx
      .updateTable('nodes')
      .set({
        ari_url: patch.ariUrl, ari_user: patch.ariUser, ari_password: patch.ariPassword, ami_host: patch.amiHost, ami_port: patch.amiPort,
        ami_user: patch.amiUser, ami_password: patch.amiPassword, sip_address: patch.sipAddress, cel_file: patch.celFile, enabled: patch.enabled,
        // Enabling a node puts it in service: a drain ends there too.
        ...(patch.enabled === true ? { drain_state: null, drain_requested_at: null, drained_at: null, drain_call_limit_ms: null } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const secrets = { ariPasswordChanged: patch.ariPassword !== undefined, amiPasswordChanged: patch.amiPassword !== undefined };
    await writeAudit(trx, actor, { action: 'node.updated', resource: 'node', resourceId: id, before: nodeView(before), after: nodeView(n), details: secrets });
    return n;
  });
}

export async function deleteNode(db: Db, actor: Actor, id: string): Promise<void> {
  const before = await getNode(db, id);
  const called = await db.selectFrom('calls').select('id').where('node_id', '=', id).limit(1).executeTakeFirst();
  if (called) throw new NodeError('calls were placed on this node and their records keep it; disable it instead (PATCH enabled: false)', 409);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('nodes').where('id', '=', id).execute();
    await writeAudit(trx, actor, { action: 'node.deleted', resource: 'node', resourceId: id, before: nodeView(before) });
  });
}

/**
 * The name of the node an agent is assigned to (`agents.node_id`), when that node is enabled;
 * null: the default node (the first one created that an engine drives now; see AgentBus.command).
 */
export async function agentNode(db: Db, agentId: string): Promise<string | null> {
  const own = await db
    .selectFrom('agents as a')
    .innerJoin('nodes as n', 'n.id', 'a.node_id')
    .where('a.id', '=', agentId)
    .where('n.enabled', '=', true)
    .select('n.name')
    .executeTakeFirst();
  return own?.name ?? null;
}

/**
 * A fresh install has no node: the one the environment describes (ARI_*, AMI_*, SIP, CEL file) is
 * created as NODE_NAME, so `dialwell serve` on one box works as before. Several processes may race
 * here: the name is unique, the loser finds the winner's row.
 */
export async function ensureDefaultNode(db: Db, cfg: Config): Promise<NodeRow | null> {
  const any = await db.selectFrom('nodes').select('id').limit(1).executeTakeFirst();
  if (any) return null;
  const input = nodeInputSchema.parse({
    name: cfg.NODE_NAME, ariUrl: cfg.ARI_URL, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: cfg.AMI_HOST, amiPort: cfg.AMI_PORT,
    amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: cfg.NODE_SIP_ADDRESS, celFile: cfg.ASTERISK_CEL_FILE || null,
  });
  try {
    return await createNode(db, systemActor('system'), input);
  } catch (err) {
    if (err instanceof NodeError && err.status === 409) return null;
    throw err;
  }
}
