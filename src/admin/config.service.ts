// Trunks, caller ids and agents as admins configure them: validated, audited (before and after,
// never a secret), and pushed to every node's live PJSIP configuration inside the same
// transaction (src/admin/pbx-sync.ts): a change a node refuses is not stored (and the nodes that
// took it are set back); a node that cannot be reached is marked pending and gets it from its engine.
import { z } from 'zod';
import { ClientError } from '../errors.js';
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import { parsePhone } from '../compliance/phone.js';
import type { Db } from '../db/database.js';
import type { PendingRemoval, PhoneType } from '../db/schema.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import { pushAgentEndpoint, pushTrunk, removeAgentEndpoint, removeTrunk, TRUNK_PREFIX, type PjsipConfigClient } from '../pbx/pjsip-config.js';
import { agentOnNode, oneGateway, pushToNodes, type NodePush, type PbxTarget, type PbxTargets } from './pbx-sync.js';

export class ConfigError extends ClientError {
  override readonly name = 'ConfigError';
}

/**
 * Where trunks and agents live: every node (`pbx`, an API process's PbxFleet), or one gateway
 * (`ari`, a test's engine). Without either, the engines push them at their start.
 */
export interface ConfigDeps {
  db: Db;
  pbx?: PbxTargets;
  ari?: AriGateway;
  log?: Logger;
}

const hostname = z
  .string()
  .min(1)
  .max(253)
  .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/, 'must be a host name or IPv4 address such as "sip.carrier.example" or "10.0.0.5"');
const secret = z.string().min(8, 'must be at least 8 characters').max(128).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');
const codec = z.enum(['alaw', 'ulaw', 'g722', 'g729', 'gsm', 'opus', 'slin']);

const trunkFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lower-case letters, digits, _ or - (at most 63), such as "carrier-a"'),
  host: hostname,
  port: z.int('must be a whole number').min(1).max(65535),
  transport: z.enum(['udp', 'tcp', 'tls']),
  username: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').nullable(),
  password: secret.nullable(),
  codecs: z.array(codec).min(1, 'must list at least one codec').max(7),
  maxChannels: z.int('must be a whole number').min(1).max(10_000),
  maxCps: z.int('must be a whole number').min(1).max(1000),
  enabled: z.boolean(),
};
export const trunkInputSchema = z.strictObject({
  ...trunkFields,
  port: trunkFields.port.default(5060),
  transport: trunkFields.transport.default('udp'),
  username: trunkFields.username.default(null),
  password: trunkFields.password.default(null),
  codecs: trunkFields.codecs.default(['alaw', 'ulaw']),
  maxChannels: trunkFields.maxChannels.default(100),
  maxCps: trunkFields.maxCps.default(20),
  enabled: trunkFields.enabled.default(true),
});
export const trunkPatchSchema = z.strictObject(trunkFields).partial();

const e164 = z.string().min(1).max(40);
export const callerIdInputSchema = z.strictObject({
  number: e164,
  label: z.string().max(200).default(''),
  isHotline: z.boolean().default(false),
  dailyCap: z.int('must be a whole number').min(1).max(1_000_000).nullable().default(null),
  /** Trunks allowed to present this number; empty means every trunk. */
  trunkIds: z.array(z.uuid('must be a trunk id (a UUID)')).max(100).default([]),
  /** Campaigns whose pool holds this number. */
  campaignIds: z.array(z.uuid('must be a campaign id (a UUID)')).max(1000).default([]),
});
export const callerIdPatchSchema = z.strictObject({
  label: z.string().max(200).optional(),
  isHotline: z.boolean().optional(),
  dailyCap: z.int('must be a whole number').min(1).max(1_000_000).nullable().optional(),
  trunkIds: z.array(z.uuid('must be a trunk id (a UUID)')).max(100).optional(),
  campaignIds: z.array(z.uuid('must be a campaign id (a UUID)')).max(1000).optional(),
});

