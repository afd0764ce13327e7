// Wrap-up dispositions of dialed attempts: the result, a refusal, a do-not-call request or a
// complaint; caps and the DNC list see them on the very next decision.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DispositionError, recordDisposition } from '../../compliance/store/disposition.repository.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

export function attemptRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/attempts/:id/disposition',
      {
        schema: {
          params: z.object({ id: z.uuid('must be an attempt id (a UUID)') }),
          body: z.strictObject({
            result: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a short lower-case result such as "not-interested"'),
            refused: z.boolean().default(false),
            product: z.string().min(1).max(100).optional(),
            feedback: z.string().max(2000).optional(),
            doNotCall: z.boolean().default(false),
            complaint: z.string().min(1).max(2000).optional(),
          }),
        },
      },
      async (req) => {
        const b = req.body;
        try {
          const r = await recordDisposition(deps.db, { attemptId: req.params.id, ...b, actor: 'api' });
          // The disposition ends the agent's wrap-up: they are ready for the next customer.
          const call = await deps.db.selectFrom('calls').where('attempt_id', '=', req.params.id).select('agent_id').executeTakeFirst();
          if (call?.agent_id && deps.dialer?.agents.get(call.agent_id)?.state === 'wrap-up') deps.dialer.agents.setReady(call.agent_id);
          return { attemptId: req.params.id, addedToDnc: r.addedToDnc };
        } catch (err) {
          if (err instanceof DispositionError) throw new HttpError(err.status, err.message);
          throw err;
        }
      },
    );
  };
}
