// `dialwell demo`: a small campaign against simulated customers (sipp as the carrier) and
// simulated agents (sipp softphones on auto-answer), dialed through the real queue, worker and
// Asterisk, then a summary of what happened: calls placed, outcomes, CDRs and recordings.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { updateAgent, updateTrunk } from '../admin/config.service.js';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../admin/provision.js';
import { systemActor } from '../auth/audit.repository.js';
import { syncAgent, syncTrunk } from '../admin/pbx-sync.js';
import { addDncEntry } from '../compliance/store/dnc.repository.js';
import { PolicyResolver, savePolicy } from '../compliance/store/policies.repository.js';
import { loadConfig } from '../config.js';
import { createDb, ensureDatabase, type Db } from '../db/database.js';
import { migrateToLatest } from '../db/migrate.js';
import { Dialer, defaultDialerOptions, type DialResult } from '../dialer/dialer.js';
import { QueueEvents } from 'bullmq';
import { createDialQueue, createDialWorker, dialQueueAddress, redisConnection, watchRedis } from '../dialer/queue.js';
import { createLogger } from '../log.js';
import { AriGateway, ariOptions } from '../pbx/ari.js';
import { maskPhone } from '../compliance/phone.js';
import { LocalRecordingStore } from '../recordings/store.js';
import { Sipp } from '../sim/sipp.js';

const CARRIER_PORT = 5070;
const AGENT_BASE_PORT = 5080;
/** The demo's outbound line (a fictional 555-01xx number of a real area code: a valid number). */
const DEMO_CALLER_ID = '+13055550100';
const demo = { actor: systemActor('cli') };

// Through the API's own services (validated, audited); pushed to Asterisk by syncTrunk/syncAgent.
async function upsertTrunk(db: Db, name: string, port: number): Promise<string> {
  const found = await db.selectFrom('trunks').where('name', '=', name).select('id').executeTakeFirst();
  if (found) return (await updateTrunk({ db }, demo.actor, found.id, { host: '127.0.0.1', port, enabled: true })).id;
  return (await createTrunk(db, { name, host: '127.0.0.1', port }, demo)).id;
}

async function upsertAgent(db: Db, i: number): Promise<{ id: string; name: string; endpoint: string }> {
  const endpoint = `demo-agent-${i}`;
  const contactUri = `sip:127.0.0.1:${AGENT_BASE_PORT + i}`;
  const found = await db.selectFrom('agents').where('endpoint', '=', endpoint).select(['id', 'name', 'endpoint', 'contact_uri']).executeTakeFirst();
  if (found) return found.contact_uri === contactUri ? found : updateAgent({ db }, demo.actor, found.id, { contactUri });
  return createAgent(db, { name: `Demo Agent ${i}`, endpoint, contactUri }, demo);
}

