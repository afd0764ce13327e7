// Compliance policies: list, read (any version), save a new version, retire, choose the global policy.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getGlobalPolicyName, listPolicies, loadPolicy, PolicyError, retirePolicy, savePolicy, setGlobalPolicy } from '../../compliance/store/policies.repository.js';
import { writeAudit } from '../../auth/audit.repository.js';
import { actorOf, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be a lower-case policy name such as "us-federal"');

export function policyRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const policyError = (err: unknown): never => {
    if (err instanceof PolicyError) {
      throw new HttpError(400, `${err.message}${err.errors.length ? `: ${err.errors.join('; ')}` : ''}`, err.errors.map((e) => {
        const i = e.indexOf(': ');
        return { field: `body.${e.slice(0, i)}`, problem: e.slice(i + 2) };
      }));
    }
    throw err;
  };
  return async (app) => {
    app.get('/policies', { config: { access: { perm: 'config.read' } } }, async () => ({ global: await getGlobalPolicyName(deps.db), policies: await listPolicies(deps.db) }));

    app.get(
      '/policies/:name',
      { config: { access: { perm: 'config.read' } }, schema: { params: z.object({ name }), querystring: z.strictObject({ version: z.coerce.number().int().min(1).optional() }) } },
      async (req) => {
        const p = await loadPolicy(deps.db, req.params.name, req.query.version);
        if (!p) throw new HttpError(404, `no policy "${req.params.name}"${req.query.version ? ` version ${req.query.version}` : ''}`);
        return p;
      },
    );

    // The body is the policy document; its version is assigned (the next one), never overwritten.
    app.post('/policies', { schema: { body: z.record(z.string(), z.unknown()) }, config: { access: { perm: 'config.write' } } }, async (req, reply) => {
      const me = principalOf(req);
      const before = typeof req.body.name === 'string' ? await loadPolicy(deps.db, req.body.name).catch(() => null) : null;
      const saved = await savePolicy(deps.db, req.body, me.name).catch(policyError);
      await writeAudit(deps.db, actorOf(req), { action: 'policy.saved', resource: 'policy', resourceId: saved.name, before, after: saved });
      deps.policies.invalidate();
      return reply.status(201).send(saved);
    });

    app.delete('/policies/:name', { schema: { params: z.object({ name }) }, config: { access: { perm: 'config.write' } } }, async (req, reply) => {
      const before = await loadPolicy(deps.db, req.params.name);
      await retirePolicy(deps.db, req.params.name).catch((err: unknown) => {
        if (err instanceof PolicyError) throw new HttpError(/^no policy/.test(err.message) ? 404 : 409, err.message);
        throw err;
      });
      await writeAudit(deps.db, actorOf(req), { action: 'policy.retired', resource: 'policy', resourceId: req.params.name, before, after: null });
      deps.policies.invalidate();
      return reply.status(204).send();
    });

    app.put('/policies/global', { schema: { body: z.strictObject({ name: name.nullable() }) }, config: { access: { perm: 'config.write' } } }, async (req) => {
      const before = await getGlobalPolicyName(deps.db);
      await setGlobalPolicy(deps.db, req.body.name).catch((err: unknown) => {
        if (err instanceof PolicyError) throw new HttpError(404, err.message);
        throw err;
      });
      await writeAudit(deps.db, actorOf(req), { action: 'policy.global-set', resource: 'setting', resourceId: 'global_policy', before: { global: before }, after: { global: req.body.name } });
      deps.policies.invalidate();
      return { global: req.body.name };
    });
  };
}
