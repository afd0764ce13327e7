// SIGTERM on a real `dialwell serve` with calls up: /readyz turns 503, no new dials, the calls up
// go on until they end or SHUTDOWN_CALL_LIMIT_MS, when they are ended, each with one closed CDR;
// the agents are logged out with reason "shutdown" (in their state history); no attempt is left
// dialing; exit 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode } from '../../src/admin/nodes.service.js';
import { systemActor } from '../../src/auth/audit.repository.js';
import { createUser, issueToken } from '../../src/auth/users.repository.js';
import { createDb, type Db } from '../../src/db/database.js';
import { createDialQueue, dialQueueAddress, redisConnection } from '../../src/dialer/queue.js';
import { Sipp } from '../../src/sim/sipp.js';
import { seedCallCentre, type CallCentre } from '../helpers/call-centre.js';
import { until } from '../helpers/engine-harness.js';
import { testConfig } from '../helpers/env.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dialwell.js');
const HTTP_PORT = 6399;

/** Two stops: customers who talk past the limit (their calls are ended), and customers who hang
 * up within it (the stop waits for them, then exits without waiting out the limit). */
const cases = [
  { name: 'ends the calls still up at the limit', carrier: 6321, agents: 6331, media: 12400, talkMs: 60_000, limitMs: 3000, ended: 3 },
  { name: 'lets the calls up finish within the limit', carrier: 6341, agents: 6351, media: 12800, talkMs: 5000, limitMs: 20_000, ended: 0 },
];