export const agentInputSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200),
  endpoint: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be letters, digits, _ or - (at most 63), such as "agent-1001"')
    .refine((s) => !s.startsWith(TRUNK_PREFIX), `must not start with "${TRUNK_PREFIX}" (kept for trunks)`),
  /** The softphone's SIP digest password; a softphone registers with the endpoint as its user name. */
  sipPassword: secret.nullable().default(null),
  /** Where a softphone that does not register answers, e.g. "sip:127.0.0.1:5080". */
  contactUri: z.string().regex(/^sips?:[^\s<>"]{1,250}$/, 'must be a SIP URI such as "sip:10.0.0.7:5060"').nullable().default(null),
  /** 'sip': a SIP softphone or desk phone; 'webrtc': the browser itself (registers with sipPassword). */
  phoneType: z.enum(['sip', 'webrtc']).default('sip'),
  /** The node whose Asterisk calls the agent's softphone; null: the default node (the first enabled one). */
  nodeId: z.uuid('must be a node id (a UUID) from GET /api/v1/nodes').nullable().default(null),
});
export const agentPatchSchema = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(200).optional(),
  sipPassword: secret.nullable().optional(),
  contactUri: z.string().regex(/^sips?:[^\s<>"]{1,250}$/, 'must be a SIP URI such as "sip:10.0.0.7:5060"').nullable().optional(),
  phoneType: z.enum(['sip', 'webrtc']).optional(),
  nodeId: z.uuid('must be a node id (a UUID) from GET /api/v1/nodes').nullable().optional(),
});

type TrunkRow = { id: string; name: string; host: string; port: number; transport: 'udp' | 'tcp' | 'tls'; username: string | null; password: string | null; codecs: string[]; max_channels: number; max_cps: number; enabled: boolean; created_at: Date; updated_at: Date };

export const trunkView = (t: TrunkRow) => ({
  id: t.id, name: t.name, host: t.host, port: t.port, transport: t.transport, username: t.username, hasPassword: t.password !== null,
  codecs: t.codecs, maxChannels: t.max_channels, maxCps: t.max_cps, enabled: t.enabled, createdAt: t.created_at, updatedAt: t.updated_at,
});

const pgCode = (err: unknown): string | undefined => (err as { code?: string }).code;

/** A change in one transaction; the constraint errors a client can cause become 409s that say why. */
async function inTransaction<T>(db: Db, change: (trx: Db) => Promise<T>): Promise<T> {
  try {
    return await db.transaction().execute(change);
  } catch (err) {
    if (pgCode(err) === '23503') throw new ConfigError('other records still refer to it (contacts assigned to this agent, campaigns, calls); change those first', 409);
    if (pgCode(err) === '23505') throw new ConfigError(`that ${(err as { constraint?: string }).constraint?.includes('endpoint') ? 'endpoint' : 'name or number'} is already taken`, 409);
    throw err;
  }
}

/**
 * Runs a change in a transaction, pushing it to every node before commit: a node that refuses it
 * rolls the change back (pushToNodes sets the others back first); `undo` brings a node back to
 * the state before the change. The result carries what became of the change on each node.
 */
async function withPush<T>(
  deps: ConfigDeps,
  change: (trx: Db) => Promise<T>,
  push: (c: PjsipConfigClient, result: T, target: PbxTarget) => Promise<void>,
  undo: (c: PjsipConfigClient, result: T, target: PbxTarget) => Promise<void>,
  removal?: PendingRemoval,
): Promise<{ result: T; pbx: NodePush[] }> {
  const fleet = deps.pbx ?? (deps.ari ? oneGateway(deps.ari) : null);
  let pbx: NodePush[] = [];
  const result = await inTransaction(deps.db, async (trx) => {
    const r = await change(trx);
    if (fleet) pbx = await pushToNodes(deps.db, trx, fleet, deps.log, (c, t) => push(c, r, t), (c, t) => undo(c, r, t), removal);
    return r;
  });
  return { result, pbx };
}

/** A trunk as a node must hold it: pushed when enabled, absent otherwise. */
const applyTrunk = (c: PjsipConfigClient, t: TrunkRow | null, name: string): Promise<void> => (t?.enabled ? pushTrunk(c, trunkSpec(t)) : removeTrunk(c, name));

