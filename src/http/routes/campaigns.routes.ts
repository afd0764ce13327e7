// Campaigns: create, read, change, and move through draft → running ⇄ paused → completed.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  CampaignError, campaignInputSchema, campaignPatchSchema, campaignView, createCampaignFrom, getCampaign, transitionCampaign, updateCampaign,
} from '../../admin/campaigns.service.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be a campaign id (a UUID)') });

async function run<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof CampaignError) {
      throw new HttpError(err.status, err.message, err.field ? [{ field: `body.${err.field}`, problem: err.message }] : []);
    }
    throw err;
  }
}

export function campaignRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    app.post('/campaigns', { schema: { body: campaignInputSchema } }, async (req, reply) =>
      reply.status(201).send(await run(() => createCampaignFrom(deps.db, req.body))),
    );
    app.get('/campaigns', { schema: { querystring: z.strictObject({ state: z.enum(['draft', 'running', 'paused', 'completed']).optional() }) } }, async (req) => {
      let q = deps.db.selectFrom('campaigns').selectAll().orderBy('created_at', 'desc').limit(500);
      if (req.query.state) q = q.where('state', '=', req.query.state);
      return { campaigns: (await q.execute()).map(campaignView) };
    });
    app.get('/campaigns/:id', { schema: { params } }, async (req) => campaignView(await run(() => getCampaign(deps.db, req.params.id))));
    app.patch('/campaigns/:id', { schema: { params, body: campaignPatchSchema } }, async (req) => run(() => updateCampaign(deps.db, req.params.id, req.body)));
    for (const action of ['start', 'pause', 'complete'] as const) {
      app.post(`/campaigns/:id/${action}`, { schema: { params } }, async (req) => run(() => transitionCampaign(deps.db, req.params.id, action)));
    }
  };
}
