// Users, their API tokens (shown once, stored hashed, revocable) and the audit log: admins only.
// GET /me tells any caller who they are and what they may do. Admins set console passwords; a
// user changes their own with their current one.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { listAudit, writeAudit } from '../../auth/audit.repository.js';
import { permissions } from '../../auth/permissions.js';
import { checkPassword, setPassword } from '../../auth/sessions.repository.js';
import { createUser, issueToken, revokeToken, UserError, userView, type Principal } from '../../auth/users.repository.js';
import { actorOf, principalOf } from '../auth.js';
import type { ApiDeps } from '../server.js';

const manage = { access: { perm: 'users.manage' } } as const;
const params = z.object({ id: z.uuid('must be a user id (a UUID)') });
const tokenName = z.string().trim().min(1, 'must not be empty').max(100);
// Length rules are checked by checkPasswordRules (one message for the API and the console).
const password = z.string().max(1000);

/** Who a caller is and what they may do (GET /me, and the answer to signing in). */
export const meView = (p: Principal) => ({
  userId: p.userId, name: p.name, role: p.role, agentId: p.agentId, permissions: [...p.permissions].sort(), via: p.sessionId ? ('session' as const) : ('token' as const),
});

export function userRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const getUser = async (id: string) => {
    const u = await deps.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    if (!u) throw new UserError(`user ${id} does not exist`, 404);
    return u;
  };
  return async (app) => {
    app.get('/me', { config: { access: { perm: permissions } } }, async (req) => meView(principalOf(req)));
    app.put(
      '/me/password',
      { config: { access: { perm: permissions } }, schema: { body: z.strictObject({ currentPassword: password, password }) } },
      async (req, reply) => {
        const p = principalOf(req);
        if (!(await checkPassword(deps.db, p.name, req.body.currentPassword))) {
          req.server.authLimiter.fail(req.ip);
          throw new UserError('the current password is wrong', 403, 'currentPassword');
        }
        await setPassword(deps.db, p.userId, req.body.password, p.sessionId ?? null);
        await writeAudit(deps.db, actorOf(req), { action: 'user.password-changed', resource: 'user', resourceId: p.userId });
        return reply.status(204).send();
      },
    );

    app.get('/users', { config: manage }, async () => ({ users: (await deps.db.selectFrom('users').selectAll().orderBy('name').execute()).map(userView) }));
    app.get('/users/:id', { config: manage, schema: { params } }, async (req) => {
      const u = await getUser(req.params.id);
      const tokens = await deps.db
        .selectFrom('api_tokens')
        .select(['id', 'name', 'prefix', 'created_at', 'last_used_at', 'revoked_at'])
        .where('user_id', '=', u.id)
        .orderBy('created_at')
        .execute();
      return {
        ...userView(u),
        tokens: tokens.map((t) => ({ id: t.id, name: t.name, prefix: t.prefix, createdAt: t.created_at, lastUsedAt: t.last_used_at, revokedAt: t.revoked_at })),
      };
    });
    app.post(
      '/users',
      {
        config: manage,
        schema: {
          body: z.strictObject({
            name: z.string().trim().min(1, 'must not be empty').max(100).regex(/^[\p{L}\p{N} ._@-]+$/u, 'must be letters, digits, spaces and . _ @ -'),
            role: z.enum(['admin', 'supervisor', 'agent', 'qa']),
            agentId: z.uuid('must be an agent id (a UUID)').nullable().optional(),
            viewNumbers: z.boolean().optional(),
            /** A console password (else the user signs in only after one is set). */
            password: password.optional(),
          }),
        },
      },
      async (req, reply) => {
        const { password: pw, ...input } = req.body;
        const u = await deps.db.transaction().execute(async (tx) => {
          const created = await createUser(tx, input);
          if (pw !== undefined) await setPassword(tx, created.id, pw);
          return tx.selectFrom('users').selectAll().where('id', '=', created.id).executeTakeFirstOrThrow();
        });
        await writeAudit(deps.db, actorOf(req), { action: 'user.created', resource: 'user', resourceId: u.id, after: userView(u) });
        return reply.status(201).send(userView(u));
      },
    );
    app.patch(
      '/users/:id',
      { config: manage, schema: { params, body: z.strictObject({ disabled: z.boolean().optional(), viewNumbers: z.boolean().optional() }) } },
      async (req) => {
        const before = await getUser(req.params.id);
        if (req.params.id === principalOf(req).userId && req.body.disabled) throw new UserError('you cannot disable yourself; another admin can', 409, 'disabled');
        const u = await deps.db
          .updateTable('users')
          .set({ disabled: req.body.disabled, view_numbers: req.body.viewNumbers, updated_at: new Date() })
          .where('id', '=', before.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await writeAudit(deps.db, actorOf(req), { action: 'user.updated', resource: 'user', resourceId: u.id, before: userView(before), after: userView(u) });
        return userView(u);
      },
    );
    app.put('/users/:id/password', { config: manage, schema: { params, body: z.strictObject({ password }) } }, async (req, reply) => {
      const u = await getUser(req.params.id);
      // Setting another's password ends their sessions; one's own keeps the session in use.
      await setPassword(deps.db, u.id, req.body.password, u.id === principalOf(req).userId ? (principalOf(req).sessionId ?? null) : null);
      await writeAudit(deps.db, actorOf(req), { action: 'user.password-set', resource: 'user', resourceId: u.id });
      return reply.status(204).send();
    });
    app.post('/users/:id/tokens', { config: manage, schema: { params, body: z.strictObject({ name: tokenName }) } }, async (req, reply) => {
      const u = await getUser(req.params.id);
      const t = await issueToken(deps.db, u.id, req.body.name);
      await writeAudit(deps.db, actorOf(req), { action: 'token.created', resource: 'token', resourceId: t.id, after: { userId: u.id, name: req.body.name, prefix: t.prefix } });
      // The only time the token is shown.
      return reply.status(201).send({ id: t.id, userId: u.id, name: req.body.name, prefix: t.prefix, token: t.token });
    });
    app.delete('/tokens/:id', { config: manage, schema: { params: z.object({ id: z.uuid('must be a token id (a UUID)') }) } }, async (req, reply) => {
      if (!(await revokeToken(deps.db, req.params.id))) throw new UserError(`token ${req.params.id} does not exist or is already revoked`, 404);
      await writeAudit(deps.db, actorOf(req), { action: 'token.revoked', resource: 'token', resourceId: req.params.id });
      return reply.status(204).send();
    });

    app.get(
      '/audit',
      {
        config: manage,
        schema: {
          querystring: z.strictObject({
            resource: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a resource name such as "trunk" or "campaign"').optional(),
            resourceId: z.string().min(1).max(200).optional(),
            action: z.string().regex(/^[a-z][a-z0-9.-]{0,59}$/, 'must be an action such as "trunk.updated"').optional(),
            userId: z.uuid('must be a user id (a UUID)').optional(),
            from: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant' }).optional(),
            to: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant' }).optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
          }),
        },
      },
      async (req) => {
        const q = req.query;
        const rows = await listAudit(deps.db, { ...q, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined });
        return {
          entries: rows.map((r) => ({
            id: r.id, at: r.at, userId: r.user_id, actor: r.actor, action: r.action, resource: r.resource, resourceId: r.resource_id,
            before: r.before, after: r.after, details: r.details,
          })),
        };
      },
    );
  };
}
