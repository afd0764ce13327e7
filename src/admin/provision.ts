// Setting up a call centre from code (the demo, tests' fixtures, benchmarks): trunks, caller ids,
// agents, campaigns and contacts made through the same validated services as the API
// (config.service.ts, campaigns.service.ts, src/contacts/contacts.service.ts), with the API's
// defaults and its audit, so nothing made here is something the API would refuse. These are thin
// wrappers that fill in the API's request body; there is no other way to create these rows.
//
// Asterisk: with an ARI gateway the service pushes the trunk or agent endpoint inside its
// transaction, as for the API; without one the row is validated and stored only, and the caller
// pushes it (src/admin/pbx-sync.ts) or an engine does at its start.
import { systemActor, type Actor } from '../auth/audit.repository.js';
import type { Db } from '../db/database.js';
import type { DialMode } from '../db/schema.js';
import type { z } from 'zod';
import type { AriGateway } from '../pbx/ari.js';
import { saveContact, type SavedContact } from '../contacts/contacts.service.js';
import { campaignInputSchema, createCampaignFrom, transitionCampaign, type CampaignInput, type CampaignView } from './campaigns.service.js';
import { agentInputSchema, callerIdInputSchema, createAgentFrom, createCallerIdFrom, createTrunkFrom, trunkInputSchema } from './config.service.js';

export interface ProvisionOptions {
  /** Asterisk to push trunks and agent endpoints to (inside the service's transaction). */
  ari?: AriGateway;
  /** Who the audit log names (default: the system). */
  actor?: Actor;
}

const actorOf = (o: ProvisionOptions) => o.actor ?? systemActor('system');

export async function createTrunk(
  db: Db,
  t: { name: string; host: string; port: number; transport?: 'udp' | 'tcp' | 'tls'; codecs?: string[]; username?: string; password?: string; maxChannels?: number; maxCps?: number },
  o: ProvisionOptions = {},
) {
  return createTrunkFrom({ db, ...(o.ari ? { ari: o.ari } : {}) }, actorOf(o), trunkInputSchema.parse(t));
}

export async function createCallerId(db: Db, number: string, label = '', o: ProvisionOptions = {}) {
  return createCallerIdFrom({ db }, actorOf(o), callerIdInputSchema.parse({ number, label }));
}

export async function createAgent(
  db: Db,
  a: { name: string; endpoint: string; contactUri?: string; sipPassword?: string; phoneType?: 'sip' | 'webrtc' },
  o: ProvisionOptions = {},
) {
  return createAgentFrom({ db, ...(o.ari ? { ari: o.ari } : {}) }, actorOf(o), agentInputSchema.parse(a));
}

/** A campaign (the API's body and defaults); `state: 'running'` starts it as POST .../start does. */
export async function createCampaign(
  db: Db,
  c: Omit<z.input<typeof campaignInputSchema>, 'policyName' | 'product'> & {
    dialMode?: DialMode; state?: 'draft' | 'running'; policyName?: string | null; product?: string | null;
  },
): Promise<CampaignView> {
  const { state, ...body } = c;
  const created = await createCampaignFrom(db, campaignInputSchema.parse(body) as CampaignInput);
  return state === 'running' ? transitionCampaign(db, created.id, 'start') : created;
}

/**
 * A contact, checked as an API or import row is (phone in E.164 or national form, time zone,
 * segment...). Without `initialAttempt` it gets no attempt: fixtures make their own.
 */
export async function addContact(
  db: Db,
  c: { campaignId: string; phone: string; name?: string; segment?: string; timeZone?: string; initialAttempt?: boolean },
): Promise<SavedContact> {
  return saveContact(db, c.campaignId, {
    phone: c.phone,
    ...(c.name !== undefined ? { name: c.name } : {}),
    ...(c.segment !== undefined ? { segment: c.segment } : {}),
    ...(c.timeZone !== undefined ? { time_zone: c.timeZone } : {}),
  }, undefined, { initialAttempt: c.initialAttempt ?? false });
}
