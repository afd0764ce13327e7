// GET /healthz (the process answers) and GET /readyz (its dependencies answer, see
// src/health/readiness.ts), for load balancers, docker-compose and systemd. Both are public:
// they say which part is down, never anything a caller could use.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Readiness } from '../../health/readiness.js';

export function healthRoutes(readiness: Readiness): FastifyPluginAsyncZod {
  return async (app) => {
    app.get('/healthz', { config: { access: 'public' }, schema: { hide: true } }, async () => ({ ok: true }));
    app.get('/readyz', { config: { access: 'public' }, schema: { hide: true } }, async (_req, reply) => {
      const report = await readiness.report();
      return reply.code(report.ready ? 200 : 503).send(report);
    });
  };
}
