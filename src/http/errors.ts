// One shape for every error a client can cause: status, a sentence, and where relevant the
// fields that were wrong and why. Nothing a client sends makes a route answer 5xx on purpose.
import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ClientError } from '../errors.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly issues: { field: string; problem: string }[] = [],
  ) {
    super(message);
  }
}

export function installErrorHandler(app: FastifyInstance): void {
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
    const fe = err as FastifyError;
    if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
      return reply.status(fe.statusCode).send({ error: fe.message });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'internal error; the server log has the details' });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ error: `no route ${req.method} ${req.url.split('?')[0]}` }));
}
