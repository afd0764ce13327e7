// Wrap-up dispositions of dialed attempts: the result, a refusal, a do-not-call request or a
// complaint; caps and the DNC list see them on the very next decision.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DispositionError, recordDisposition } from '../../compliance/store/disposition.repository.js';
import { assignContact } from '../../contacts/contacts.repository.js';
import { CallbackError, scheduleCallback } from '../../dialer/callbacks.js';
import { principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import { commandAgent } from './agents.routes.js';
import { dispositionOwner } from '../../cdr/cdr.repository.js';
import type { ApiDeps } from '../server.js';

export function attemptRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/attempts/:id/disposition',
      {
        config: { access: { perm: ['agent.self', 'agents.control'] } },
        schema: {
          params: z.object({ id: z.uuid('must be an attempt id (a UUID)') }),
          body: z.strictObject({
            result: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a short lower-case result such as "not-interested"'),
            refused: z.boolean().default(false),
            product: z.string().min(1).max(100).optional(),
            feedback: z.string().max(2000).optional(),
            doNotCall: z.boolean().default(false),
            complaint: z.string().min(1).max(2000).optional(),
            /** Call the contact back at this time: for the agent who took the call ("me"), a named agent, or anyone. */
            callback: z
              .strictObject({
                at: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant' }),
                agent: z.union([z.literal('me'), z.literal('anyone'), z.uuid('must be "me", "anyone" or an agent id')]).default('me'),
                note: z.string().max(1000).optional(),
              })
              .optional(),
          }),
        },
      },
      async (req) => {
        const { callback, ...b } = req.body;
        if (callback && new Date(callback.at) <= new Date()) throw new HttpError(400, 'body.callback.at: must be in the future', [{ field: 'body.callback.at', problem: 'must be in the future' }]);
        if (callback && b.doNotCall) throw new HttpError(400, 'a do-not-call request and a callback contradict each other', [{ field: 'body.callback', problem: 'not with doNotCall' }]);
        const me = principalOf(req);
        const row = await deps.db.selectFrom('calls').where('attempt_id', '=', req.params.id).select(['id', 'contact_id']).executeTakeFirst();
        // The agent who ended with the customer disposes (after a transfer to another agent, that
        // agent; the one who transferred went to wrap-up without the form).
        const owner = row ? await dispositionOwner(deps.db, row.id) : null;
        const call = row ? { contact_id: row.contact_id, agent_id: owner?.agentId ?? null } : undefined;
        // An agent closes only the calls they ended with.
        if (!me.permissions.has('agents.control')) {
          if (!call) throw new HttpError(404, `attempt ${req.params.id} has no call`);
          if (call.agent_id !== me.agentId) {
            throw new HttpError(403, owner?.takenBy === me.agentId && owner.transferredTo ? `attempt ${req.params.id} was transferred to another agent, who disposes it` : `attempt ${req.params.id} was not your call`);
          }
        }
        try {
          const r = await recordDisposition(deps.db, { attemptId: req.params.id, ...b, actor: me.name });
          // The agent who talked to the contact holds their data until the reclaim period takes it back.
          if (call?.agent_id) await assignContact(deps.db, call.contact_id, call.agent_id, new Date());
          // The disposition ends the agent's wrap-up: they are ready for the next customer.
          if (call?.agent_id) {
            const agent = await deps.db.selectFrom('agents').where('id', '=', call.agent_id).select(['id', 'name', 'endpoint']).executeTakeFirst();
            // Wherever the agent's session is held; the disposition stands even if that engine cannot be reached.
            if (agent) await commandAgent(deps, agent, { kind: 'wrapped-up' }).catch((err: unknown) => req.log.warn({ err, agentId: agent.id }, 'ending the wrap-up failed'));
          }
          let scheduled: { attemptId: string; at: string; agentId: string | null } | null = null;
          if (callback) {
            const agentId = callback.agent === 'anyone' ? null : callback.agent === 'me' ? (call?.agent_id ?? null) : callback.agent;
            const cb = await scheduleCallback(deps.db, { fromAttemptId: req.params.id, at: new Date(callback.at), agentId, note: callback.note ?? null });
            scheduled = { attemptId: cb.attemptId, at: new Date(callback.at).toISOString(), agentId };
          }
          return { attemptId: req.params.id, addedToDnc: r.addedToDnc, callback: scheduled };
        } catch (err) {
          if (err instanceof DispositionError || err instanceof CallbackError) throw new HttpError(err.status, err.message);
          throw err;
        }
      },
    );
  };
}