describe.each(cases)('dialwell serve on SIGTERM with calls up: $name', ({ carrier: CARRIER, agents: AGENTS, media, talkMs, limitMs: LIMIT_MS, ended }) => {
  const tag = randomUUID().slice(0, 8);
  const cfg = testConfig();
  const queueName = `dial-stop-${tag}`;
  // Its own node (the stack's Asterisk) and the serve pinned to it: nodes other files left in the
  // database are not its to drive.
  const nodeName = `stop-${tag}`;
  let db: Db;
  let cc: CallCentre;
  let child: ChildProcess | null = null;
  const sipps: Sipp[] = [];

  beforeAll(async () => {
    db = createDb(cfg.DATABASE_URL, 4);
    // The engine paces every running campaign in the database: other files' are finished.
    await db.updateTable('campaigns').set({ state: 'completed' }).where('state', '=', 'running').execute();
    cc = await seedCallCentre(db, { tag, carrierPort: CARRIER, agentPort: AGENTS, agents: 3, contacts: 20 });
    await createNode(db, systemActor('system'), {
      name: nodeName, ariUrl: cfg.ARI_URL, ariUser: cfg.ARI_USER, ariPassword: cfg.ARI_PASSWORD, amiHost: cfg.AMI_HOST, amiPort: cfg.AMI_PORT,
      amiUser: cfg.AMI_USER, amiPassword: cfg.AMI_PASSWORD, sipAddress: '127.0.0.1:5060', celFile: cfg.ASTERISK_CEL_FILE || null, enabled: true,
    });
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER, mediaPort: media, pauseMs: talkMs }));
    sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENTS, mediaPort: media + 200 }));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await db?.updateTable('campaigns').set({ state: 'completed' }).where('id', '=', cc?.campaign.id ?? randomUUID()).execute().catch(() => undefined);
    const conn = redisConnection(cfg.REDIS_URL);
    for (const node of [undefined, nodeName]) {
      const q = db ? createDialQueue(await dialQueueAddress(db, queueName, node), conn) : null;
      await q?.obliterate({ force: true }).catch(() => undefined);
      await q?.close();
    }
    conn.disconnect();
    await db?.updateTable('nodes').set({ enabled: false }).where('name', '=', nodeName).execute().catch(() => undefined);
    await db?.destroy();
    for (const s of sipps) await s.stop();
  });

  it('no new dials, calls closed with one CDR each, agents logged out, nothing left dialing, exit 0', async () => {
    const admin = await createUser(db, { name: `stop-${tag}`, role: 'admin', agentId: null });
    const { token } = await issueToken(db, admin.id, 'test');
    const api = (method: string, url: string) =>
      fetch(`http://127.0.0.1:${HTTP_PORT}${url}`, { method, headers: { authorization: `Bearer ${token}` } });

    child = spawn(process.execPath, [bin, 'serve'], {
      env: {
        // Its log on stdout, read below (not in the run's LOG_FILE).
        ...process.env, LOG_FILE: undefined, DATABASE_URL: cfg.DATABASE_URL, PORT: String(HTTP_PORT), ARI_APP: `dialwell-stop-${tag}`, DIAL_QUEUE: queueName, ENGINE_NODES: nodeName,
        SHUTDOWN_CALL_LIMIT_MS: String(LIMIT_MS), LOG_LEVEL: 'info', RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), 'dialwell-stop-')),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));

    // Ready: PostgreSQL, migrations, Redis, ARI and AMI all answer.
    await until(async () => (await api('GET', '/readyz').catch(() => null))?.status === 200, 60_000, `dialwell serve to be ready (stderr: ${err.slice(-500)})`);
    const ready = (await (await api('GET', '/readyz')).json()) as { ready: boolean; checks: Record<string, { ok: boolean }> };
    expect(Object.keys(ready.checks).sort()).toEqual(['asterisk-ami', 'asterisk-ari', 'migrations', 'postgresql', 'redis']);

    for (const a of cc.agents) {
      const res = await api('POST', `/api/v1/agents/${a.id}/login`);
      expect(res.status, await res.clone().text()).toBe(200);
    }
    await db.updateTable('campaigns').set({ state: 'running' }).where('id', '=', cc.campaign.id).execute();
    const bridged = async () =>
      (await db.selectFrom('calls').where('campaign_id', '=', cc.campaign.id).where('bridged_at', 'is not', null).where('ended_at', 'is', null).select('id').execute()).length;
    await until(async () => (await bridged()) === 3, 30_000, 'three customers with the three agents');

    const stoppedAt = Date.now();
    child.kill('SIGTERM');
    // While the calls finish: not ready (a load balancer stops sending), the API still answers.
    await until(async () => (await api('GET', '/readyz').catch(() => null))?.status === 503, 2000, '/readyz to turn 503');
    const draining = (await (await api('GET', '/readyz')).json()) as { ready: boolean; stopping: boolean };
    expect(draining).toMatchObject({ ready: false, stopping: true });
    expect(await bridged()).toBe(3); // the calls go on through the limit

    const code = await exited;
    const tookMs = Date.now() - stoppedAt;
    expect(code, err.slice(-2000)).toBe(0);
    if (ended > 0) {
      expect(tookMs).toBeGreaterThanOrEqual(LIMIT_MS);
      expect(tookMs).toBeLessThan(LIMIT_MS + 30_000);
    } else {
      // The customers hung up within the limit: the stop did not wait it out.
      expect(tookMs).toBeLessThan(LIMIT_MS);
    }
    const logs = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logs.find((l) => l.msg === 'stopped')).toMatchObject({ callsAtStop: 3, callsEnded: ended, callsLeft: 0 });
    expect(err).not.toMatch(/Unhandled|ECONNREFUSED/);

    // Every call closed with one CDR; the attempts dialed are completed, the others still queued (never dialing).
    const calls = await db.selectFrom('calls').where('campaign_id', '=', cc.campaign.id).selectAll().execute();
    expect(calls).toHaveLength(3);
    expect(new Set(calls.map((c) => c.attempt_id)).size).toBe(3);
    for (const c of calls) {
      expect(c.ended_at).toBeInstanceOf(Date);
      expect(c.outcome).toBe('answered');
      if (ended > 0) expect(c.ended_at!.getTime()).toBeGreaterThanOrEqual(stoppedAt + LIMIT_MS - 500);
      else expect(c.ended_at!.getTime()).toBeLessThan(stoppedAt + LIMIT_MS);
    }
    const attempts = await db.selectFrom('attempts').where('campaign_id', '=', cc.campaign.id).select(['id', 'state']).execute();
    expect(attempts.filter((a) => a.state === 'dialing')).toEqual([]);
    expect(attempts.filter((a) => a.state === 'completed').map((a) => a.id).sort()).toEqual(calls.map((c) => c.attempt_id).sort());
    expect(attempts.filter((a) => a.state === 'queued')).toHaveLength(17);

    // The agents were logged out with the reason, and that is in their history.
    for (const a of cc.agents) {
      const last = await db.selectFrom('agent_state_changes').where('agent_id', '=', a.id).orderBy('at', 'desc').orderBy('id', 'desc').select(['state', 'reason']).executeTakeFirstOrThrow();
      expect(last).toEqual({ state: 'logged-out', reason: 'shutdown' });
    }
  }, 150_000);
});
