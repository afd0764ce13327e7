// Nodes over the API (PostgreSQL): admins add, read, change and remove Asterisk nodes; input is
// validated with messages that name the field, passwords never come back, every change is
// audited, and other roles may read but not change.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyResolver } from '../../src/compliance/store/policies.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { buildServer } from '../../src/http/server.js';
import { createLogger } from '../../src/log.js';
import { apiAs, type Api } from '../helpers/api.js';
import { testConfig } from '../helpers/env.js';

describe('/api/v1/nodes (PostgreSQL)', () => {
  let db: Db;
  let app: FastifyInstance;
  let admin: Api;
  let supervisor: Api;

  beforeAll(async () => {
    db = createDb(testConfig().DATABASE_URL, 4);
    app = await buildServer({ db, policies: new PolicyResolver(db, 0), log: createLogger('silent') });
    admin = await apiAs(app, db, 'admin');
    supervisor = await apiAs(app, db, 'supervisor');
  });
  afterAll(async () => {
    await app?.close();
    await db?.destroy();
  });

  it('creates, reads, changes and removes a node, audited, secrets write-only', async () => {
    const name = `n-${randomUUID().slice(0, 8)}`;
    const body = {
      name, ariUrl: 'http://10.0.0.5:8088', ariUser: 'dialwell', ariPassword: 'ari-secret-1', amiHost: '10.0.0.5',
      amiUser: 'dialwell', amiPassword: 'ami-secret-1', sipAddress: '10.0.0.5:5060',
    };
    const created = await admin.inject({ method: 'POST', url: '/api/v1/nodes', payload: body });
    expect(created.statusCode, created.body).toBe(201);
    const node = created.json();
    expect(node).toMatchObject({ name, amiPort: 5038, enabled: true, celFile: null, hasAriPassword: true, hasAmiPassword: true });
    expect(created.body).not.toContain('secret');
    expect((await admin.inject({ method: 'POST', url: '/api/v1/nodes', payload: body })).statusCode).toBe(409);

    const bad = await admin.inject({ method: 'POST', url: '/api/v1/nodes', payload: { ...body, name: 'Bad Name', ariUrl: 'ftp://x' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues.map((i: { field: string }) => i.field).sort()).toEqual(['body.ariUrl', 'body.name']);

    const got = await supervisor.inject({ method: 'GET', url: `/api/v1/nodes/${node.id}` });
    expect(got.statusCode).toBe(200);
    // Nobody drives it (its Asterisk does not exist): no owner.
    expect(got.json().owner).toBeNull();
    expect((await supervisor.inject({ method: 'PATCH', url: `/api/v1/nodes/${node.id}`, payload: { enabled: false } })).statusCode).toBe(403);

    const renamed = await admin.inject({ method: 'PATCH', url: `/api/v1/nodes/${node.id}`, payload: { name: 'other' } });
    expect(renamed.statusCode).toBe(400);
    const patched = await admin.inject({ method: 'PATCH', url: `/api/v1/nodes/${node.id}`, payload: { enabled: false, amiPassword: 'ami-secret-2' } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().enabled).toBe(false);
    expect((await admin.inject({ method: 'GET', url: '/api/v1/nodes' })).json().nodes.some((n: { id: string }) => n.id === node.id)).toBe(true);

    expect((await admin.inject({ method: 'DELETE', url: `/api/v1/nodes/${node.id}` })).statusCode).toBe(204);
    expect((await admin.inject({ method: 'GET', url: `/api/v1/nodes/${node.id}` })).statusCode).toBe(404);

    const audit = await admin.inject({ method: 'GET', url: `/api/v1/audit?resource=node&resourceId=${node.id}` });
    const entries = audit.json().entries as { action: string; details: unknown }[];
    expect(entries.map((e) => e.action).sort()).toEqual(['node.created', 'node.deleted', 'node.updated']);
    expect(JSON.stringify(entries)).not.toContain('secret');
    expect(entries.find((e) => e.action === 'node.updated')!.details).toEqual({ ariPasswordChanged: false, amiPasswordChanged: true });
  });
});