const trunkSpec = (t: TrunkRow) => ({ name: t.name, host: t.host, port: t.port, transport: t.transport, username: t.username, password: t.password, codecs: t.codecs });

export async function getTrunk(db: Db, id: string): Promise<TrunkRow> {
  const t = await db.selectFrom('trunks').selectAll().where('id', '=', id).executeTakeFirst();
  if (!t) throw new ConfigError(`trunk ${id} does not exist`, 404);
  return t;
}

export async function createTrunkFrom(deps: ConfigDeps, actor: Actor, input: z.infer<typeof trunkInputSchema>) {
  if ((input.username === null) !== (input.password === null)) throw new ConfigError('username and password go together: give both or neither', 400, input.username === null ? 'username' : 'password');
  const { result: row, pbx } = await withPush(deps, async (trx) => {
    const t = await trx
      .insertInto('trunks')
      .values({
        name: input.name, host: input.host, port: input.port, transport: input.transport, username: input.username, password: input.password,
        codecs: input.codecs, max_channels: input.maxChannels, max_cps: input.maxCps, enabled: input.enabled,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'trunk.created', resource: 'trunk', resourceId: t.id, after: trunkView(t) });
    return t;
  }, (c, t) => (t.enabled ? pushTrunk(c, trunkSpec(t)) : Promise.resolve()), (c, t) => removeTrunk(c, t.name));
  return { ...trunkView(row), pbx };
}

