// Do-not-call lists over HTTP: add, list, remove (audited), and bulk registry import streamed
// from a text/CSV body.
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { parsePhone } from '../../compliance/phone.js';
import { addDncEntry, importDncRegistry, listDncEntries, removeDncEntry } from '../../compliance/store/dnc.repository.js';
import { poolOf } from '../../db/database.js';
import { principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const country = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as "US"');

function e164(input: string, c: string | undefined, field: string): string {
  const p = parsePhone(input, c);
  if (!p.ok) throw new HttpError(400, `${field}: ${p.error}`, [{ field, problem: p.error }]);
  return p.e164;
}

async function assertCampaign(deps: ApiDeps, id: string | undefined): Promise<void> {
  if (!id) return;
  const c = await deps.db.selectFrom('campaigns').where('id', '=', id).select('id').executeTakeFirst();
  if (!c) throw new HttpError(404, `campaign ${id} does not exist`);
}

export function dncRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/dnc',
      {
        config: { access: { perm: 'compliance.write' } },
        schema: {
          body: z.strictObject({
            phone: z.string().min(1).max(40),
            campaignId: z.uuid('must be a campaign id (a UUID)').optional(),
            source: z.enum(['manual', 'api', 'complaint']).default('api'),
            reason: z.string().max(500).optional(),
            expiresAt: z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant' }).optional(),
            country: country.optional(),
          }),
        },
      },
      async (req, reply) => {
        const b = req.body;
        const phone = e164(b.phone, b.country, 'body.phone');
        await assertCampaign(deps, b.campaignId);
        if (b.expiresAt && new Date(b.expiresAt) <= new Date()) throw new HttpError(400, 'body.expiresAt: must be in the future', [{ field: 'body.expiresAt', problem: 'must be in the future' }]);
        const r = await addDncEntry(deps.db, {
          phone, campaignId: b.campaignId ?? null, source: b.source, reason: b.reason ?? null,
          expiresAt: b.expiresAt ? new Date(b.expiresAt) : null, actor: principalOf(req).name,
        });
        return reply.status(r.created ? 201 : 200).send({ phone, list: b.campaignId ?? 'global', created: r.created });
      },
    );

    app.get(
      '/dnc',
      {
        config: { access: { perm: 'compliance.read' } },
        schema: {
          querystring: z.strictObject({
            phone: z.string().max(40).optional(),
            campaignId: z.uuid('must be a campaign id (a UUID)').optional(),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            offset: z.coerce.number().int().min(0).default(0),
          }),
        },
      },
      async (req) => {
        const q = req.query;
        const entries = await listDncEntries(deps.db, {
          phone: q.phone ? e164(q.phone, undefined, 'query.phone') : undefined,
          campaignId: q.campaignId, limit: q.limit, offset: q.offset,
        });
        return { entries: entries.map((e) => ({ ...e, expiresAt: e.expiresAt?.toISOString() ?? null, createdAt: e.createdAt.toISOString() })) };
      },
    );

    app.delete(
      '/dnc/:phone',
      {
        config: { access: { perm: 'compliance.write' } },
        schema: {
          params: z.object({ phone: z.string().min(1).max(40) }),
          querystring: z.strictObject({ campaignId: z.uuid('must be a campaign id (a UUID)').optional(), reason: z.string().max(500).optional() }),
        },
      },
      async (req) => {
        const phone = e164(req.params.phone, undefined, 'params.phone');
        const removed = await removeDncEntry(deps.db, { phone, campaignId: req.query.campaignId ?? null, actor: principalOf(req).name, reason: req.query.reason ?? null });
        if (removed === 0) throw new HttpError(404, `${phone} is not on the ${req.query.campaignId ? 'campaign' : 'global'} do-not-call list`);
        return { phone, removed };
      },
    );

    app.post(
      '/dnc/import',
      {
        config: { access: { perm: 'compliance.write' } },
        bodyLimit: 1 << 30,
        schema: {
          querystring: z.strictObject({
            registry: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'must be a short lower-case name such as "us-national"'),
            replace: z.enum(['true', 'false']).default('false'),
            nationalPrefix: z.string().regex(/^\d{1,3}$/, 'must be a country calling code such as "1"').optional(),
          }),
        },
      },
      async (req) => {
        if (!req.body || typeof (req.body as Readable).pipe !== 'function') {
          throw new HttpError(415, 'send the registry as a text/plain or text/csv body, one number per line');
        }
        const q = req.query;
        return importDncRegistry(poolOf(deps.db), req.body as Readable, {
          registry: q.registry, actor: principalOf(req).name, replace: q.replace === 'true', nationalPrefix: q.nationalPrefix ?? null,
        });
      },
    );
  };
}
