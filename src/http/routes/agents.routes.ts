// Agents' sessions: log in (Dialwell calls the softphone once and holds it), ready, pause with a
// reason, log out, and the live state. Any API process answers: a session held by the engine in
// this process is used directly; one held by another engine is read from the shared board and
// commanded through the agent bus (src/cluster/agent-bus.ts), with the same answers.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { agentView, loggedOut, runAgentCommand, type AgentCommand, type AgentCommandResult, type AgentView } from '../../dialer/agent-commands.js';
import { maskPhone } from '../../compliance/phone.js';
import type { Access } from '../auth.js';
import { actorOf } from '../auth.js';
import { dispositionOwner } from '../../cdr/cdr.repository.js';
import type { CallScreen } from '../../dialer/call-control.js';

const noScreen: CallScreen = { onHold: false, consult: null, transferTargets: [] };
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

const params = z.object({ id: z.uuid('must be an agent id (a UUID)') });
/** An agent drives their own session; supervisors and admins drive anyone's. */
const own = { access: { perm: ['agent.self', 'agents.control'], agentParam: 'id' } } satisfies { access: Access };

/** What the API shows of a session. */
function view(v: AgentView) {
  return { state: v.state, since: v.since, callId: v.callId, pauseReason: v.pauseReason };
}

/** The session wherever it is held: this process's engine, else the shared board. */
export async function sessionOf(deps: ApiDeps, agentId: string): Promise<AgentView> {
  const local = deps.dialer?.agents.get(agentId);
  if (local && local.state !== 'logged-out') return agentView(local);
  return deps.agentBus ? deps.agentBus.view(agentId) : agentView(local);
}

/**
 * Runs an agent command on the engine holding the session: here when it is here, else through the
 * bus (a login, or a preview for an agent logged in nowhere, to the engine of the agent's node).
 */
export async function commandAgent(deps: ApiDeps, agent: { id: string; name: string; endpoint: string }, cmd: AgentCommand): Promise<AgentCommandResult> {
  const local = deps.dialer?.agents.get(agent.id);
  if (deps.dialer && (!deps.agentBus || (local && local.state !== 'logged-out'))) return runAgentCommand(deps.dialer, agent, cmd);
  if (deps.agentBus) return deps.agentBus.command(agent.id, cmd);
  if (cmd.kind === 'logout' || cmd.kind === 'wrapped-up') return loggedOut;
  throw new HttpError(503, 'the dialer engine does not run in this process; agent sessions live there');
}

