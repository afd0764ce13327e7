// Asterisk nodes: list, read, add, change, remove (src/admin/nodes.service.ts), drain and undrain
// (src/cluster/drain.ts). Passwords are write-only; a node's live owner (the engine holding its
// lease), its drain and any configuration still pending for it are shown beside it.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createNode, deleteNode, getNode, listNodes, nodeInputSchema, nodePatchSchema, nodeView, updateNode, type NodeRow } from '../../admin/nodes.service.js';
import { leaseHolder } from '../../cluster/leases.repository.js';
import { nodeLease } from '../../app/engine-host.js';
import { findNode, requestDrain, undrain } from '../../cluster/drain.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be a node id (a UUID)') });
const read = { access: { perm: 'config.read' } } as const;
const write = { access: { perm: 'nodes.manage' } } as const;

export function nodeRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const withOwner = async (n: NodeRow) => {
    const owner = await leaseHolder(deps.db, nodeLease(n.name));
    return { ...nodeView(n), owner: owner ? { engine: owner.owner, epoch: owner.epoch, until: owner.expiresAt } : null };
  };
  return async (app) => {
    app.get('/nodes', { config: read }, async () => ({ nodes: await Promise.all((await listNodes(deps.db)).map(withOwner)) }));
    app.get('/nodes/:id', { config: read, schema: { params } }, async (req) => withOwner(await getNode(deps.db, req.params.id)));
    app.post('/nodes', { config: write, schema: { body: nodeInputSchema } }, async (req, reply) => reply.status(201).send(nodeView(await createNode(deps.db, actorOf(req), req.body))));
    app.patch('/nodes/:id', { config: write, schema: { params, body: nodePatchSchema } }, async (req) => nodeView(await updateNode(deps.db, actorOf(req), req.params.id, req.body)));
    app.post('/nodes/:id/drain', {
      config: write,
      schema: {
        description: 'Drains the node: no new calls on it, live calls finish (up to callLimitSeconds, then each ends with the closing message), its agents are logged out (reason "drain"), then its lease is released; it stays drained until undrained. Answers at once (202) with drainState "draining", or "drained" when no engine drove it.',
        params,
        body: z.strictObject({ callLimitSeconds: z.int('must be a whole number').min(0).max(24 * 3600).optional() }).optional(),
      },
    }, async (req, reply) => {
      const limit = req.body?.callLimitSeconds;
      const n = await requestDrain(deps.db, actorOf(req), (await findNode(deps.db, req.params.id)).id, limit !== undefined ? { callLimitMs: limit * 1000 } : {});
      return reply.status(202).send(await withOwner(n));
    });
    app.post('/nodes/:id/undrain', { config: write, schema: { description: 'Puts a drained node back in service: an engine takes it again.', params } }, async (req) =>
      withOwner(await undrain(deps.db, actorOf(req), req.params.id)));
    app.delete('/nodes/:id', { config: write, schema: { params } }, async (req, reply) => {
      await deleteNode(deps.db, actorOf(req), req.params.id);
      return reply.status(204).send();
    });
  };
}
