// Supervision: a supervisor (or admin) listens to or whispers to an agent's live call from their
// own phone (src/dialer/supervision.ts), stops, and sees who is supervising what. Each start,
// switch and end is audited. Any API process answers: the request runs on the engine holding the
// agent's session, in this process or, through the agent bus (src/cluster/agent-bus.ts), in another.
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { runSupervision, SupervisionError, type SupervisionCommand, type SupervisionView } from '../../dialer/supervision.js';
import type { Access } from '../auth.js';
import { actorOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const agentParams = z.object({ id: z.uuid('must be an agent id (a UUID)') });
const superviseAccess = { access: { perm: 'calls.supervise' } } satisfies { access: Access };

const supervisionView = z.object({
  id: z.string(),
  supervisorUserId: z.string(),
  supervisor: z.string(),
  agentId: z.string(),
  callId: z.string(),
  mode: z.enum(['listen', 'whisper']),
  phoneEndpoint: z.string(),
  bridgeId: z.string(),
  phoneChannelId: z.string(),
  snoopChannelId: z.string(),
  startedAt: z.string(),
  modeSince: z.string(),
});

export function supervisionRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  /** Runs the request where the agent's session is: this process's engine, else the one the bus names. */
  const supervise = async (req: FastifyRequest, agentId: string, action: SupervisionCommand['action']): Promise<SupervisionView> => {
    const command: SupervisionCommand = { kind: 'supervise', action, actor: actorOf(req) };
    const local = deps.dialer;
    const heldHere = !!local && (
      (local.agents.get(agentId)?.state ?? 'logged-out') !== 'logged-out'
      || local.supervision.list().some((s) => s.agentId === agentId && s.supervisorUserId === command.actor.userId)
    );
    if (local && (heldHere || !deps.agentBus)) return runSupervision(local.supervision, agentId, command);
    if (!deps.agentBus) throw new HttpError(503, 'the dialer engine does not run in this process; live calls are supervised there');
    const agent = await deps.db.selectFrom('agents').where('id', '=', agentId).select(['name']).executeTakeFirst();
    if (!agent) throw new SupervisionError(`agent ${agentId} does not exist`, 404);
    return deps.agentBus.supervise(agentId, agent.name, command);
  };
  return async (app) => {
    app.post(
      '/agents/:id/call/listen',
      { schema: { params: agentParams, response: { 200: supervisionView } }, config: superviseAccess },
      async (req) => supervise(req, req.params.id, 'listen'),
    );
    app.post(
      '/agents/:id/call/whisper',
      { schema: { params: agentParams, response: { 200: supervisionView } }, config: superviseAccess },
      async (req) => supervise(req, req.params.id, 'whisper'),
    );
    app.delete(
      '/agents/:id/call/supervision',
      { schema: { params: agentParams, response: { 200: supervisionView } }, config: superviseAccess },
      async (req) => supervise(req, req.params.id, 'stop'),
    );
    // This process's own (current at once) and every engine's, from the shared hash.
    app.get('/supervisions', { schema: { response: { 200: z.object({ supervisions: z.array(supervisionView) }) } }, config: superviseAccess }, async () => {
      const here = deps.dialer?.supervision.list() ?? [];
      const shared = deps.agentBus ? await deps.agentBus.supervisions() : [];
      if (!deps.dialer && !deps.agentBus) throw new HttpError(503, 'the dialer engine does not run in this process; live calls are supervised there');
      const ids = new Set(here.map((s) => s.id));
      return { supervisions: [...here, ...shared.filter((s) => !ids.has(s.id))] };
    });
  };
}