export async function updateTrunk(deps: ConfigDeps, actor: Actor, id: string, patch: z.infer<typeof trunkPatchSchema>) {
  const before = await getTrunk(deps.db, id);
  if (patch.name !== undefined && patch.name !== before.name) throw new ConfigError('a trunk keeps its name (Asterisk knows it by it); create a new trunk instead', 400, 'name');
  const username = patch.username !== undefined ? patch.username : before.username;
  const password = patch.password !== undefined ? patch.password : before.password;
  if ((username === null) !== (password === null)) throw new ConfigError('username and password go together: give both or neither', 400, username === null ? 'username' : 'password');
  const limits = { maxChannels: patch.maxChannels ?? before.max_channels, maxCps: patch.maxCps ?? before.max_cps };
  const over = await deps.db
    .selectFrom('campaigns')
    .select(['name', 'max_concurrent', 'max_cps'])
    .where('trunk_id', '=', id)
    .where('state', '!=', 'completed')
    .where((eb) => eb.or([eb('max_concurrent', '>', limits.maxChannels), eb('max_cps', '>', limits.maxCps)]))
    .executeTakeFirst();
  if (over) throw new ConfigError(`campaign "${over.name}" dials this trunk with more than the new limits allow; lower the campaign's limits first`, 409, over.max_cps > limits.maxCps ? 'maxCps' : 'maxChannels');
  const { result: row, pbx } = await withPush(deps, async (trx) => {
    const t = await trx
      .updateTable('trunks')
      .set({
        host: patch.host, port: patch.port, transport: patch.transport, username, password, codecs: patch.codecs,
        max_channels: patch.maxChannels, max_cps: patch.maxCps, enabled: patch.enabled, updated_at: new Date(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, {
      action: 'trunk.updated', resource: 'trunk', resourceId: id, before: trunkView(before), after: trunkView(t),
      details: patch.password !== undefined ? { passwordChanged: true } : undefined,
    });
    return t;
  }, (c, t) => applyTrunk(c, t, t.name), (c) => applyTrunk(c, before, before.name));
  return { ...trunkView(row), pbx };
}

export async function deleteTrunk(deps: ConfigDeps, actor: Actor, id: string): Promise<void> {
  const before = await getTrunk(deps.db, id);
  const used = await deps.db.selectFrom('campaigns').select('name').where('trunk_id', '=', id).executeTakeFirst();
  if (used) throw new ConfigError(`campaign "${used.name}" uses this trunk; move the campaign to another trunk first`, 409);
  const called = await deps.db.selectFrom('calls').select('id').where('trunk_id', '=', id).limit(1).executeTakeFirst();
  if (called) throw new ConfigError('calls were placed through this trunk and their records keep it; disable it instead (PATCH enabled: false)', 409);
  await withPush(deps, async (trx) => {
    await trx.deleteFrom('trunks').where('id', '=', id).execute();
    await writeAudit(trx, actor, { action: 'trunk.deleted', resource: 'trunk', resourceId: id, before: trunkView(before) });
  }, (c) => removeTrunk(c, before.name), (c) => applyTrunk(c, before, before.name), { kind: 'trunk', name: before.name });
}

// Caller ids.

async function callerIdView(db: Db, id: string) {
  const c = await db.selectFrom('caller_ids').selectAll().where('id', '=', id).executeTakeFirst();
  if (!c) throw new ConfigError(`caller id ${id} does not exist`, 404);
  const trunks = await db.selectFrom('caller_id_trunks').select('trunk_id').where('caller_id_id', '=', id).execute();
  const campaigns = await db
    .selectFrom('campaigns')
    .select('id')
    .where((eb) => eb.or([eb('caller_id_id', '=', id), eb('id', 'in', eb.selectFrom('campaign_caller_ids').select('campaign_id').where('caller_id_id', '=', id))]))
    .execute();
  return {
    id: c.id, number: c.number, label: c.label, isHotline: c.is_hotline, dailyCap: c.daily_cap,
    trunkIds: trunks.map((t) => t.trunk_id).sort(), campaignIds: campaigns.map((x) => x.id).sort(), createdAt: c.created_at,
  };
}
export { callerIdView as getCallerId };

/** Refuses ids that name no row of the table, naming the field and the missing ids. */
export async function checkIds(db: Db, table: 'trunks' | 'campaigns' | 'agents', ids: string[], field: string): Promise<void> {
  if (ids.length === 0) return;
  const found = await db.selectFrom(table).select('id').where('id', 'in', ids).execute();
  const missing = ids.filter((i) => !found.some((f) => f.id === i));
  if (missing.length) throw new ConfigError(`${field}: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist`, 400, field);
}

async function setLinks(trx: Db, id: string, trunkIds: string[] | undefined, campaignIds: string[] | undefined): Promise<void> {
  if (trunkIds) {
    await trx.deleteFrom('caller_id_trunks').where('caller_id_id', '=', id).execute();
    if (trunkIds.length) await trx.insertInto('caller_id_trunks').values([...new Set(trunkIds)].map((t) => ({ caller_id_id: id, trunk_id: t }))).execute();
  }
  if (campaignIds) {
    await trx.deleteFrom('campaign_caller_ids').where('caller_id_id', '=', id).execute();
    if (campaignIds.length) await trx.insertInto('campaign_caller_ids').values([...new Set(campaignIds)].map((c) => ({ caller_id_id: id, campaign_id: c }))).execute();
  }
}

export async function createCallerIdFrom(deps: ConfigDeps, actor: Actor, input: z.infer<typeof callerIdInputSchema>) {
  const p = parsePhone(input.number);
  if (!p.ok) throw new ConfigError(`number: ${p.error}; give it in E.164, such as "+13055550100"`, 400, 'number');
  await checkIds(deps.db, 'trunks', input.trunkIds, 'trunkIds');
  await checkIds(deps.db, 'campaigns', input.campaignIds, 'campaignIds');
  // Caller ids are not Asterisk objects: nothing to push.
  const id = await inTransaction(deps.db, async (trx) => {
    const c = await trx
      .insertInto('caller_ids')
      .values({ number: p.e164, label: input.label, is_hotline: input.isHotline, daily_cap: input.dailyCap })
      .returning('id')
      .executeTakeFirstOrThrow();
    await setLinks(trx, c.id, input.trunkIds, input.campaignIds);
    await writeAudit(trx, actor, { action: 'caller-id.created', resource: 'caller-id', resourceId: c.id, after: await callerIdView(trx, c.id) });
    return c.id;
  });
  return callerIdView(deps.db, id);
}

export async function updateCallerId(deps: ConfigDeps, actor: Actor, id: string, patch: z.infer<typeof callerIdPatchSchema>) {
  const before = await callerIdView(deps.db, id);
  if (patch.trunkIds) await checkIds(deps.db, 'trunks', patch.trunkIds, 'trunkIds');
  if (patch.campaignIds) await checkIds(deps.db, 'campaigns', patch.campaignIds, 'campaignIds');
  await deps.db.transaction().execute(async (trx) => {
    await trx.updateTable('caller_ids').set({ label: patch.label, is_hotline: patch.isHotline, daily_cap: patch.dailyCap }).where('id', '=', id).execute();
    await setLinks(trx, id, patch.trunkIds, patch.campaignIds);
    await writeAudit(trx, actor, { action: 'caller-id.updated', resource: 'caller-id', resourceId: id, before, after: await callerIdView(trx, id) });
  });
  return callerIdView(deps.db, id);
}

export async function deleteCallerId(deps: ConfigDeps, actor: Actor, id: string): Promise<void> {
  const before = await callerIdView(deps.db, id);
  const used = await deps.db.selectFrom('campaigns').select('name').where('caller_id_id', '=', id).executeTakeFirst();
  if (used) throw new ConfigError(`campaign "${used.name}" presents this number by default; give it another caller id first`, 409);
  await deps.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('caller_ids').where('id', '=', id).execute();
    await writeAudit(trx, actor, { action: 'caller-id.deleted', resource: 'caller-id', resourceId: id, before });
  });
}

