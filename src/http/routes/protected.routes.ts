// Protected numbers (payphones, protected persons, any configured list): never dialed under a
// policy whose protected.lists names the list (every list by default).
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parsePhone } from '../../compliance/phone.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const list = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a lower-case list name such as "payphone" or "protected-person"');

function e164(input: string, field: string, country?: string): string {
  const p = parsePhone(input, country);
  if (!p.ok) throw new HttpError(400, `${field}: ${p.error}`, [{ field, problem: p.error }]);
  return p.e164;
}

export function protectedRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/protected-numbers',
      { config: { access: { perm: 'config.write' } }, schema: { body: z.strictObject({ phone: z.string().min(1).max(40), list, note: z.string().max(500).optional(), country: z.string().regex(/^[A-Z]{2}$/).optional() }) } },
      async (req, reply) => {
        const phone = e164(req.body.phone, 'body.phone', req.body.country);
        await deps.db
          .insertInto('protected_numbers')
          .values({ phone, list: req.body.list, note: req.body.note ?? null })
          .onConflict((oc) => oc.columns(['phone', 'list']).doUpdateSet({ note: req.body.note ?? null }))
          .execute();
        return reply.status(201).send({ phone, list: req.body.list });
      },
    );
    app.get('/protected-numbers', { config: { access: { perm: 'compliance.read' } }, schema: { querystring: z.strictObject({ list: list.optional(), limit: z.coerce.number().int().min(1).max(1000).default(100) }) } }, async (req) => {
      let q = deps.db.selectFrom('protected_numbers').selectAll().orderBy('created_at', 'desc').limit(req.query.limit);
      if (req.query.list) q = q.where('list', '=', req.query.list);
      return { numbers: await q.execute() };
    });
    app.delete('/protected-numbers/:phone', { config: { access: { perm: 'config.write' } }, schema: { params: z.object({ phone: z.string().min(1).max(40) }), querystring: z.strictObject({ list }) } }, async (req) => {
      const phone = e164(req.params.phone, 'params.phone');
      const r = await deps.db.deleteFrom('protected_numbers').where('phone', '=', phone).where('list', '=', req.query.list).executeTakeFirst();
      if (Number(r.numDeletedRows) === 0) throw new HttpError(404, `${phone} is not on the protected list "${req.query.list}"`);
      return { phone, list: req.query.list, removed: true };
    });
  };
}