export async function runDemo(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { calls: { type: 'string', default: '4' }, agents: { type: 'string', default: '2' }, 'talk-ms': { type: 'string', default: '3000' } },
  });
  const calls = Number(values.calls);
  const agentCount = Number(values.agents);
  const talkMs = Number(values['talk-ms']);
  if (!Number.isInteger(calls) || calls < 1 || calls > 200) throw new Error('--calls must be a whole number from 1 to 200');
  if (!Number.isInteger(agentCount) || agentCount < 1 || agentCount > 10) throw new Error('--agents must be a whole number from 1 to 10');
  if (!Number.isInteger(talkMs) || talkMs < 500) throw new Error('--talk-ms must be at least 500');

  const cfg = loadConfig();
  const log = createLogger(cfg.LOG_LEVEL === 'info' ? 'warn' : cfg.LOG_LEVEL, cfg.LOG_FILE);
  await ensureDatabase(cfg.DATABASE_URL);
  const db = createDb(cfg.DATABASE_URL, 10, log);
  await migrateToLatest(db);
  const ari = await AriGateway.connect(ariOptions(cfg, log));
  const sipps: Sipp[] = [];
  const redis = redisConnection(cfg.REDIS_URL);
  const workerRedis = redisConnection(cfg.REDIS_URL);
  const queueName = `${cfg.DIAL_QUEUE}-demo-${randomUUID().slice(0, 8)}`;
  const address = await dialQueueAddress(db, queueName);
  const queue = createDialQueue(address, redis);
  const dialer = new Dialer(db, ari, new PolicyResolver(db), new LocalRecordingStore(cfg.RECORDINGS_DIR), log, {
    ...defaultDialerOptions,
    callWrites: { gatherMs: cfg.CALL_WRITE_GATHER_MS },
    agents: { ...defaultDialerOptions.agents, autoReadyAfterMs: 300 },
  });
  const worker = createDialWorker(address, workerRedis, agentCount, dialer.process);
  const queueEvents = new QueueEvents(queueName, { connection: redisConnection(cfg.REDIS_URL), prefix: address.prefix });
  // A Redis outage is logged once at each end, not printed per failed reconnect.
  const redisOutage = watchRedis([redis, workerRedis], { queues: [queue], workers: [worker] }, log);
  queueEvents.on('error', (err) => redisOutage.fail(err));
  await queueEvents.waitUntilReady();
  try {
    console.log(`Dialwell demo: ${calls} customers, ${agentCount} agents, through Asterisk at ${cfg.ARI_URL}`);
    sipps.push(await Sipp.start({ scenario: 'customer-answer.xml', port: CARRIER_PORT, mediaPort: 16000, pauseMs: talkMs }));
    const trunkId = await upsertTrunk(db, 'demo-carrier', CARRIER_PORT);
    await syncTrunk(db, ari, trunkId);
    const callerId =
      (await db.selectFrom('caller_ids').where('number', '=', DEMO_CALLER_ID).select(['id', 'number']).executeTakeFirst()) ??
      (await createCallerId(db, DEMO_CALLER_ID, 'Demo outbound line', demo));
    // The demo runs at any hour, so its policy opens every hour; DNC, protected numbers and a cap
    // of 3 calls per number per 24 h still apply, and every dial is decided and recorded.
    const policy = await savePolicy(db, {
      name: 'demo',
      description: 'Demo: open around the clock, 3 calls per number per 24 h, DNC and protected numbers enforced',
      windows: [{ days: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'], start: '00:00', end: '24:00' }],
      caps: [{ scope: 'phone', max: 3, windowHours: 24 }],
    }, 'demo');
    const campaign = await createCampaign(db, {
      name: `Demo ${new Date().toISOString()}`, trunkId, callerIdId: callerId.id, state: 'running', recordCalls: true,
      policyName: policy.name,
    });
    console.log(`  campaign "${campaign.name}" under policy ${policy.name} v${policy.version}`);

    const agents = [];
    for (let i = 1; i <= agentCount; i++) {
      sipps.push(await Sipp.start({ scenario: 'agent-softphone.xml', port: AGENT_BASE_PORT + i, mediaPort: 16100 + i * 20 }));
      const agent = await upsertAgent(db, i);
      await syncAgent(db, ari, agent.id);
      await dialer.agents.login(agent);
      agents.push(agent);
      console.log(`  agent ${agent.name} logged in (softphone PJSIP/${agent.endpoint})`);
    }

    // One more customer, who asked not to be called: the dialer must refuse it and say why.
    const dncPhone = '+13055550199';
    await addDncEntry(db, { phone: dncPhone, source: 'complaint', reason: 'asked not to be called (demo)', actor: 'demo' });
    const attempts: string[] = [];
    // Fresh fictional 555-01xx..09xx numbers each run, so repeated demos rarely meet the cap.
    const base = 100 + (Date.now() % 700);
    for (let i = 0; i <= calls; i++) {
      const phone = i === calls ? dncPhone : `+1305555${String(base + i).padStart(4, '0')}`;
      // As the API adds a contact: checked, with its initial attempt.
      const contact = await addContact(db, { campaignId: campaign.id, phone, name: `Customer ${i + 1}`, initialAttempt: true });
      const attempt = await db.selectFrom('attempts').where('contact_id', '=', contact.id).select('id').executeTakeFirstOrThrow();
      attempts.push(attempt.id);
    }

    // Progressive pacing: one job per ready agent; the worker's result says dialed or denied.
    const denied: { id: string; result: DialResult }[] = [];
    const pending = [...attempts];
    const inFlight = new Set<Promise<unknown>>();
    while (pending.length > 0 || inFlight.size > 0) {
      while (pending.length > 0 && inFlight.size < dialer.agents.countIn('ready')) {
        const id = pending.shift() as string;
        const job = await queue.add('dial', { attemptId: id }, { jobId: `${id}_demo` });
        const result = (await job.waitUntilFinished(queueEvents, 30_000)) as DialResult;
        if (result.status !== 'dialing') {
          denied.push({ id, result });
          continue;
        }
        const p: Promise<unknown> = dialer.callDone(id).then(() => inFlight.delete(p));
        inFlight.add(p);
      }
      await Promise.race([...inFlight, new Promise((r) => setTimeout(r, 200))]);
    }

    const rows = await db
      .selectFrom('calls as c')
      .leftJoin('agents as a', 'a.id', 'c.agent_id')
      .leftJoin('recordings as r', 'r.call_id', 'c.id')
      .where('c.campaign_id', '=', campaign.id)
      .select([
        'c.id', 'c.phone', 'c.outcome', 'c.hangup_cause', 'c.created_at', 'c.answered_at', 'c.bridged_at', 'c.ended_at',
        'a.name as agent', 'r.storage_key', 'r.duration_ms', 'r.size_bytes', 'r.sha256',
      ])
      .orderBy('c.created_at')
      .execute();
    const byOutcome = new Map<string, number>();
    for (const r of rows) byOutcome.set(r.outcome ?? 'open', (byOutcome.get(r.outcome ?? 'open') ?? 0) + 1);
    console.log(`\nCalls placed: ${rows.length}`);
    console.log(`Outcomes: ${[...byOutcome].map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log('\nCDRs:');
    for (const r of rows) {
      const connect = r.answered_at && r.bridged_at ? `${r.bridged_at.getTime() - r.answered_at.getTime()} ms` : '-';
      const talk = r.bridged_at && r.ended_at ? `${((r.ended_at.getTime() - r.bridged_at.getTime()) / 1000).toFixed(1)} s` : '-';
      console.log(
        `  ${maskPhone(r.phone)}  ${r.outcome ?? 'open'}  agent ${r.agent ?? '-'}  answer→agent ${connect}  talk ${talk}  cause ${r.hangup_cause ?? '-'}`,
      );
    }
    console.log(`\nRecordings (in ${cfg.RECORDINGS_DIR}):`);
    for (const r of rows.filter((x) => x.storage_key)) {
      console.log(`  ${r.storage_key}  ${((r.duration_ms ?? 0) / 1000).toFixed(1)} s  ${r.size_bytes} bytes  sha256 ${r.sha256?.slice(0, 16)}…`);
    }
    console.log('\nNot dialed (each decision stored with its reasons):');
    for (const d of denied) {
      const a = await db.selectFrom('attempts').where('id', '=', d.id).select(['phone']).executeTakeFirstOrThrow();
      const why = d.result.status === 'denied' ? d.result.reasons.join('; ') : d.result.status;
      console.log(`  ${maskPhone(a.phone)}  ${why}`);
    }
    const answered = rows.filter((r) => r.outcome === 'answered' && r.bridged_at && r.storage_key).length;
    console.log(`\n${answered} of ${rows.length} calls answered, bridged to an agent and recorded.`);
    return answered > 0 ? 0 : 1;
  } finally {
    await dialer.close().catch(() => undefined);
    await worker.close();
    await queueEvents.close();
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
    workerRedis.disconnect();
    for (const s of sipps) await s.stop();
    ari.close();
    await db.destroy();
  }
}
