// Console sign-in: POST /session (name + password) opens a session (HttpOnly cookie + CSRF
// token), DELETE /session ends it; admins list and revoke live sessions. Failed sign-ins spend the
// same per-address allowance as wrong tokens (src/http/auth.ts).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { writeAudit } from '../../auth/audit.repository.js';
import { permissions } from '../../auth/permissions.js';
import { authenticateSession, checkPassword, listSessions, openSession, revokeSession } from '../../auth/sessions.repository.js';
import { UserError } from '../../auth/users.repository.js';
import { actorOf, principalOf, sessionCookies } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';
import { meView } from './users.routes.js';

const manage = { access: { perm: 'users.manage' } } as const;

export function sessionRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/session',
      {
        config: { access: 'public' },
        schema: { body: z.strictObject({ name: z.string().min(1, 'must not be empty').max(100), password: z.string().min(1, 'must not be empty').max(1000) }) },
      },
      async (req, reply) => {
        const limiter = req.server.authLimiter;
        const wait = limiter.blockedFor(req.ip);
        if (wait > 0) {
          void reply.header('retry-after', String(wait));
          throw new HttpError(429, `too many failed sign-ins or token checks from ${req.ip}; try again in ${wait} s`);
        }
        const user = await checkPassword(deps.db, req.body.name.trim(), req.body.password);
        if (!user) {
          limiter.fail(req.ip);
          // One message for a wrong name and a wrong password: the answer tells a guesser nothing.
          throw new HttpError(401, 'the name or the password is wrong (or the user is disabled)');
        }
        const opened = await openSession(deps.db, user.id, req.server.authOptions.sessionTtlMs, { ip: req.ip, userAgent: req.headers['user-agent'] });
        const principal = await authenticateSession(deps.db, opened.secret);
        if (!principal) throw new Error('a session just opened does not authenticate');
        await writeAudit(deps.db, { userId: principal.userId, name: principal.name }, { action: 'session.opened', resource: 'session', resourceId: opened.id, details: { ip: req.ip } });
        void reply.header('set-cookie', sessionCookies(req.server.authOptions, opened));
        const { csrfHash: _h, ...p } = principal;
        return reply.status(201).send({ ...meView(p), csrfToken: opened.csrfToken, expiresAt: opened.expiresAt.toISOString() });
      },
    );
    app.delete('/session', { config: { access: { perm: permissions } } }, async (req, reply) => {
      const p = principalOf(req);
      if (!p.sessionId) throw new UserError('this request came with an API token, not a console session: revoke tokens with DELETE /api/v1/tokens/:id', 400);
      await revokeSession(deps.db, p.sessionId);
      await writeAudit(deps.db, actorOf(req), { action: 'session.closed', resource: 'session', resourceId: p.sessionId });
      void reply.header('set-cookie', sessionCookies(req.server.authOptions, null));
      return reply.status(204).send();
    });
    app.get(
      '/sessions',
      { config: manage, schema: { querystring: z.strictObject({ userId: z.uuid('must be a user id (a UUID)').optional() }) } },
      async (req) => ({ sessions: await listSessions(deps.db, { userId: req.query.userId }) }),
    );
    app.delete('/sessions/:id', { config: manage, schema: { params: z.object({ id: z.uuid('must be a session id (a UUID)') }) } }, async (req, reply) => {
      if (!(await revokeSession(deps.db, req.params.id))) throw new UserError(`session ${req.params.id} does not exist or has already ended`, 404);
      await writeAudit(deps.db, actorOf(req), { action: 'session.revoked', resource: 'session', resourceId: req.params.id });
      return reply.status(204).send();
    });
  };
}
