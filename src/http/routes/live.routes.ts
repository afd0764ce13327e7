// GET /live/stream: Server-Sent Events for the console. On connect a "snapshot" (the live view),
// then "agent" on every agent state change and "tiles" when the campaign tiles change. An agent
// (agent.self) receives only their own agent's changes. The stream ends after streamMaxMs and
// the browser reconnects by itself (retry: 1000), so a revoked session stops being served.
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LiveAgent, LiveTiles } from '../../reports/live-source.js';
import { maskNumbersIn, principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

export const defaultLiveStreamOptions = { streamMaxMs: 10 * 60_000, heartbeatMs: 15_000 };

export function liveStreamRoutes(deps: ApiDeps, opts = defaultLiveStreamOptions): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/live/stream',
      {
        config: { access: { perm: ['live.read', 'agent.self'] } },
        schema: {
          description: 'Server-Sent Events (text/event-stream): "snapshot" (the live view), then "agent" and "tiles" as they change.',
          response: { 200: z.string().describe('text/event-stream') },
        },
      },
      async (req, reply) => {
        const source = deps.live;
        if (!source) throw new HttpError(503, 'this process serves no live state (run `dialwell serve`, which wires it)');
        const p = principalOf(req);
        const all = p.permissions.has('live.read');
        if (!all && !p.agentId) throw new HttpError(403, `user ${p.name} has no agent assigned, so has no live state to follow`);
        const mask = !p.permissions.has('numbers.view');
        const mine = (a: LiveAgent) => all || a.agentId === p.agentId;

        // Listen before taking the snapshot, so that no change falls between the two.
        const queued: [string, unknown][] = [];
        let write: ((event: string, data: unknown) => void) | null = null;
        const push = (event: string, data: unknown) => (write ? write(event, data) : queued.push([event, data]));
        const onAgent = (a: LiveAgent) => mine(a) && push('agent', a);
        const onTiles = (t: LiveTiles) => all && push('tiles', t);
        source.on('agent', onAgent);
        source.on('tiles', onTiles);
        source.retain();
        const timers: NodeJS.Timeout[] = [];
        let closed = false;
        const cleanup = () => {
          if (closed) return;
          closed = true;
          source.off('agent', onAgent);
          source.off('tiles', onTiles);
          source.release();
          for (const t of timers) clearTimeout(t);
        };
        let snapshot;
        try {
          snapshot = await source.snapshot();
        } catch (err) {
          cleanup();
          throw err;
        }
        const view = all ? snapshot : { at: snapshot.at, dialer: snapshot.dialer, agents: { byState: {}, list: snapshot.agents.list.filter(mine) } };

        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        write = (event, data) => {
          const text = JSON.stringify(data);
          res.write(`event: ${event}\ndata: ${mask ? maskNumbersIn(text) : text}\n\n`);
        };
        res.write('retry: 1000\n\n');
        write('snapshot', view);
        for (const [e, d] of queued.splice(0)) write(e, d);
        const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), opts.heartbeatMs);
        timers.push(heartbeat, setTimeout(() => res.end(), opts.streamMaxMs));
        req.raw.on('close', cleanup);
        res.on('close', cleanup);
      },
    );
  };
}
