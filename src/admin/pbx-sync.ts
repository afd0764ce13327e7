// Makes every node's live PJSIP configuration match the trunks and agents stored in PostgreSQL.
// A change is pushed to every enabled node at once (PbxFleet: a requests-only ARI client per
// node, whichever process makes the change); a node that cannot be reached is marked pending and
// its engine pushes the stored state when it can (at its start, after Asterisk comes back, or at
// its next check); a node that refuses the change sinks it: the nodes that took it are set back.
import { sql } from 'kysely';
import type { Config } from '../config.js';
import type { Db } from '../db/database.js';
import type { PendingRemoval } from '../db/schema.js';
import { ClientError } from '../errors.js';
import type { Logger } from '../log.js';
import { AriError, AriGateway, ariOptions } from '../pbx/ari.js';
import { pushAgentEndpoint, pushTrunk, removeAgentEndpoint, removeTrunk, type PjsipConfigClient } from '../pbx/pjsip-config.js';

export async function syncTrunk(db: Db, ari: PjsipConfigClient, trunkId: string): Promise<void> {
  const t = await db.selectFrom('trunks').where('id', '=', trunkId).selectAll().executeTakeFirstOrThrow();
  if (!t.enabled) return removeTrunk(ari, t.name);
  await pushTrunk(ari, { name: t.name, host: t.host, port: t.port, transport: t.transport, username: t.username, password: t.password, codecs: t.codecs });
}

export async function syncAgent(db: Db, ari: PjsipConfigClient, agentId: string): Promise<void> {
  const a = await db.selectFrom('agents').where('id', '=', agentId).selectAll().executeTakeFirstOrThrow();
  await pushAgentEndpoint(ari, { endpoint: a.endpoint, password: a.sip_password, contactUri: a.contact_uri, phoneType: a.phone_type });
}

/**
 * Whether a node's Asterisk holds an agent's endpoint: their own node's does (their softphone
 * registers and is called there, nowhere else); an agent placed on no node is known to every node,
 * and a target that is no node row (one gateway) holds every agent.
 */
export function agentOnNode(agentNodeId: string | null, nodeId: string | null): boolean {
  return agentNodeId === null || nodeId === null || agentNodeId === nodeId;
}

/** Pushes every trunk, and every agent of the node (`nodeId`; null: every agent): at start-up,
 * and after Asterisk restarts. Agents of other nodes are removed (moved while it was away). */
export async function syncAll(db: Db, ari: PjsipConfigClient, nodeId: string | null = null): Promise<{ trunks: number; agents: number }> {
  const trunks = await db.selectFrom('trunks').select('id').execute();
  for (const t of trunks) await syncTrunk(db, ari, t.id);
  const agents = await db.selectFrom('agents').select(['id', 'endpoint', 'node_id']).execute();
  let pushed = 0;
  for (const a of agents) {
    if (agentOnNode(a.node_id, nodeId)) {
      await syncAgent(db, ari, a.id);
      pushed++;
    } else await removeAgentEndpoint(ari, a.endpoint);
  }
  return { trunks: trunks.length, agents: pushed };
}

/**
 * A node's engine brings its Asterisk to the stored state: every trunk and agent pushed, the
 * objects deleted while it was unreachable removed, and its pending mark cleared (unless a newer
 * change was marked meanwhile: the next check takes that one).
 */
export async function syncNode(db: Db, ari: PjsipConfigClient, nodeId: string | null): Promise<{ trunks: number; agents: number; removed: number }> {
  const mark = nodeId
    ? await db.selectFrom('nodes').select(['config_pending_at', 'config_pending_removals']).where('id', '=', nodeId).executeTakeFirst()
    : undefined;
  const pushed = await syncAll(db, ari, nodeId);
  let removed = 0;
  for (const r of mark?.config_pending_removals ?? []) {
    // Created again since (same name): pushed above, not removed.
    if (r.kind === 'trunk' && !(await db.selectFrom('trunks').select('id').where('name', '=', r.name).executeTakeFirst())) await removeTrunk(ari, r.name);
    else if (r.kind === 'agent' && !(await db.selectFrom('agents').select('id').where('endpoint', '=', r.name).executeTakeFirst())) await removeAgentEndpoint(ari, r.name);
    else continue;
    removed++;
  }
  if (nodeId && mark?.config_pending_at) {
    await db
      .updateTable('nodes')
      .set({ config_pending_at: null, config_pending_reason: null, config_pending_removals: '[]' })
      .where('id', '=', nodeId)
      .where('config_pending_at', '=', mark.config_pending_at)
      .execute();
  }
  return { ...pushed, removed };
}

/** Every `everyMs`, a node marked pending is synced by its engine (it reaches its own Asterisk). */
export function watchPendingConfig(db: Db, ari: AriGateway, nodeId: string, log: Logger, everyMs = 2000): () => void {
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !ari.connected) return;
    busy = true;
    void (async () => {
      const n = await db.selectFrom('nodes').select('config_pending_at').where('id', '=', nodeId).executeTakeFirst();
      if (!n?.config_pending_at) return;
      const done = await syncNode(db, ari, nodeId);
      log.info(done, 'pending PJSIP configuration pushed to the node');
    })()
      .catch((err: unknown) => log.warn({ err }, 'pushing pending PJSIP configuration failed (retried)'))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** One node a change must reach, with a client for its ARI. */
export interface PbxTarget {
  /** null: a gateway given as it is (a test's, one engine's), not a row of the nodes table. */
  nodeId: string | null;
  node: string;
  client: PjsipConfigClient;
}

