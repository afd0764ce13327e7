// The call centre the fault suite runs, set up as an administrator would through the HTTP API of
// the `dialwell serve` under test: a policy, a trunk to sipp customers, a caller id, sipp
// softphone agents, a progressive campaign with recording on, DNC entries and a contact list;
// then the agents' side: log in, and close each call's wrap-up with a disposition.
import type { Sipp } from '../../src/sim/sipp.js';

export class Api {
  constructor(readonly base: string, private readonly token: string) {}

  async call<T>(method: string, url: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const res = await fetch(`${this.base}/api/v1${url}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }
}

/** Miami numbers (America/New_York): inside the calling window the suite sets. */
export const openPhone = (i: number) => `+1305560${String(i).padStart(4, '0')}`;
/** Honolulu numbers (Pacific/Honolulu, 5 h behind New York): outside that window all run long. */
export const closedPhone = (i: number) => `+1808560${String(i).padStart(4, '0')}`;

/**
 * A calling window in the callee's local time that is open now in New York and stays open for
 * the next 3 hours, and that Honolulu (5 h behind) never enters in that time.
 */
export function callingWindow(now = new Date()): { start: string; end: string } {
  const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: '2-digit', hourCycle: 'h23' }).format(now));
  const start = Math.max(0, hour - 1);
  const end = Math.min(24, hour + 3);
  const hh = (h: number) => `${String(h).padStart(2, '0')}:00`;
  return { start: hh(start), end: hh(end) };
}

export interface Site {
  campaignId: string;
  /** A second campaign, in draft, that receives the large import (preparing the next list while dialing). */
  spareCampaignId: string;
  trunkId: string;
  agentIds: string[];
  dncPhones: string[];
  closedPhones: string[];
  window: { start: string; end: string };
  capPerPhone: number;
  /** Numbers handed out so far (openPhone(i) for i below it). */
  nextContact: number;
}

export interface SiteOptions {
  tag: string;
  carrierPort: number;
  agentPorts: number[];
  contacts: number;
}

export async function setUpSite(api: Api, o: SiteOptions): Promise<Site> {
  const window = callingWindow();
  const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
  const capPerPhone = 1;
  await api.call('POST', '/policies', {
    name: 'faults', version: 1,
    description: 'Fault suite: a window open now in New York only, one call per number per 24 h',
    windows: [{ days, ...window }],
    caps: [{ scope: 'phone', max: capPerPhone, windowHours: 24 }],
  });
  const trunk = await api.call<{ id: string }>('POST', '/trunks', { name: `faults-${o.tag}`, host: '127.0.0.1', port: o.carrierPort, maxCps: 50 });
  const callerId = await api.call<{ id: string }>('POST', '/caller-ids', { number: '+13055550142', label: 'fault suite' });
  const agentIds: string[] = [];
  for (const [i, port] of o.agentPorts.entries()) {
    const a = await api.call<{ id: string }>('POST', '/agents', { name: `Fault agent ${i + 1}`, endpoint: `faults-${o.tag}-a${i + 1}`, contactUri: `sip:127.0.0.1:${port}` });
    agentIds.push(a.id);
  }
  const campaign = await api.call<{ id: string }>('POST', '/campaigns', {
    name: `Fault suite ${o.tag}`, trunkId: trunk.id, callerIdId: callerId.id, policyName: 'faults', dialMode: 'progressive',
    recordCalls: true, maxConcurrent: 20, maxCps: 5, abandonCap: 0.03,
  });
  const spare = await api.call<{ id: string }>('POST', '/campaigns', {
    name: `Fault suite ${o.tag} (next list)`, trunkId: trunk.id, callerIdId: callerId.id, policyName: 'faults', dialMode: 'progressive', recordCalls: true,
  });
  await api.call('PUT', `/campaigns/${campaign.id}/agents`, { agentIds });
  // Every 10th number asks not to be called; a few callees live where the window is closed.
  const site: Site = {
    campaignId: campaign.id, spareCampaignId: spare.id, trunkId: trunk.id, agentIds, dncPhones: [], closedPhones: [], window, capPerPhone, nextContact: 0,
  };
  await addContacts(api, site, o.contacts);
  for (const id of agentIds) await api.call('POST', `/agents/${id}/login`);
  return site;
}

/** Adds n more contacts to the running campaign (numbers never used before in this run). */
export async function addContacts(api: Api, site: Site, n: number): Promise<void> {
  const rows = ['phone,name,priority'];
  for (let k = 0; k < n; k++) {
    const i = site.nextContact++;
    const phone = openPhone(i);
    rows.push(`${phone},Customer ${i},0`);
    if (i % 10 === 7) site.dncPhones.push(phone);
    if (i % 25 === 3) {
      // First in line, so the dial-time gate meets them (and must refuse them) in every batch.
      const closed = closedPhone(i);
      site.closedPhones.push(closed);
      rows.push(`${closed},Honolulu ${i},10`);
    }
  }
  for (const phone of site.dncPhones.slice(-Math.ceil(n / 10))) await api.call('POST', '/dnc', { phone, source: 'api', reason: 'fault suite: asked not to be called' });
  const report = await api.call<{ imported: number; rejected: number }>('POST', `/campaigns/${site.campaignId}/contacts/import`, rows.join('\n') + '\n', 'text/csv');
  if (report.rejected > 0) throw new Error(`${report.rejected} of the suite's contacts were rejected by the import`);
}

interface AgentState {
  state: string;
  callId: string | null;
}

/**
 * The agents' hands: every few hundred ms, each agent in wrap-up records a disposition for the
 * call just ended (through the API, as the agent console does), so they become ready again.
 * Failures (the server or its database away) are counted and retried on the next round.
 */
export class AgentDesk {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  failures = 0;
  dispositions = 0;
  readonly states = new Map<string, string>();

  /** toClose: the attempt of the agent's last ended call still without a disposition (the console shows it). */
  constructor(private readonly api: Api, private readonly agentIds: string[], private readonly toClose: (agentId: string) => Promise<string | null>) {}

  start(everyMs = 500): void {
    this.timer = setInterval(() => void this.round(), everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async round(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      for (const id of this.agentIds) {
        try {
          const s = await this.api.call<AgentState>('GET', `/agents/${id}/state`);
          this.states.set(id, s.state);
          if (s.state === 'wrap-up') {
            const attemptId = await this.toClose(id);
            if (attemptId) {
              await this.api.call('POST', `/attempts/${attemptId}/disposition`, { result: 'not-interested' });
              this.dispositions++;
            }
          } else if (s.state === 'logged-out') {
            // Logged out by the engine (its softphone call dropped): log in again, as an agent would.
            await this.api.call('POST', `/agents/${id}/login`);
          }
        } catch {
          this.failures++;
        }
      }
    } finally {
      this.busy = false;
    }
  }
}

export interface Sipps {
  carrier: Sipp;
  agents: Sipp[];
}
