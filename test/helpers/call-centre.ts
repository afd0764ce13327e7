// A small call centre in the test database: an open-hours policy, a trunk to a sipp carrier,
// agents whose softphone is one sipp UAS, a caller id, a campaign (draft) and its contacts with
// one attempt each. For tests that run a campaign against a whole engine.
import { randomUUID } from 'node:crypto';
import { addContact, createAgent, createCallerId, createCampaign, createTrunk } from '../../src/admin/provision.js';
import { createAttempt } from '../../src/dialer/attempts.repository.js';
import { savePolicy } from '../../src/compliance/store/policies.repository.js';
import type { Db } from '../../src/db/database.js';
import { openAllHours } from './harness.js';
import { randomCallerNumber } from './env.js';

export interface CallCentre {
  trunk: { id: string; name: string };
  agents: { id: string; name: string; endpoint: string }[];
  campaign: { id: string; name: string };
  attempts: string[];
}

export async function seedCallCentre(
  db: Db,
  o: { tag: string; carrierPort: number; agentPort: number; agents: number; contacts: number; recordCalls?: boolean },
): Promise<CallCentre> {
  const policyName = `open-${o.tag}`;
  await savePolicy(db, openAllHours(policyName), 'test');
  const trunk = await createTrunk(db, { name: `tr-${o.tag}`, host: '127.0.0.1', port: o.carrierPort });
  const agents = [];
  for (let i = 0; i < o.agents; i++) {
    agents.push(await createAgent(db, { name: `Agent ${i} ${o.tag}`, endpoint: `ag${i}-${o.tag}`, contactUri: `sip:127.0.0.1:${o.agentPort}` }));
  }
  const cid = await createCallerId(db, randomCallerNumber());
  const campaign = await createCampaign(db, { name: `cc ${o.tag}`, trunkId: trunk.id, callerIdId: cid.id, policyName, recordCalls: o.recordCalls ?? false, state: 'draft' });
  const attempts: string[] = [];
  const phones = new Set<string>();
  // Random Miami numbers: a number dialed by an earlier run would meet its frequency cap.
  while (phones.size < o.contacts) phones.add(`+13055${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`);
  for (const phone of phones) {
    const c = await addContact(db, { campaignId: campaign.id, phone });
    attempts.push((await createAttempt(db, { campaignId: campaign.id, contactId: c.id, phone, idempotencyKey: randomUUID() })).id);
  }
  return { trunk, agents, campaign, attempts };
}