/** Where live configuration changes go. */
export interface PbxTargets {
  targets(): Promise<PbxTarget[]>;
}

/** One gateway (a test's engine, a single-node tool): the change goes there only. */
export function oneGateway(ari: PjsipConfigClient, node = 'this engine\'s node'): PbxTargets {
  return { targets: async () => [{ nodeId: null, node, client: ari }] };
}

/**
 * Every enabled node of the nodes table (drained ones too: their Asterisk still runs), each
 * through a requests-only ARI client kept while the node's address and credentials stay the same.
 */
export class PbxFleet implements PbxTargets {
  private readonly clients = new Map<string, { key: string; gw: AriGateway }>();

  constructor(
    private readonly db: Db,
    private readonly cfg: Config,
    private readonly log: Logger,
    /** A node that does not answer within this is taken as unreachable (the change waits for it). */
    private readonly timeoutMs = Math.min(cfg.ARI_TIMEOUT_MS, 3000),
  ) {}

  async targets(): Promise<PbxTarget[]> {
    const nodes = await this.db.selectFrom('nodes').selectAll().where('enabled', '=', true).orderBy('name').execute();
    return nodes.map((n) => {
      const key = `${n.ari_url}\n${n.ari_user}\n${n.ari_password}`;
      let c = this.clients.get(n.id);
      if (!c || c.key !== key) {
        c?.gw.close();
        const opts = ariOptions({ ...this.cfg, ARI_URL: n.ari_url, ARI_USER: n.ari_user, ARI_PASSWORD: n.ari_password }, this.log, `${this.cfg.ARI_APP}-${n.name}`);
        c = { key, gw: AriGateway.requestsOnly({ ...opts, maxSockets: 4, timeoutMs: this.timeoutMs }) };
        this.clients.set(n.id, c);
      }
      return { nodeId: n.id, node: n.name, client: c.gw };
    });
  }

  close(): void {
    for (const c of this.clients.values()) c.gw.close();
    this.clients.clear();
  }
}

/** What became of a change on one node. */
export interface NodePush {
  node: string;
  /** applied: the node has it; pending: unreachable now, its engine pushes it when it can. */
  status: 'applied' | 'pending';
  reason?: string;
}

/** A node that cannot be reached (or does not let us in) gets the change later; any other answer is a refusal of the change itself. */
function unreachable(err: unknown): boolean {
  return !(err instanceof AriError) || err.status === null || err.status === 401;
}

export class PbxRefusedError extends ClientError {
  override readonly name = 'PbxRefusedError';
}

/**
 * Pushes a change (`apply`) to every target at once, inside the change's transaction `trx`. If a
 * node refuses it (Asterisk answered with an error), every node that took it (and the refusing one,
 * which may have taken part of it) is set back with `undo`, and a 502 naming the node(s) is raised so
 * the transaction rolls back: nothing is half-applied. A node that cannot be reached is marked
 * pending in the same transaction (with `removal` when the change deletes an object) and gets the
 * stored state from its engine later. A node that cannot be set back is marked pending outside the
 * transaction, so that its engine brings it back to the stored state.
 */
export async function pushToNodes(
  db: Db,
  trx: Db,
  fleet: PbxTargets,
  log: Logger | undefined,
  apply: (c: PjsipConfigClient, target: PbxTarget) => Promise<void>,
  undo: (c: PjsipConfigClient, target: PbxTarget) => Promise<void>,
  removal?: PendingRemoval,
): Promise<NodePush[]> {
  const targets = await fleet.targets();
  const results = await Promise.all(targets.map(async (t) => {
    try {
      await apply(t.client, t);
      return { t, ok: true as const };
    } catch (err) {
      return { t, ok: false as const, err };
    }
  }));
  const refused = results.filter((r) => !r.ok && !unreachable(r.err));
  if (refused.length > 0) {
    const touched = results.filter((r) => r.ok || !unreachable(r.err));
    await Promise.all(touched.map(async (r) => {
      try {
        await undo(r.t.client, r.t);
      } catch (err) {
        log?.error({ node: r.t.node, err: (err as Error).message }, 'setting a node back after a refused change failed: marked pending for its engine');
        if (r.t.nodeId) await markPending(db, r.t.nodeId, `setting back a refused change failed: ${(err as Error).message}`);
      }
    }));
    const names = refused.map((r) => `node "${r.t.node}": ${(r.err as Error).message}`).join('; ');
    throw new PbxRefusedError(`Asterisk refused the change, so it was not saved (${names})`, 502);
  }
  const out: NodePush[] = [];
  for (const r of results) {
    if (r.ok) {
      out.push({ node: r.t.node, status: 'applied' });
      continue;
    }
    const reason = (r.err as Error).message;
    log?.warn({ node: r.t.node, err: reason }, 'node unreachable: the change is stored and marked pending for its engine');
    if (r.t.nodeId) await markPending(trx, r.t.nodeId, reason, removal);
    out.push({ node: r.t.node, status: 'pending', reason });
  }
  return out;
}

async function markPending(db: Db, nodeId: string, reason: string, removal?: PendingRemoval): Promise<void> {
  await db
    .updateTable('nodes')
    .set({
      // Milliseconds, as JavaScript reads it back: syncNode clears the mark only if it is the one it read.
      config_pending_at: sql<Date>`date_trunc('milliseconds', clock_timestamp())`,
      config_pending_reason: reason.slice(0, 500),
      ...(removal ? { config_pending_removals: sql<string>`config_pending_removals || ${JSON.stringify([removal])}::jsonb` } : {}),
    })
    .where('id', '=', nodeId)
    .execute();
}
