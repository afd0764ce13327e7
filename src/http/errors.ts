// One shape for every error a client can cause: status, a sentence, and where relevant the
// fields that were wrong and why. Nothing a client sends makes a route answer 5xx on purpose.
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isConnectionError, type DatabaseHealth } from '../db/health.js';
import { ClientError, UnavailableError } from '../errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: { field: string; problem: string }[] = [],
  ) {
    super(message);
  }
}

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The first string in a request part that PostgreSQL cannot store as text (NUL) or that is not well-formed UTF-16. */
function badText(v: unknown, at: string, depth = 0): string | null {
  if (typeof v === 'string') return v.includes('\u0000') || loneSurrogate.test(v) ? at : null;
  if (depth > 64 || v === null || typeof v !== 'object' || typeof (v as { pipe?: unknown }).pipe === 'function') return null;
  for (const [k, x] of Object.entries(v)) {
    const found = badText(k, `${at}.${k}`, depth + 1) ?? badText(x, `${at}.${k}`, depth + 1);
    if (found) return found;
  }
  return null;
}

/** `database`: a request that failed for want of PostgreSQL answers 503 and starts its outage
 * (logged once by the health monitor, not once per request). */
export function installErrorHandler(app: FastifyInstance, database?: DatabaseHealth): void {
  // Before any schema: a NUL or a lone surrogate would pass validation and fail in PostgreSQL.
  app.addHook('preValidation', async (req) => {
    // "?offset=" would read as 0 and "?phone=" as no filter: an empty value is a mistake to name.
    for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
      if (v === '') throw new HttpError(400, `query.${k}: is empty; give a value or leave the parameter out`, [{ field: `query.${k}`, problem: 'is empty' }]);
    }
    for (const [where, part] of [['params', req.params], ['query', req.query], ['body', req.body]] as const) {
      const field = badText(part, where);
      if (field) throw new HttpError(400, `${field}: must not contain NUL (\\u0000) or unpaired surrogate characters`, [{ field, problem: 'contains NUL or unpaired surrogate characters' }]);
    }
  });
  app.setErrorHandler((err: FastifyError | HttpError | Error, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const where = err.validationContext ?? 'body';
      const issues = err.validation.map((v) => ({
        field: [where, ...v.instancePath.split('/').filter(Boolean)].join('.'),
        problem: v.message ?? 'is not valid',
      }));
      return reply.status(400).send({ error: `invalid request ${where}: ${issues.map((i) => `${i.field} ${i.problem}`).join('; ')}`, issues });
    }
    if (err instanceof HttpError) {
      return reply.status(err.status).send({ error: err.message, ...(err.issues.length ? { issues: err.issues } : {}) });
    }
    if (err instanceof ClientError) {
      const issues = err.field ? [{ field: `body.${err.field}`, problem: err.message }] : undefined;
      return reply.status(err.status).send({ error: err.message, ...(issues ? { issues } : {}) });
    }
    if (err instanceof UnavailableError) {
      return reply.status(503).header('retry-after', '5').send({ error: err.message });
    }
    if (isConnectionError(err)) {
      database?.noteError(err);
      return reply.status(503).header('retry-after', '5').send({ error: 'the database is unreachable; try again shortly (GET /readyz says which part is down)' });
    }
    const fe = err as FastifyError;
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: fe.message });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'internal error; the server log has the details' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));
}
