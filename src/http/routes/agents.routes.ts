// Agents' sessions: log in (Dialwell calls the softphone once and holds it), ready, pause with a
// reason, log out, and the live state. Served by the process that runs the dialer engine.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { AgentLoginError, type AgentSession } from '../../dialer/agent-pool.js';
import { maskPhone } from '../../compliance/phone.js';
import { CallbackError, dialPreview, skipPreview, takePreview } from '../../dialer/callbacks.js';
import type { Access } from '../auth.js';
import { HttpError } from '../errors.js';

async function callbackRun<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    if (err instanceof CallbackError) throw new HttpError(err.status, err.message);
    throw err;
  }
}
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be an agent id (a UUID)') });
/** An agent drives their own session; supervisors and admins drive anyone's. */
const own = { access: { perm: ['agent.self', 'agents.control'], agentParam: 'id' } } satisfies { access: Access };

function view(s: AgentSession | undefined) {
  if (!s) return { state: 'logged-out' as const, since: null, callId: null, pauseReason: null };
  return { state: s.state, since: new Date(s.stateSince).toISOString(), callId: s.callId, pauseReason: s.pauseReason };
}

export function agentRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const requireDialer = () => {
    if (!deps.dialer) throw new HttpError(503, 'the dialer engine does not run in this process; agent sessions live there');
    return deps.dialer;
  };
  const pool = () => requireDialer().agents;
  const agentRow = async (id: string) => {
    const a = await deps.db.selectFrom('agents').where('id', '=', id).select(['id', 'name', 'endpoint', 'phone_type as phoneType']).executeTakeFirst();
    if (!a) throw new HttpError(404, `agent ${id} does not exist`);
    return a;
  };
  return async (app) => {
    app.get('/agents', { config: { access: { perm: ['config.read', 'live.read'] } } }, async () => {
      const rows = await deps.db.selectFrom('agents').select(['id', 'name', 'endpoint']).orderBy('name').execute();
      return { agents: rows.map((a) => ({ ...a, ...view(deps.dialer?.agents.get(a.id)) })) };
    });
    // The agent's screen: state, and while on a call or in its wrap-up, the contact and the campaign's script.
    app.get('/agents/:id/state', { schema: { params }, config: { access: { perm: ['live.read', 'agent.self'], agentParam: 'id' } } }, async (req) => {
      const a = await agentRow(req.params.id);
      const s = deps.dialer?.agents.get(a.id);
      const callId = s?.callId ?? (s?.state === 'wrap-up' ? s.lastCallId : null);
      const current = callId
        ? await deps.db
          .selectFrom('calls as k')
          .innerJoin('contacts as c', 'c.id', 'k.contact_id')
          .innerJoin('campaigns as p', 'p.id', 'k.campaign_id')
          .where('k.id', '=', callId)
          .select(['k.id as callId', 'k.attempt_id as attemptId', 'c.id as contactId', 'c.name', 'c.phone', 'c.segment', 'c.attributes', 'p.name as campaign', 'p.settings'])
          .executeTakeFirst()
        : undefined;
      return {
        agentId: a.id,
        ...view(s),
        // Whether the customer of the current call is on hold (call control).
        onHold: deps.dialer?.callOfAgent(a.id)?.onHold ?? false,
        // Whom the call can be handed to (blind transfer takes ready agents only); an agent cannot read the live grid.
        transferTargets: s?.state === 'on-call'
          ? pool().list().filter((o) => o.state === 'ready' && o.agentId !== a.id).map((o) => ({ agentId: o.agentId, name: o.name }))
          : [],
        current: current
          ? {
            callId: current.callId, attemptId: current.attemptId, campaign: current.campaign, script: current.settings.script ?? null,
            contact: { id: current.contactId, name: current.name, phone: current.phone, segment: current.segment, attributes: current.attributes },
          }
          : null,
      };
    });
    app.post('/agents/:id/login', { schema: { params }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      try {
        const s = await pool().login(a);
        return { agentId: a.id, ...view(s) };
      } catch (err) {
        if (err instanceof AgentLoginError) throw new HttpError(409, err.message);
        throw err;
      }
    });
    app.post('/agents/:id/logout', { schema: { params }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      await requireDialer().logoutAgent(a.id);
      return { agentId: a.id, state: 'logged-out' };
    });
    app.post('/agents/:id/ready', { schema: { params }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      const s = pool().get(a.id);
      if (!s || s.state === 'logged-out') throw new HttpError(409, `agent ${a.name} is not logged in`);
      pool().setReady(a.id);
      if (pool().get(a.id)?.state !== 'ready') throw new HttpError(409, `agent ${a.name} is ${s.state}; only wrap-up or paused can become ready`);
      return { agentId: a.id, ...view(pool().get(a.id)) };
    });
    app.post('/agents/:id/preview', { schema: { params }, config: own }, async (req, reply) => {
      const a = await agentRow(req.params.id);
      const p = await callbackRun(() => takePreview(deps.db, requireDialer(), a.id));
      if (!p) return reply.status(404).send({ error: 'no contact is due in a running preview campaign' });
      return { ...p, contact: { ...p.contact, phone: maskPhone(p.contact.phone) } };
    });
    const previewParams = z.object({ id: z.uuid('must be an agent id (a UUID)'), attemptId: z.uuid('must be an attempt id (a UUID)') });
    app.post('/agents/:id/preview/:attemptId/dial', { schema: { params: previewParams }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      const r = await callbackRun(() => dialPreview(deps.db, requireDialer(), a.id, req.params.attemptId));
      return { attemptId: req.params.attemptId, ...r };
    });
    app.post('/agents/:id/preview/:attemptId/skip', { schema: { params: previewParams }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      await callbackRun(() => skipPreview(deps.db, requireDialer(), a.id, req.params.attemptId));
      return { attemptId: req.params.attemptId, skipped: true, ...view(deps.dialer?.agents.get(a.id)) };
    });
    app.post(
      '/agents/:id/pause',
      { config: own, schema: { params, body: z.strictObject({ reason: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a reason code such as "break" or "training"') }) } },
      async (req) => {
        const a = await agentRow(req.params.id);
        const s = pool().get(a.id);
        if (!s || s.state === 'logged-out') throw new HttpError(409, `agent ${a.name} is not logged in`);
        pool().pause(a.id, req.body.reason);
        if (pool().get(a.id)?.state !== 'paused') throw new HttpError(409, `agent ${a.name} is ${s.state}; pause from ready or wrap-up`);
        return { agentId: a.id, ...view(pool().get(a.id)) };
      },
    );
  };
}
