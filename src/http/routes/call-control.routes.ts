// Call control: an agent hangs up, holds, resumes or blind-transfers their own current call
// (agent.self, own agent only); a supervisor does the same for any agent (calls.control) and
// hangs up any live call by its id. Each answers with the result once Asterisk has done it;
// audited, with its effect on the CDR (call_events, ended_by, hold_ms). Served by the process
// that runs the dialer engine.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hangupAgentCall, hangupCall, holdAgentCall, transferAgentCall } from '../../dialer/call-control.js';
import type { Access } from '../auth.js';
import { actorOf, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const agentParams = z.object({ id: z.uuid('must be an agent id (a UUID)') });
const own = { access: { perm: ['agent.self', 'calls.control'], agentParam: 'id' } } satisfies { access: Access };

export function callControlRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const dialer = () => {
    if (!deps.dialer) throw new HttpError(503, 'the dialer engine does not run in this process; live calls are controlled there');
    return deps.dialer;
  };
  const agentExists = async (id: string, field = 'agent') => {
    const a = await deps.db.selectFrom('agents').where('id', '=', id).select('id').executeTakeFirst();
    if (!a) throw new HttpError(404, `${field} ${id} does not exist`);
  };
  return async (app) => {
    app.post('/agents/:id/call/hangup', { schema: { params: agentParams }, config: own }, async (req) => {
      await agentExists(req.params.id);
      // The agent ending their own call, or someone else (a supervisor) ending it: the CDR says which.
      const by = principalOf(req).agentId === req.params.id ? 'agent' : 'supervisor';
      return hangupAgentCall(deps.db, dialer(), actorOf(req), req.params.id, by);
    });
    app.post('/agents/:id/call/hold', { schema: { params: agentParams }, config: own }, async (req) => {
      await agentExists(req.params.id);
      return holdAgentCall(deps.db, dialer(), actorOf(req), req.params.id, true);
    });
    app.post('/agents/:id/call/resume', { schema: { params: agentParams }, config: own }, async (req) => {
      await agentExists(req.params.id);
      return holdAgentCall(deps.db, dialer(), actorOf(req), req.params.id, false);
    });
    app.post(
      '/agents/:id/call/transfer',
      { schema: { params: agentParams, body: z.strictObject({ toAgentId: z.uuid('must be the id of the agent to transfer to (a UUID)') }) }, config: own },
      async (req) => {
        await agentExists(req.params.id);
        await agentExists(req.body.toAgentId, 'agent to transfer to');
        return transferAgentCall(deps.db, dialer(), actorOf(req), req.params.id, req.body.toAgentId);
      },
    );
    app.post(
      '/calls/:id/hangup',
      { schema: { params: z.object({ id: z.uuid('must be a call id (a UUID)') }) }, config: { access: { perm: 'calls.control' } } },
      async (req) => hangupCall(deps.db, deps.dialer, actorOf(req), req.params.id),
    );
  };
}
