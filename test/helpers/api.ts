// Tests drive the HTTP API as a user of a given role, with a real token from the real store.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { createUser, issueToken } from '../../src/auth/users.repository.js';
import type { Db } from '../../src/db/database.js';
import type { Role } from '../../src/db/schema.js';

export interface Api {
  app: FastifyInstance;
  token: string;
  userId: string;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
}

export async function apiAs(app: FastifyInstance, db: Db, role: Role, opts: { agentId?: string; viewNumbers?: boolean } = {}): Promise<Api> {
  const user = await createUser(db, { name: `${role}-${randomUUID().slice(0, 8)}`, role, agentId: opts.agentId ?? null, viewNumbers: opts.viewNumbers });
  const { token } = await issueToken(db, user.id, 'test');
  return {
    app,
    token,
    userId: user.id,
    inject: (o) => app.inject({ ...o, headers: { ...o.headers, authorization: `Bearer ${token}` } }),
  };
}