export function agentRoutes(deps: ApiDeps): FastifyPluginAsyncZod {
  const agentRow = async (id: string) => {
    const a = await deps.db.selectFrom('agents').where('id', '=', id).select(['id', 'name', 'endpoint', 'phone_type as phoneType']).executeTakeFirst();
    if (!a) throw new HttpError(404, `agent ${id} does not exist`);
    return a;
  };
  return async (app) => {
    app.get('/agents', { config: { access: { perm: ['config.read', 'live.read'] } } }, async () => {
      const rows = await deps.db.selectFrom('agents').select(['id', 'name', 'endpoint', 'node_id as nodeId']).orderBy('name').execute();
      const shared = deps.agentBus ? await deps.agentBus.views() : new Map<string, AgentView>();
      const of = (id: string) => {
        const local = deps.dialer?.agents.get(id);
        return local && local.state !== 'logged-out' ? agentView(local) : (shared.get(id) ?? agentView(local));
      };
      return { agents: rows.map((a) => ({ ...a, ...view(of(a.id)) })) };
    });
    // The agent's screen: state, and while on a call or in its wrap-up, the contact and the campaign's script.
    app.get('/agents/:id/state', { schema: { params }, config: { access: { perm: ['live.read', 'agent.self'], agentParam: 'id' } } }, async (req) => {
      const a = await agentRow(req.params.id);
      const s = await sessionOf(deps, a.id);
      const callId = s.callId ?? (s.state === 'wrap-up' ? s.lastCallId : null);
      const current = callId
        ? await deps.db
          .selectFrom('calls as k')
          .innerJoin('contacts as c', 'c.id', 'k.contact_id')
          .innerJoin('campaigns as p', 'p.id', 'k.campaign_id')
          .where('k.id', '=', callId)
          .select(['k.id as callId', 'k.attempt_id as attemptId', 'c.id as contactId', 'c.name', 'c.phone', 'c.segment', 'c.attributes', 'p.name as campaign', 'p.settings'])
          .executeTakeFirst()
        : undefined;
      // Hold, the consultation and whom the call can be handed to (ready agents of the engine
      // holding the call: a transfer stays on the node), from that engine, here or over the bus.
      const screen: CallScreen = s.state === 'on-call' || s.state === 'reserved'
        ? ((await commandAgent(deps, a, { kind: 'call', action: { do: 'screen' }, actor: actorOf(req) }).catch(() => null))?.call as CallScreen | undefined) ?? noScreen
        : noScreen;
      // Who disposes: the agent who ended with the customer (after a transfer to another agent, not
      // the one who transferred); the one who transferred sees to whom, and no form.
      const owner = current ? await dispositionOwner(deps.db, current.callId) : null;
      const toName = owner?.transferredTo && 'agentId' in owner.transferredTo
        ? (await deps.db.selectFrom('agents').where('id', '=', owner.transferredTo.agentId).select('name').executeTakeFirst())?.name ?? owner.transferredTo.agentId
        : owner?.transferredTo && 'number' in owner.transferredTo ? owner.transferredTo.number : null;
      return {
        agentId: a.id,
        ...view(s),
        // Whether the customer of the current call is on hold (call control).
        onHold: screen.onHold,
        consult: screen.consult,
        transferTargets: screen.transferTargets,
        current: current
          ? {
            callId: current.callId, attemptId: current.attemptId, campaign: current.campaign, script: current.settings.script ?? null,
            contact: { id: current.contactId, name: current.name, phone: current.phone, segment: current.segment, attributes: current.attributes },
            disposesHere: owner?.agentId === a.id,
            transferredTo: toName,
          }
          : null,
      };
    });
    app.post('/agents/:id/login', { schema: { params }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      return { agentId: a.id, ...view(await commandAgent(deps, a, { kind: 'login' })) };
    });
    app.post('/agents/:id/logout', { schema: { params }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      await commandAgent(deps, a, { kind: 'logout' });
      return { agentId: a.id, state: 'logged-out' };
    });
    app.post('/agents/:id/ready', { schema: { params }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      return { agentId: a.id, ...view(await commandAgent(deps, a, { kind: 'ready' })) };
    });
    // Preview: on the engine holding the session (here, or through the agent bus), with its answers.
    app.post('/agents/:id/preview', { schema: { params }, config: own }, async (req, reply) => {
      const a = await agentRow(req.params.id);
      const p = (await commandAgent(deps, a, { kind: 'preview-take' })).preview;
      if (!p) return reply.status(404).send({ error: 'no contact is due in a running preview campaign' });
      return { ...p, contact: { ...p.contact, phone: maskPhone(p.contact.phone) } };
    });
    const previewParams = z.object({ id: z.uuid('must be an agent id (a UUID)'), attemptId: z.uuid('must be an attempt id (a UUID)') });
    app.post('/agents/:id/preview/:attemptId/dial', { schema: { params: previewParams }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      const r = await commandAgent(deps, a, { kind: 'preview-dial', attemptId: req.params.attemptId });
      return { attemptId: req.params.attemptId, ...r.dial };
    });
    app.post('/agents/:id/preview/:attemptId/skip', { schema: { params: previewParams }, config: own }, async (req) => {
      const a = await agentRow(req.params.id);
      const r = await commandAgent(deps, a, { kind: 'preview-skip', attemptId: req.params.attemptId });
      return { attemptId: req.params.attemptId, skipped: true, ...view(r) };
    });
    app.post(
      '/agents/:id/pause',
      { config: own, schema: { params, body: z.strictObject({ reason: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'must be a reason code such as "break" or "training"') }) } },
      async (req) => {
        const a = await agentRow(req.params.id);
        return { agentId: a.id, ...view(await commandAgent(deps, a, { kind: 'pause', reason: req.body.reason })) };
      },
    );
  };
}
