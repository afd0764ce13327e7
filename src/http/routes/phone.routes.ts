// The browser phone: what the console needs to register it with Asterisk (websocket URL, SIP
// URI, credentials). An agent reads their own; a supervisor (or admin) reads the phone their user
// is linked to (users.agent_id: the phone Dialwell calls for listen and whisper). Nobody else is
// given the password, and each disclosure of it is audited.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAudit } from '../../auth/audit.repository.js';
import { actorOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be an agent id (a UUID)') });

/** The SIP domain the browser registers to: the websocket URL's host (Asterisk accepts any, the endpoint matches by user). */
const sipDomain = (wsUrl: string): string => new URL(wsUrl).hostname;

export function phoneRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/agents/:id/phone', { schema: { params }, config: { access: { perm: ['agent.self', 'calls.supervise'], agentParam: 'id' } } }, async (req, reply) => {
      // Supervising does not open other people's phones: only the phone linked to the caller's own user.
      const own = req.principal?.agentId;
      if (own !== req.params.id) throw new HttpError(403, `user ${req.principal?.name ?? ''} reads only the phone linked to their own user (${own ?? 'none linked'})`);
      // Credentials: no cache keeps them.
      void reply.header('cache-control', 'no-store');
      const a = await deps.db
        .selectFrom('agents')
        .where('id', '=', req.params.id)
        .select(['id', 'endpoint', 'sip_password', 'phone_type'])
        .executeTakeFirst();
      if (!a) throw new HttpError(404, `agent ${req.params.id} does not exist`);
      if (a.phone_type !== 'webrtc') return { agentId: a.id, phoneType: a.phone_type, webrtc: null };
      if (!deps.webrtcWsUrl) throw new HttpError(503, 'this server has no WEBRTC_WS_URL: the browser phone cannot be reached');
      if (!a.sip_password) throw new HttpError(409, `agent ${a.endpoint} has no sipPassword: an admin must set one for the browser phone`);
      const domain = sipDomain(deps.webrtcWsUrl);
      await writeAudit(deps.db, actorOf(req), { action: 'agent.phone-credentials-read', resource: 'agent', resourceId: a.id });
      return {
        agentId: a.id,
        phoneType: a.phone_type,
        webrtc: { wsUrl: deps.webrtcWsUrl, uri: `sip:${a.endpoint}@${domain}`, authorizationUser: a.endpoint, password: a.sip_password, displayName: a.endpoint },
      };
    });
  };
}
