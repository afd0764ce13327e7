// Reports per campaign and per agent over a period (JSON, or CSV with Accept: text/csv or
// ?format=csv), the live view for supervisors, and GET /metrics for Prometheus. Supervisors and
// admins (live.read) read everything; an agent (agent.self) reads only their own agent report.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { defaultReportSettings, type Figures, type ReportSettings } from '../../reports/figures.js';
import { toCsv, type Cell } from '../../reports/csv.js';
import { DialwellMetrics, loadMetricsSnapshot } from '../../reports/metrics.js';
import { agentReports, campaignReports, liveView } from '../../reports/reports.service.js';
import { principalOf } from '../auth.js';
import { HttpError } from '../errors.js';
import type { ApiDeps } from '../server.js';

export interface ReportOptions {
  settings: ReportSettings;
  /** Bearer token for /metrics; undefined: /metrics answers loopback clients only. */
  metricsToken?: string;
  /** The Asterisk node this process's dialer drives: the `node` label of per-node metrics (read at each scrape when a function). */
  node?: string | (() => string);
}

const instant = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 instant such as 2026-11-01T00:00:00Z' });
const periodQuery = {
  from: instant,
  /** Default: now. */
  to: instant.optional(),
  /** Default: JSON, or CSV when the Accept header asks for text/csv. */
  format: z.enum(['json', 'csv']).optional(),
};

const outcomeColumns = ['answered', 'abandoned', 'machine', 'busy', 'no-answer', 'congestion', 'rejected', 'failed', 'in-progress'];
const figureColumns = [
  'attempts', 'liveAnswered', 'connected', 'effective', 'successes', 'abandoned', 'machines', 'connectRate', 'abandonmentRate',
  'successRate', 'talkSeconds', 'wrapUpSeconds', 'averageHandleSeconds',
];

function wantsCsv(req: FastifyRequest, format: 'json' | 'csv' | undefined): boolean {
  if (format) return format === 'csv';
  return /\btext\/csv\b/.test(req.headers.accept ?? '');
}

/** Flattens a report row for CSV: figures as columns, outcomes as outcome_<name> columns. */
function flat(row: Partial<Figures> & Record<string, unknown>): Record<string, Cell> {
  const { outcomes, ...rest } = row;
  const out: Record<string, Cell> = {};
  for (const [k, v] of Object.entries(rest)) out[k] = v as Cell;
  for (const o of outcomeColumns) out[`outcome_${o}`] = outcomes?.[o] ?? 0;
  return out;
}

function sendCsv(reply: FastifyReply, name: string, columns: string[], rows: Record<string, Cell>[]): string {
  void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}.csv"`);
  return toCsv(columns, rows);
}

const digest = (v: string): Buffer => createHash('sha256').update(v).digest();
const loopback = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export function reportRoutes(deps: ApiDeps, opts: ReportOptions): FastifyPluginAsyncZod {
  return async (app) => {
    app.get(
      '/reports/campaigns',
      {
        config: { access: { perm: 'live.read' } },
        schema: { querystring: z.object({ ...periodQuery, campaignId: z.uuid('must be a campaign id (a UUID)').optional() }) },
      },
      async (req, reply) => {
        const q = req.query;
        const to = q.to ? new Date(q.to) : new Date();
        const rows = await campaignReports(deps.db, { from: new Date(q.from), to, ...(q.campaignId ? { campaignId: q.campaignId } : {}) }, opts.settings);
        if (wantsCsv(req, q.format)) {
          const cols = ['campaignId', 'campaign', 'from', 'to', ...figureColumns, 'abandonmentRate30d', ...outcomeColumns.map((o) => `outcome_${o}`)];
          return sendCsv(reply, 'campaigns', cols, rows.map((r) => flat({ ...r })));
        }
        return { from: new Date(q.from).toISOString(), to: to.toISOString(), settings: opts.settings, campaigns: rows };
      },
    );

    app.get(
      '/reports/agents',
      {
        config: { access: { perm: ['live.read', 'agent.self'] } },
        schema: { querystring: z.object({ ...periodQuery, agentId: z.uuid('must be an agent id (a UUID)').optional() }) },
      },
      async (req, reply) => {
        const q = req.query;
        const me = principalOf(req);
        let agentId = q.agentId;
        // An agent reads their own figures only: without live.read the report is theirs or nothing.
        if (!me.permissions.has('live.read')) {
          if (!me.agentId) throw new HttpError(403, `user ${me.name} has no agent assigned, so has no agent report`);
          if (agentId && agentId !== me.agentId) throw new HttpError(403, `user ${me.name} reads only their own agent report (${me.agentId})`);
          agentId = me.agentId;
        }
        const to = q.to ? new Date(q.to) : new Date();
        const rows = await agentReports(deps.db, { from: new Date(q.from), to, ...(agentId ? { agentId } : {}) }, opts.settings);
        if (wantsCsv(req, q.format)) {
          const cols = [
            'agentId', 'agent', 'from', 'to', ...figureColumns.filter((c) => !['liveAnswered', 'abandoned', 'abandonmentRate'].includes(c)),
            'loggedInSeconds', 'talkUtilisation', ...outcomeColumns.map((o) => `outcome_${o}`),
          ];
          return sendCsv(reply, 'agents', cols, rows.map((r) => flat({ ...r })));
        }
        return { from: new Date(q.from).toISOString(), to: to.toISOString(), settings: opts.settings, agents: rows };
      },
    );

    // Every node's, whichever process answers, when the shared live state is wired (serve); else this process's dialer.
    app.get('/live', { config: { access: { perm: 'live.read' } } }, async () => (deps.live ? deps.live.snapshot() : liveView(deps.db, deps.dialer, opts.settings)));
  };
}

/** GET /metrics (outside /api/v1: Prometheus scrapes without user tokens). */
export function metricsRoute(deps: ApiDeps, opts: ReportOptions): FastifyPluginAsyncZod {
  const shared = deps.live?.state ? () => deps.live!.state!() : undefined;
  const metrics = new DialwellMetrics(() => loadMetricsSnapshot(deps.db, deps.dialer, opts.settings, new Date(), shared), opts.node ?? 'default');
  return async (app) => {
    app.get('/metrics', { config: { access: 'public' }, schema: { hide: true } }, async (req, reply) => {
      if (opts.metricsToken) {
        const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
        if (!m || !timingSafeEqual(digest(m[1]!), digest(opts.metricsToken))) {
          throw new HttpError(401, 'GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>" (Prometheus: authorization.credentials in the scrape config)');
        }
      } else if (!loopback.has(req.ip)) {
        throw new HttpError(403, `GET /metrics answers loopback clients only; set METRICS_TOKEN to let ${req.ip} scrape with a bearer token`);
      }
      void reply.header('content-type', metrics.contentType);
      return metrics.render();
    });
  };
}

export const defaultReportOptions: ReportOptions = { settings: defaultReportSettings };
