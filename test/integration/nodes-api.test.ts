// Nodes over the API (PostgreSQL): admins add, read, change and remove Asterisk nodes; input is
// validated with messages that name the field, passwords never come back, every change is
// audited, and other roles may read but not change.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
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

  it('dialwell nodes add registers a node through the same validated, audited service; --if-missing; clear errors', async () => {
    const bin = path.resolve('bin/dialwell.js');
    const env = { ...process.env, DATABASE_URL: testConfig().DATABASE_URL, LOG_LEVEL: 'warn', LOG_FILE: undefined };
    const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'nodes', ...args], { env, encoding: 'utf8', timeout: 60_000 });
    const name = `cli-${randomUUID().slice(0, 8)}`;
    // Disabled: no engine of another test on this database may try to drive it.
    const flags = ['--ari-url', 'http://10.0.0.9:8088', '--ari-user', 'dialwell', '--ari-password', 'cli-secret-1', '--ami-host', '10.0.0.9',
      '--ami-user', 'dialwell', '--ami-password', 'cli-secret-2', '--sip-address', '10.0.0.9:5060', '--disabled'];
    const added = cli('add', '--name', name, ...flags);
    expect(added.status, added.stderr).toBe(0);
    expect(added.stdout).toContain(`node ${name} added`);
    const row = await db.selectFrom('nodes').where('name', '=', name).selectAll().executeTakeFirstOrThrow();
    expect(row).toMatchObject({ ari_url: 'http://10.0.0.9:8088', ami_port: 5038, sip_address: '10.0.0.9:5060', enabled: false });
    const audit = await db.selectFrom('audit_log').where('resource_id', '=', row.id).select(['action', 'actor']).execute();
    expect(audit).toEqual([{ action: 'node.created', actor: 'cli' }]);

    const again = cli('add', '--name', name, ...flags);
    expect(again.status).toBe(2);
    expect(again.stderr).toContain('already exists');
    const kept = cli('add', '--name', name, ...flags, '--if-missing');
    expect(kept.status, kept.stderr).toBe(0);
    expect(kept.stdout).toContain('left as it is');

    const bad = cli('add', '--name', 'Bad Name', '--ari-url', 'ftp://x');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--name: must be lower-case/);
    expect(bad.stderr).toMatch(/--ari-url: must be a URL/);
    expect(bad.stderr).toMatch(/--sip-address: is required/);
    expect(await db.selectFrom('nodes').where('name', '=', 'Bad Name').select('id').executeTakeFirst()).toBeUndefined();

    const list = cli('list');
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${name}\tdisabled\thttp://10.0.0.9:8088`, 'm'));
    expect(list.stdout).not.toContain('cli-secret');
    await db.deleteFrom('nodes').where('id', '=', row.id).execute();
  });
});
