// Campaigns: create, read, change, and move through draft → running ⇄ paused → completed.
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  campaignInputSchema, campaignPatchSchema, campaignView, createCampaignFrom, deleteCampaign, getCampaign, transitionCampaign, updateCampaign,
} from '../../admin/campaigns.service.js';
import { writeAudit } from '../../auth/audit.repository.js';
import { actorOf } from '../auth.js';
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be a campaign id (a UUID)') });

export function campaignRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  return async (app) => {
    const audit = (req: FastifyRequest, action: string, id: string, before: unknown, after: unknown) =>
      writeAudit(deps.db, actorOf(req), { action: `campaign.${action}`, resource: 'campaign', resourceId: id, before, after });
    app.post('/campaigns', { schema: { body: campaignInputSchema }, config: { access: { perm: 'campaigns.write' } } }, async (req, reply) => {
      const created = await createCampaignFrom(deps.db, req.body);
      await audit(req, 'created', created.id, null, created);
      return reply.status(201).send(created);
    });
    app.get('/campaigns', { config: { access: { perm: 'config.read' } }, schema: { querystring: z.strictObject({ state: z.enum(['draft', 'running', 'paused', 'completed']).optional() }) } }, async (req) => {
      let q = deps.db.selectFrom('campaigns').selectAll().orderBy('created_at', 'desc').limit(500);
      if (req.query.state) q = q.where('state', '=', req.query.state);
      return { campaigns: (await q.execute()).map(campaignView) };
    });
    app.get('/campaigns/:id', { schema: { params }, config: { access: { perm: 'config.read' } } }, async (req) => campaignView(await getCampaign(deps.db, req.params.id)));
    app.patch('/campaigns/:id', { schema: { params, body: campaignPatchSchema }, config: { access: { perm: 'campaigns.write' } } }, async (req) => {
      const before = campaignView(await getCampaign(deps.db, req.params.id));
      const after = await updateCampaign(deps.db, req.params.id, req.body);
      await audit(req, 'updated', after.id, before, after);
      return after;
    });
    app.delete('/campaigns/:id', { schema: { params }, config: { access: { perm: 'campaigns.write' } } }, async (req, reply) => {
      const gone = await deleteCampaign(deps.db, req.params.id);
      await audit(req, 'deleted', gone.id, campaignView(gone), null);
      return reply.status(204).send();
    });
    for (const action of ['start', 'pause', 'complete'] as const) {
      app.post(`/campaigns/:id/${action}`, { schema: { params }, config: { access: { perm: 'campaigns.control' } } }, async (req) => {
        const before = campaignView(await getCampaign(deps.db, req.params.id));
        const after = await transitionCampaign(deps.db, req.params.id, action);
        await audit(req, action === 'start' ? 'started' : action === 'pause' ? 'paused' : 'completed', after.id, { state: before.state }, { state: after.state });
        return after;
      });
    }
  };
}
