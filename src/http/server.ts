// The HTTP API (fastify): zod schemas validate every request; one route file per resource.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { PolicyResolver } from '../compliance/store/policies.repository.js';
import { healthOf, type Db } from '../db/database.js';
import type { AgentBus } from '../cluster/agent-bus.js';
import type { Dialer } from '../dialer/dialer.js';
import type { Logger } from '../log.js';
import type { AriGateway } from '../pbx/ari.js';
import type { PbxTargets } from '../admin/pbx-sync.js';
import type { RecordingStore } from '../recordings/store.js';
import { databaseProbes, Readiness } from '../health/readiness.js';
import type { LiveSource } from '../reports/live-source.js';
import { installAuth, type AuthOptions } from './auth.js';
import { defaultConsoleDir, installConsole, websocketSource } from './console.js';
import { installErrorHandler } from './errors.js';
import { agentRoutes } from './routes/agents.routes.js';
import { attemptRoutes } from './routes/attempts.routes.js';
import { callControlRoutes } from './routes/call-control.routes.js';
import { phoneRoutes } from './routes/phone.routes.js';
import { supervisionRoutes } from './routes/supervision.routes.js';
import { campaignRoutes } from './routes/campaigns.routes.js';
import { configRoutes } from './routes/config.routes.js';
import { contactRoutes } from './routes/contacts.routes.js';
import { dncRoutes } from './routes/dnc.routes.js';
import { eligibilityRoutes } from './routes/eligibility.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { policyRoutes } from './routes/policies.routes.js';
import { progressRoutes } from './routes/progress.routes.js';
import { holidayRoutes } from './routes/holidays.routes.js';
import { protectedRoutes } from './routes/protected.routes.js';
import { defaultReportOptions, metricsRoute, reportRoutes, type ReportOptions } from './routes/reports.routes.js';
import { nodeRoutes } from './routes/nodes.routes.js';
import { qaRoutes } from './routes/qa.routes.js';
import { recordingRoutes } from './routes/recordings.routes.js';
import { defaultLiveStreamOptions, liveStreamRoutes } from './routes/live.routes.js';
import { sessionRoutes } from './routes/session.routes.js';
import { userRoutes } from './routes/users.routes.js';

export interface ApiDeps {
  db: Db;
  policies: PolicyResolver;
  log: Logger;
  /** The dialer engine, when this process runs it (agent sessions, wrap-up). */
  dialer?: Dialer;
  /** Agent sessions of every engine, and commands to them (when sessions may live in another process). */
  agentBus?: AgentBus;
  /** Every node's Asterisk (PbxFleet): trunk and agent changes are pushed to each at once. */
  pbx?: PbxTargets;
  /** One Asterisk (a test's engine), when `pbx` is not given: changes are pushed there. */
  ari?: AriGateway;
  auth?: Partial<AuthOptions>;
  /** Report definitions (effective talk, success results) and the /metrics token. */
  reports?: Partial<ReportOptions>;
  /** Where recordings are played from (the dialer's store); without it audio requests answer 503. */
  recordings?: RecordingStore;
  /** What GET /readyz checks; without it, PostgreSQL and the migrations only. */
  readiness?: Readiness;
  /** Live state for GET /api/v1/live/stream; without it the stream answers 503. */
  live?: LiveSource;
  liveStream?: Partial<typeof defaultLiveStreamOptions>;
  /** The built web console (default web/dist); served under "/" when it holds an index.html. */
  consoleDir?: string;
  /** The browser phone's websocket URL (WEBRTC_WS_URL); without it GET /agents/:id/phone answers 503 for a webrtc agent. */
  webrtcWsUrl?: string;
}

export async function buildServer(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // pino 10's Logger and fastify's bundled pino types differ only in generics.
    loggerInstance: deps.log as FastifyBaseLogger,
    bodyLimit: 1 << 20,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  // A query parameter no route reads is a client's mistake worth naming, not something to ignore.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/api/') && !route.schema?.querystring) route.schema = { ...route.schema, querystring: z.strictObject({}) };
  });
  installErrorHandler(app, healthOf(deps.db));
  installAuth(app, deps.db, deps.auth);
  // OpenAPI from the same zod schemas that validate the requests: /docs (browsable), /docs/json.
  await app.register(swagger, {
    openapi: {
      info: { title: 'Dialwell API', version: '1', description: 'Every /api/v1 route needs Authorization: Bearer <token> (`dialwell token create`) or a console session (POST /api/v1/session; changes then carry x-csrf-token).' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: false } });
  // Registry files are plain text or CSV, streamed to COPY, never buffered whole.
  for (const type of ['text/plain', 'text/csv', 'application/octet-stream']) {
    app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }
  const api = app.withTypeProvider<ZodTypeProvider>();
  await api.register(eligibilityRoutes(deps), { prefix: '/api/v1' });
  await api.register(dncRoutes(deps), { prefix: '/api/v1' });
  await api.register(policyRoutes(deps), { prefix: '/api/v1' });
  await api.register(protectedRoutes(deps), { prefix: '/api/v1' });
  await api.register(attemptRoutes(deps), { prefix: '/api/v1' });
  await api.register(progressRoutes(deps), { prefix: '/api/v1' });
  await api.register(holidayRoutes(deps), { prefix: '/api/v1' });
  await api.register(contactRoutes(deps), { prefix: '/api/v1' });
  await api.register(agentRoutes(deps), { prefix: '/api/v1' });
  await api.register(callControlRoutes(deps), { prefix: '/api/v1' });
  await api.register(phoneRoutes(deps), { prefix: '/api/v1' });
  await api.register(supervisionRoutes(deps), { prefix: '/api/v1' });
  await api.register(campaignRoutes(deps), { prefix: '/api/v1' });
  await api.register(configRoutes(deps), { prefix: '/api/v1' });
  await api.register(userRoutes(deps), { prefix: '/api/v1' });
  await api.register(sessionRoutes(deps), { prefix: '/api/v1' });
  await api.register(nodeRoutes(deps), { prefix: '/api/v1' });
  const reports = { ...defaultReportOptions, ...deps.reports };
  await api.register(reportRoutes(deps, reports), { prefix: '/api/v1' });
  await api.register(liveStreamRoutes(deps, { ...defaultLiveStreamOptions, ...deps.liveStream }), { prefix: '/api/v1' });
  await api.register(metricsRoute(deps, reports));
  await api.register(qaRoutes(deps), { prefix: '/api/v1' });
  await api.register(recordingRoutes(deps), { prefix: '/api/v1' });
  await api.register(healthRoutes(deps.readiness ?? new Readiness(databaseProbes(deps.db))));
  await installConsole(app, deps.consoleDir ?? defaultConsoleDir(), deps.webrtcWsUrl ? [websocketSource(deps.webrtcWsUrl)] : []);
  return app;
}