// Agents.

type AgentRow = { id: string; name: string; endpoint: string; sip_password: string | null; contact_uri: string | null; phone_type: PhoneType; node_id: string | null; created_at: Date };
export const agentView = (a: AgentRow) => ({
  id: a.id, name: a.name, endpoint: a.endpoint, phoneType: a.phone_type, hasSipPassword: a.sip_password !== null, contactUri: a.contact_uri, nodeId: a.node_id, createdAt: a.created_at,
});

/** An agent's node must exist; a disabled one is refused (their logins would go to the default node). */
async function checkNode(db: Db, nodeId: string | null | undefined): Promise<void> {
  if (!nodeId) return;
  const n = await db.selectFrom('nodes').select(['name', 'enabled']).where('id', '=', nodeId).executeTakeFirst();
  if (!n) throw new ConfigError(`node ${nodeId} does not exist (see GET /api/v1/nodes)`, 400, 'nodeId');
  if (!n.enabled) throw new ConfigError(`node "${n.name}" is disabled: enable it first, or choose another node`, 400, 'nodeId');
}
const agentSpec = (a: AgentRow) => ({ endpoint: a.endpoint, password: a.sip_password, contactUri: a.contact_uri, phoneType: a.phone_type });

/** A browser phone registers with a password and has no fixed contact (the browser is not reachable but by its registration). */
function checkPhone(phoneType: PhoneType, sipPassword: string | null, contactUri: string | null): void {
  if (phoneType !== 'webrtc') return;
  if (!sipPassword) throw new ConfigError('a webrtc phone registers from the browser: give it a sipPassword', 400, 'sipPassword');
  if (contactUri) throw new ConfigError('a webrtc phone registers from the browser: it has no contactUri (set it to null)', 400, 'contactUri');
}

/** An agent's endpoint as a node must hold it, coming from `from` (the state the node may have now). */
async function applyAgent(c: PjsipConfigClient, a: AgentRow, from: AgentRow): Promise<void> {
  // A removed password must not linger as an auth object Asterisk still accepts.
  if (!a.sip_password) await c.deleteConfigObject('res_pjsip', 'auth', a.endpoint);
  // A phone type change moves the endpoint to another transport: drop its old registration too.
  await pushAgentEndpoint(c, agentSpec(a), { contactChanged: a.contact_uri !== from.contact_uri || a.phone_type !== from.phone_type });
}

/** A node's side of an agent's change from `from` to `a`: pushed where the agent now lives,
 * removed from a node they left, untouched elsewhere. */
