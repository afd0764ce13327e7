// Campaigns: create, read, change, and move through draft → running ⇄ paused → completed.
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  campaignInputSchema, campaignPatchSchema, campaignView, createCampaignFrom, deleteCampaign, getCampaign, transitionCampaign, updateCampaign,
} from '../../admin/campaigns.service.js';
import { checkIds } from '../../admin/config.service.js';
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
    // The agents who take this campaign's calls; none listed: every agent listed on no campaign.
    const agentsOf = async (id: string) =>
      (await deps.db.selectFrom('campaign_agents').select('agent_id').where('campaign_id', '=', id).orderBy('agent_id').execute()).map((r) => r.agent_id);
    app.get('/campaigns/:id/agents', { schema: { params }, config: { access: { perm: 'config.read' } } }, async (req) => {
      await getCampaign(deps.db, req.params.id);
      return { campaignId: req.params.id, agentIds: await agentsOf(req.params.id) };
    });
    app.put(
      '/campaigns/:id/agents',
      // Supervisors move agents between campaigns (campaigns.control) as admins set campaigns up.
      { schema: { params, body: z.strictObject({ agentIds: z.array(z.uuid('must be an agent id (a UUID)')).max(1000) }) }, config: { access: { perm: ['campaigns.write', 'campaigns.control'] } } },
      async (req) => {
        await getCampaign(deps.db, req.params.id);
        const ids = [...new Set(req.body.agentIds)].sort();
        await checkIds(deps.db, 'agents', ids, 'agentIds');
        const before = await agentsOf(req.params.id);
        await deps.db.transaction().execute(async (trx) => {
          await trx.deleteFrom('campaign_agents').where('campaign_id', '=', req.params.id).execute();
          if (ids.length) await trx.insertInto('campaign_agents').values(ids.map((agent_id) => ({ campaign_id: req.params.id, agent_id }))).execute();
          await writeAudit(trx, actorOf(req), { action: 'campaign.agents-set', resource: 'campaign', resourceId: req.params.id, before: { agentIds: before }, after: { agentIds: ids } });
        });
        return { campaignId: req.params.id, agentIds: ids };
      },
    );
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
