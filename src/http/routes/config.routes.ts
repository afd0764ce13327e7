// Trunks, caller ids and agents: create, read, change, delete; every node's Asterisk follows at
// once, or later for a node that cannot be reached (`pbx` in the answer; see src/admin/config.service.ts). Secrets are write-only: responses say whether one is set.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  agentInputSchema, agentPatchSchema, agentView, callerIdInputSchema, callerIdPatchSchema, createAgentFrom, createCallerIdFrom, createTrunkFrom,
  deleteAgent, deleteCallerId, deleteTrunk, getAgent, getCallerId, getTrunk, trunkInputSchema, trunkPatchSchema, trunkView, updateAgent, updateCallerId, updateTrunk,
} from '../../admin/config.service.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../server.js';

const id = (what: string) => z.object({ id: z.uuid(`must be ${what} id (a UUID)`) });
const read = { access: { perm: 'config.read' } } as const;
const write = { access: { perm: 'config.write' } } as const;

export function configRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const cfg = () => ({ db: deps.db, ari: deps.ari, pbx: deps.pbx, log: deps.log });
  return async (app) => {
    app.get('/trunks', { config: read }, async () => ({ trunks: (await deps.db.selectFrom('trunks').selectAll().orderBy('name').execute()).map(trunkView) }));
    app.get('/trunks/:id', { config: read, schema: { params: id('a trunk') } }, async (req) => trunkView(await getTrunk(deps.db, req.params.id)));
    app.post('/trunks', { config: write, schema: { body: trunkInputSchema } }, async (req, reply) => reply.status(201).send(await createTrunkFrom(cfg(), actorOf(req), req.body)));
    app.patch('/trunks/:id', { config: write, schema: { params: id('a trunk'), body: trunkPatchSchema } }, async (req) => updateTrunk(cfg(), actorOf(req), req.params.id, req.body));
    app.delete('/trunks/:id', { config: write, schema: { params: id('a trunk') } }, async (req, reply) => {
      await deleteTrunk(cfg(), actorOf(req), req.params.id);
      return reply.status(204).send();
    });

    app.get('/caller-ids', { config: read }, async () => {
      const rows = await deps.db.selectFrom('caller_ids').select('id').orderBy('number').execute();
      return { callerIds: await Promise.all(rows.map((r) => getCallerId(deps.db, r.id))) };
    });
    app.get('/caller-ids/:id', { config: read, schema: { params: id('a caller id') } }, async (req) => getCallerId(deps.db, req.params.id));
    app.post('/caller-ids', { config: write, schema: { body: callerIdInputSchema } }, async (req, reply) => reply.status(201).send(await createCallerIdFrom(cfg(), actorOf(req), req.body)));
    app.patch('/caller-ids/:id', { config: write, schema: { params: id('a caller id'), body: callerIdPatchSchema } }, async (req) => updateCallerId(cfg(), actorOf(req), req.params.id, req.body));
    app.delete('/caller-ids/:id', { config: write, schema: { params: id('a caller id') } }, async (req, reply) => {
      await deleteCallerId(cfg(), actorOf(req), req.params.id);
      return reply.status(204).send();
    });

    // GET /agents (with live states) is in agents.routes.ts.
    app.get('/agents/:id', { config: { access: { perm: ['config.read', 'agent.self'], agentParam: 'id' } }, schema: { params: id('an agent') } }, async (req) => agentView(await getAgent(deps.db, req.params.id)));
    app.post('/agents', { config: write, schema: { body: agentInputSchema } }, async (req, reply) => reply.status(201).send(await createAgentFrom(cfg(), actorOf(req), req.body)));
    app.patch('/agents/:id', { config: write, schema: { params: id('an agent'), body: agentPatchSchema } }, async (req) => updateAgent(cfg(), actorOf(req), req.params.id, req.body));
    app.delete('/agents/:id', { config: write, schema: { params: id('an agent') } }, async (req, reply) => {
      const s = deps.dialer?.agents.get(req.params.id);
      await deleteAgent(cfg(), actorOf(req), req.params.id, !!s && s.state !== 'logged-out');
      return reply.status(204).send();
    });
  };
}