async function placeAgent(c: PjsipConfigClient, t: PbxTarget, a: AgentRow, from: AgentRow): Promise<void> {
  if (agentOnNode(a.node_id, t.nodeId)) await applyAgent(c, a, from);
  else if (agentOnNode(from.node_id, t.nodeId)) await removeAgentEndpoint(c, from.endpoint);
}

export async function getAgent(db: Db, id: string): Promise<AgentRow> {
  const a = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  if (!a) throw new ConfigError(`agent ${id} does not exist`, 404);
  return a;
}

export async function createAgentFrom(deps: ConfigDeps, actor: Actor, input: z.infer<typeof agentInputSchema>) {
  if (!input.sipPassword && !input.contactUri) throw new ConfigError('an agent needs a sipPassword (a softphone that registers) or a contactUri (one that does not)', 400, 'sipPassword');
  checkPhone(input.phoneType, input.sipPassword, input.contactUri);
  await checkNode(deps.db, input.nodeId);
  const { result: row, pbx } = await withPush(deps, async (trx) => {
    const a = await trx
      .insertInto('agents')
      .values({ name: input.name, endpoint: input.endpoint, sip_password: input.sipPassword, contact_uri: input.contactUri, phone_type: input.phoneType, node_id: input.nodeId })
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'agent.created', resource: 'agent', resourceId: a.id, after: agentView(a) });
    return a;
  }, (c, a, t) => (agentOnNode(a.node_id, t.nodeId) ? pushAgentEndpoint(c, agentSpec(a)) : Promise.resolve()), (c, a) => removeAgentEndpoint(c, a.endpoint));
  return { ...agentView(row), pbx };
}

export async function updateAgent(deps: ConfigDeps, actor: Actor, id: string, patch: z.infer<typeof agentPatchSchema>) {
  const before = await getAgent(deps.db, id);
  const sip = patch.sipPassword !== undefined ? patch.sipPassword : before.sip_password;
  const contact = patch.contactUri !== undefined ? patch.contactUri : before.contact_uri;
  if (!sip && !contact) throw new ConfigError('an agent needs a sipPassword or a contactUri; this change would leave neither', 400, 'sipPassword');
  const phoneType = patch.phoneType ?? before.phone_type;
  checkPhone(phoneType, sip, contact);
  await checkNode(deps.db, patch.nodeId);
  const { result: row, pbx } = await withPush(deps, async (trx) => {
    const a = await trx.updateTable('agents').set({ name: patch.name, sip_password: sip, contact_uri: contact, phone_type: phoneType, node_id: patch.nodeId }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
    await writeAudit(trx, actor, {
      action: 'agent.updated', resource: 'agent', resourceId: id, before: agentView(before), after: agentView(a),
      details: patch.sipPassword !== undefined ? { sipPasswordChanged: true } : undefined,
    });
    return a;
  }, (c, a, t) => placeAgent(c, t, a, before), (c, a, t) => placeAgent(c, t, before, a));
  return { ...agentView(row), pbx };
}

export async function deleteAgent(deps: ConfigDeps, actor: Actor, id: string, loggedIn: boolean): Promise<void> {
  const before = await getAgent(deps.db, id);
  if (loggedIn) throw new ConfigError(`agent "${before.name}" is logged in; log them out first`, 409);
  const called = await deps.db.selectFrom('calls').select('id').where('agent_id', '=', id).limit(1).executeTakeFirst();
  if (called) throw new ConfigError(`agent "${before.name}" took calls whose records keep them; change their sipPassword to lock the softphone out instead`, 409);
  await withPush(deps, async (trx) => {
    await trx.deleteFrom('agents').where('id', '=', id).execute();
    await writeAudit(trx, actor, { action: 'agent.deleted', resource: 'agent', resourceId: id, before: agentView(before) });
  }, (c) => removeAgentEndpoint(c, before.endpoint), (c) => pushAgentEndpoint(c, agentSpec(before)), { kind: 'agent', name: before.endpoint });
}
