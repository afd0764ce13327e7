// A campaign's contacts over HTTP: CSV import streamed from the request body (a per-row report
// back), one contact as JSON, and a page of contacts with their phones masked.
import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { maskPhone } from '../../compliance/phone.js';
import { findCampaign, listContacts } from '../../contacts/contacts.repository.js';
import { ContactInputError, saveContact } from '../../contacts/contacts.service.js';
import { ContactImportError, importContacts } from '../../contacts/import.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be a campaign id (a UUID)') });
const country = z.string().regex(/^[A-Z]{2}$/, 'must be an ISO 3166 country code such as "US"');

/** Validation reports CSV column names; the JSON body spells them in camelCase. */
const BODY_FIELD: Record<string, string> = { time_zone: 'timeZone', external_id: 'externalId' };
const KNOWN = new Set(['phone', 'name', 'segment', 'time_zone', 'priority', 'external_id', 'attributes']);

function httpError(err: unknown): unknown {
  if (err instanceof ContactImportError) return new HttpError(err.status, err.message);
  if (err instanceof ContactInputError) {
    const issues = err.problems.map((p) => ({
      field: KNOWN.has(p.field) ? `body.${BODY_FIELD[p.field] ?? p.field}` : `body.attributes.${p.field}`,
      problem: p.problem,
    }));
    return new HttpError(400, `invalid contact: ${issues.map((i) => `${i.field} ${i.problem}`).join('; ')}`, issues);
  }
  return err;
}

export function contactRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post(
      '/campaigns/:id/contacts/import',
      {
        bodyLimit: 1 << 30,
        config: { access: { perm: 'campaigns.write' } },
        schema: { params, querystring: z.strictObject({ country: country.optional() }) },
      },
      async (req) => {
        if (!req.body || typeof (req.body as Readable).pipe !== 'function') {
          throw new HttpError(415, 'send the contacts as a text/csv body whose first line names the columns (phone required)');
        }
        try {
          return await importContacts(deps.db, req.body as Readable, { campaignId: req.params.id, country: req.query.country });
        } catch (err) {
          throw httpError(err);
        }
      },
    );

    app.post(
      '/campaigns/:id/contacts',
      {
        config: { access: { perm: 'campaigns.write' } },
        schema: {
          params,
          body: z.strictObject({
            phone: z.string().min(1).max(40),
            name: z.string().max(200).nullable().optional(),
            segment: z.string().max(64).nullable().optional(),
            timeZone: z.string().max(64).nullable().optional(),
            priority: z.number().int().nullable().optional(),
            externalId: z.string().max(200).nullable().optional(),
            /** Anything else about the contact; a null value removes that key. */
            attributes: z.record(z.string().min(1).max(100), z.union([z.string().max(1000), z.number(), z.boolean(), z.null()])).optional(),
            country: country.optional(),
          }),
        },
      },
      async (req, reply) => {
        const b = req.body;
        try {
          const saved = await saveContact(deps.db, req.params.id, {
            phone: b.phone, name: b.name, segment: b.segment, time_zone: b.timeZone, priority: b.priority, external_id: b.externalId, attributes: b.attributes,
          }, b.country);
          return reply.status(saved.outcome === 'inserted' ? 201 : 200).send(saved);
        } catch (err) {
          throw httpError(err);
        }
      },
    );

    app.get(
      '/campaigns/:id/contacts',
      {
        config: { access: { perm: ['campaigns.write', 'live.read'] } },
        schema: {
          params,
          querystring: z.strictObject({
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            offset: z.coerce.number().int().min(0).default(0),
            unmasked: z.enum(['true', 'false']).default('false'),
          }),
        },
      },
      async (req) => {
        if (!(await findCampaign(deps.db, req.params.id))) throw new HttpError(404, `campaign ${req.params.id} does not exist`);
        const q = req.query;
        // Phones are masked by default; only an explicit unmasked=true shows them whole.
        const masked = q.unmasked !== 'true';
        const page = await listContacts(deps.db, req.params.id, { limit: q.limit, offset: q.offset });
        return {
          total: page.total,
          limit: q.limit,
          offset: q.offset,
          masked,
          contacts: page.contacts.map((c) => ({
            ...c,
            phone: masked ? maskPhone(c.phone) : c.phone,
            assignedAt: c.assignedAt?.toISOString() ?? null,
            createdAt: c.createdAt.toISOString(),
            updatedAt: c.updatedAt.toISOString(),
          })),
        };
      },
    );
  };
}
