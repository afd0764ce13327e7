// Supervision: a supervisor (or admin) listens to or whispers to an agent's live call from their
// own phone (src/dialer/supervision.ts), stops, and sees who is supervising what. Each start,
// switch and end is audited. Served by the process that runs the dialer engine.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Supervision } from '../../dialer/supervision.js';
import type { Access } from '../auth.js';
import { actorOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const agentParams = z.object({ id: z.uuid('must be an agent id (a UUID)') });
const supervise = { access: { perm: 'calls.supervise' } } satisfies { access: Access };

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
  const supervision = (): Supervision => {
    if (!deps.dialer) throw new HttpError(503, 'the dialer engine does not run in this process; live calls are supervised there');
    return deps.dialer.supervision;
  };
  return async (app) => {
    app.post(
      '/agents/:id/call/listen',
      { schema: { params: agentParams, response: { 200: supervisionView } }, config: supervise },
      async (req) => supervision().start(actorOf(req), req.params.id, 'listen'),
    );
    app.post(
      '/agents/:id/call/whisper',
      { schema: { params: agentParams, response: { 200: supervisionView } }, config: supervise },
      async (req) => supervision().start(actorOf(req), req.params.id, 'whisper'),
    );
    app.delete(
      '/agents/:id/call/supervision',
      { schema: { params: agentParams, response: { 200: supervisionView } }, config: supervise },
      async (req) => supervision().stop(actorOf(req), req.params.id),
    );
    app.get('/supervisions', { schema: { response: { 200: z.object({ supervisions: z.array(supervisionView) }) } }, config: supervise }, async () => ({
      supervisions: supervision().list(),
    }));
  };
}
