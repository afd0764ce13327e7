// Call control: an agent hangs up, holds, resumes or transfers their own current call (agent.self,
// own agent only) — blind, or attended (consult, then complete or cancel), to another agent or an
// outside number; the consulted agent accepts or refuses the consultation. A supervisor does the
// same for any agent (calls.control) and hangs up any live call by its id. Each answers with the
// result once Asterisk has done it; audited, with its effect on the CDR (call_events, ended_by,
// hold_ms). Any API process answers: the action runs on the engine holding the agent's session
// (here, or through the agent bus); a hang-up by call id on the engine driving the call's node.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { hangupCall, type CallAction, type CallControlResult } from '../../dialer/call-control.js';
import type { Access } from '../auth.js';
import { actorOf, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';
import { commandAgent } from './agents.routes.js';

const agentParams = z.object({ id: z.uuid('must be an agent id (a UUID)') });
const own = { access: { perm: ['agent.self', 'calls.control'], agentParam: 'id' } } satisfies { access: Access };
/** Whom to transfer to or consult: exactly one of an agent and an outside number. */
const targetBody = z.strictObject({
  toAgentId: z.uuid('must be the id of the agent to transfer to (a UUID)').optional(),
  number: z.string().max(40, 'must be an E.164 number such as +442071234567').optional().describe('An outside number in E.164 form (+ country code and number)'),
});

export function callControlRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const agentRow = async (id: string, field = 'agent') => {
    const a = await deps.db.selectFrom('agents').where('id', '=', id).select(['id', 'name', 'endpoint']).executeTakeFirst();
    if (!a) throw new HttpError(404, `${field} ${id} does not exist`);
    return a;
  };
  /** Runs the action on the engine holding the agent's session (this process's, or through the bus). */
  const run = async (req: Parameters<typeof actorOf>[0], agentId: string, action: CallAction): Promise<CallControlResult> => {
    const a = await agentRow(agentId);
    if ((action.do === 'transfer' || action.do === 'consult') && action.toAgentId) await agentRow(action.toAgentId, 'agent to transfer to');
    if (!deps.dialer && !deps.agentBus) throw new HttpError(503, 'the dialer engine does not run in this process; live calls are controlled there');
    const r = await commandAgent(deps, a, { kind: 'call', action, actor: actorOf(req) });
    return r.call as CallControlResult;
  };
  const target = (b: z.infer<typeof targetBody>) => ({ ...(b.toAgentId ? { toAgentId: b.toAgentId } : {}), ...(b.number !== undefined ? { number: b.number } : {}) });
  return async (app) => {
    app.post('/agents/:id/call/hangup', { schema: { params: agentParams }, config: own }, async (req) => {
      // The agent ending their own call, or someone else (a supervisor) ending it: the CDR says which.
      const by = principalOf(req).agentId === req.params.id ? 'agent' : 'supervisor';
      return run(req, req.params.id, { do: 'hangup', by });
    });
    app.post('/agents/:id/call/hold', { schema: { params: agentParams }, config: own }, async (req) => run(req, req.params.id, { do: 'hold' }));
    app.post('/agents/:id/call/resume', { schema: { params: agentParams }, config: own }, async (req) => run(req, req.params.id, { do: 'resume' }));
    app.post('/agents/:id/call/transfer', { schema: { params: agentParams, body: targetBody }, config: own }, async (req) => run(req, req.params.id, { do: 'transfer', ...target(req.body) }));
    app.post('/agents/:id/call/consult', { schema: { params: agentParams, body: targetBody }, config: own }, async (req) => run(req, req.params.id, { do: 'consult', ...target(req.body) }));
    app.post('/agents/:id/call/consult/accept', { schema: { params: agentParams }, config: own }, async (req) => run(req, req.params.id, { do: 'consult-accept' }));
    app.post('/agents/:id/call/consult/complete', { schema: { params: agentParams }, config: own }, async (req) => run(req, req.params.id, { do: 'consult-complete' }));
    app.post('/agents/:id/call/consult/cancel', { schema: { params: agentParams }, config: own }, async (req) => run(req, req.params.id, { do: 'consult-cancel' }));
    app.post(
      '/calls/:id/hangup',
      { schema: { params: z.object({ id: z.uuid('must be a call id (a UUID)') }) }, config: { access: { perm: 'calls.control' } } },
      async (req) => {
        // A call this process does not hold: hung up by the engine driving its node, over the agent bus.
        const actor = actorOf(req);
        const bus = deps.agentBus;
        return hangupCall(deps.db, deps.dialer, actor, req.params.id, bus ? (node) => bus.hangupCall(req.params.id, node, actor) : undefined);
      },
    );
  };
}
