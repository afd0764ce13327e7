// Draining a node (`dialwell drain <node>`, POST /api/v1/nodes/{id}/drain): the engine that owns
// it stops placing calls there, lets the calls up finish (up to the drain's call limit, then ends
// each with the closing message), logs the node's agents out with reason "drain", marks the node
// drained and releases its lease. A drained node stays so (no engine, standbys included, takes
// it) until undrained (`dialwell undrain <node>`, POST .../undrain, or PATCH enabled: true).
// The request is a row change (nodes.drain_state), so any process may take it; the owner's
// engine host sees it at its next look at the nodes table (EngineHost.refresh).
import { sql } from 'kysely';
import { writeAudit, type Actor } from '../auth/audit.repository.js';
import { getNode, nodeView, NodeError, type NodeRow } from '../admin/nodes.service.js';
import type { Db } from '../db/database.js';
import { leaseHolder, nodeLease } from './leases.repository.js';

/** How long a drain lets calls run when it names no limit (the SIGTERM drain's default). */
export const DEFAULT_DRAIN_CALL_LIMIT_MS = 5 * 60_000;

/** A node by id, or by name (the CLI names nodes). */
export async function findNode(db: Db, idOrName: string): Promise<NodeRow> {
  const byName = await db.selectFrom('nodes').selectAll().where('name', '=', idOrName).executeTakeFirst();
  if (byName) return byName;
  if (/^[0-9a-f-]{36}$/i.test(idOrName)) return getNode(db, idOrName);
  throw new NodeError(`no node is named "${idOrName}" (GET /api/v1/nodes lists them)`, 404);
}

/**
 * Asks for the node's drain (idempotent). With no engine driving it, it is drained at once
 * (there is nothing to finish); else its owner drains it and marks it drained.
 */
export async function requestDrain(db: Db, actor: Actor, nodeId: string, opts: { callLimitMs?: number } = {}): Promise<NodeRow> {
  const before = await getNode(db, nodeId);
  if (!before.enabled) throw new NodeError(`node "${before.name}" is disabled: no engine drives it, so there is nothing to drain`, 409);
  if (before.drain_state) return before;
  const owner = await leaseHolder(db, nodeLease(before.name));
  return db.transaction().execute(async (trx) => {
    const n = await trx
      .updateTable('nodes')
      .set({
        drain_state: owner ? 'draining' : 'drained',
        drain_requested_at: sql<Date>`now()`,
        drained_at: owner ? null : sql<Date>`now()`,
        drain_call_limit_ms: opts.callLimitMs ?? null,
        updated_at: new Date(),
      })
      .where('id', '=', nodeId)
      .where('drain_state', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!n) return getNode(trx, nodeId);
    await writeAudit(trx, actor, {
      action: 'node.drain-requested', resource: 'node', resourceId: nodeId, before: nodeView(before), after: nodeView(n),
      details: { owner: owner?.owner ?? null, callLimitMs: opts.callLimitMs ?? null },
    });
    return n;
  });
}

/** Puts a drained (or draining) node back in service: engines ask for its lease again. */
export async function undrain(db: Db, actor: Actor, nodeId: string): Promise<NodeRow> {
  const before = await getNode(db, nodeId);
  if (!before.drain_state) return before;
  return db.transaction().execute(async (trx) => {
    const n = await trx
      .updateTable('nodes')
      .set({ drain_state: null, drain_requested_at: null, drained_at: null, drain_call_limit_ms: null, updated_at: new Date() })
      .where('id', '=', nodeId)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, actor, { action: 'node.undrained', resource: 'node', resourceId: nodeId, before: nodeView(before), after: nodeView(n) });
    return n;
  });
}

/** The drain is over (calls finished, agents out): the node is drained, unless it was undrained meanwhile. */
export async function markDrained(db: Db, nodeId: string): Promise<void> {
  await db.updateTable('nodes').set({ drain_state: 'drained', drained_at: sql<Date>`now()` }).where('id', '=', nodeId).where('drain_state', '=', 'draining').execute();
}
