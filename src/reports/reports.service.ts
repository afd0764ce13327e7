// Reports per campaign and per agent over a period, the live view for supervisors, and the figures
// /metrics exposes: rows from reports.repository, meaning from figures.ts.
import type { Db } from '../db/database.js';
import type { Dialer } from '../dialer/dialer.js';
import { ClientError } from '../errors.js';
import {
  abandonmentWindowStart, emptyTotals, figuresOf, LIVE_ANSWERED_OUTCOMES, loggedInSeconds, rateOf, REGULATOR_WINDOW, talkUtilisation,
  type Figures, type ReportSettings,
} from './figures.js';
import { aggregateFacts, agentsById, agentStateChanges, campaignsById, liveAnswerCounts, type Period } from './reports.repository.js';

export interface CampaignReport extends Figures {
  campaignId: string;
  campaign: string;
  from: string;
  to: string;
  /** The regulator's rate (US TSR/FCC: rolling 30 days, as the pacer holds it) ending at `to`. */
  abandonmentRate30d: number | null;
}

export interface AgentReport extends Omit<Figures, 'abandoned' | 'abandonmentRate' | 'liveAnswered'> {
  agentId: string;
  agent: string;
  from: string;
  to: string;
  loggedInSeconds: number;
  /** talk / logged-in time; null when the agent was not logged in in the period. */
  talkUtilisation: number | null;
}

export function checkPeriod(p: Period): void {
  if (!(p.from < p.to)) throw new ClientError(`"from" (${p.from.toISOString()}) must be before "to" (${p.to.toISOString()})`, 400);
  if (p.to.getTime() - p.from.getTime() > 366 * 86_400_000) throw new ClientError('a report covers at most 366 days: narrow "from" and "to"', 400);
}

/** Regulator's abandonment rate per campaign in the window ending at `to`. */
async function regulatorRates(db: Db, to: Date, campaignIds: readonly string[]): Promise<Map<string, number | null>> {
  const w = abandonmentWindowStart(REGULATOR_WINDOW, to.getTime());
  const counts = await liveAnswerCounts(db, { ...w, to, campaignIds, liveOutcomes: LIVE_ANSWERED_OUTCOMES });
  return new Map(campaignIds.map((id) => {
    const c = counts.get(id);
    return [id, c ? rateOf(c.abandoned, c.liveAnswered) : null];
  }));
}

/** One row per campaign with calls in the period (or the one asked for, even without calls). */
export async function campaignReports(db: Db, p: Period & { campaignId?: string }, s: ReportSettings): Promise<CampaignReport[]> {
  checkPeriod(p);
  if (p.campaignId && (await campaignsById(db, [p.campaignId])).length === 0) throw new ClientError(`campaign ${p.campaignId} does not exist`, 404);
  const byCampaign = await aggregateFacts(db, { ...p, by: 'campaign', ...(p.campaignId ? { campaignIds: [p.campaignId] } : {}) }, s);
  const ids = p.campaignId ? [p.campaignId] : [...byCampaign.keys()];
  const [campaigns, rates] = await Promise.all([campaignsById(db, ids), regulatorRates(db, p.to, ids)]);
  return campaigns.map((c) => ({
    campaignId: c.id,
    campaign: c.name,
    from: p.from.toISOString(),
    to: p.to.toISOString(),
    ...figuresOf(byCampaign.get(c.id) ?? emptyTotals()),
    abandonmentRate30d: rates.get(c.id) ?? null,
  }));
}

/** One row per agent who took calls or was logged in during the period (or the one asked for). */
export async function agentReports(db: Db, p: Period & { agentId?: string }, s: ReportSettings, nowMs = Date.now()): Promise<AgentReport[]> {
  checkPeriod(p);
  if (p.agentId && (await agentsById(db, [p.agentId])).length === 0) throw new ClientError(`agent ${p.agentId} does not exist`, 404);
  const [byAgent, states] = await Promise.all([
    aggregateFacts(db, { ...p, by: 'agent', ...(p.agentId ? { agentId: p.agentId } : {}) }, s),
    agentStateChanges(db, { ...p, ...(p.agentId ? { agentIds: [p.agentId] } : {}) }),
  ]);
  const ids = p.agentId ? [p.agentId] : [...new Set([...byAgent.keys(), ...states.keys()])];
  const agents = await agentsById(db, ids);
  const rows: AgentReport[] = [];
  for (const a of agents) {
    const { abandoned: _a, abandonmentRate: _r, liveAnswered: _l, ...f } = figuresOf(byAgent.get(a.id) ?? emptyTotals());
    const loggedIn = loggedInSeconds(states.get(a.id) ?? [], p.from.getTime(), p.to.getTime(), nowMs);
    if (!p.agentId && loggedIn === 0 && f.attempts === 0) continue; // only a logout inside the period
    rows.push({ agentId: a.id, agent: a.name, from: p.from.toISOString(), to: p.to.toISOString(), ...f, loggedInSeconds: loggedIn, talkUtilisation: talkUtilisation(f.talkSeconds, loggedIn) });
  }
  return rows;
}

/** Midnight UTC of the day holding `now`: "today" for live figures and /metrics. */
export const startOfUtcDay = (now: Date): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));

export interface LiveView {
  at: string;
  /** Whether a dialer is behind this view (this process's, or any node's engine for the shared view). */
  dialer: boolean;
  agents: {
    byState: Record<string, number>;
    list: { agentId: string; name: string; state: string; since: string; callId: string | null; pauseReason: string | null; node?: string }[];
  };
  callsInProgress: { total: number; byCampaign: { campaignId: string; phases: Record<string, number> }[] };
  campaigns: (Figures & {
    campaignId: string; campaign: string; since: string; abandonmentRate30d: number | null; abandonCap: number;
    /** Agents serving the campaign: ready now, and working (logged in, not paused). */
    readyAgents: number; workingAgents: number;
    /** Dial level as measured now: the campaign's calls in progress per working agent (null without one). */
    dialLevel: number | null;
  })[];
  /** Every node (the shared view only): who drives it, its drain, its agents and calls in progress. */
  nodes?: LiveNode[];
}

export interface LiveNode {
  node: string;
  /** The engine holding the node's lease (null: none drives it now) and the lease's epoch. */
  engine: string | null;
  epoch: number | null;
  drainState: 'draining' | 'drained' | null;
  agents: Record<string, number>;
  callsInProgress: number;
  byCampaign: { campaignId: string; phases: Record<string, number> }[];
}

/** The agents and calls a live view is made of: this process's dialer, or every node's (src/cluster/live-board.ts). */
export interface LiveState {
  /** Sessions (logged-out ones are left out of the view). */
  agents: LiveView['agents']['list'];
  calls: { campaignId: string; phase: string; node?: string }[];
  /** Whether the agent takes calls of the campaign (campaign_agents, as the agent pool decides it). */
  serves(agentId: string, campaignId: string): boolean;
  nodes?: LiveNode[];
}

/** This process's dialer as a live state. */
export function localLiveState(dialer: Dialer): LiveState {
  return {
    agents: dialer.agents.list().map((a) => ({
      agentId: a.agentId, name: a.name, state: a.state, since: new Date(a.stateSince).toISOString(), callId: a.callId, pauseReason: a.pauseReason,
    })),
    calls: dialer.liveCalls(),
    serves: (agentId, campaignId) => dialer.agents.serves(agentId, campaignId),
  };
}

/** Per campaign: its ready and working (logged in, not paused) agents, and calls in progress per working agent. */
function staffing(state: LiveState | undefined, campaignId: string, callsInProgress: number): { readyAgents: number; workingAgents: number; dialLevel: number | null } {
  const mine = (state?.agents ?? []).filter((a) => state?.serves(a.agentId, campaignId));
  const working = mine.filter((a) => a.state !== 'logged-out' && a.state !== 'logging-in' && a.state !== 'paused').length;
  return {
    readyAgents: mine.filter((a) => a.state === 'ready').length,
    workingAgents: working,
    dialLevel: working === 0 ? null : Math.round((callsInProgress / working) * 100) / 100,
  };
}

export function liveView(db: Db, dialer: Dialer | undefined, s: ReportSettings, now = new Date()): Promise<LiveView> {
  return liveViewOf(db, dialer ? localLiveState(dialer) : undefined, s, now);
}

export async function liveViewOf(db: Db, state: LiveState | undefined, s: ReportSettings, now = new Date()): Promise<LiveView> {
  const byState: Record<string, number> = {};
  const list: LiveView['agents']['list'] = [];
  for (const a of state?.agents ?? []) {
    if (a.state === 'logged-out') continue;
    byState[a.state] = (byState[a.state] ?? 0) + 1;
    list.push(a);
  }
  const phases = new Map<string, Record<string, number>>();
  const live = state?.calls ?? [];
  for (const c of live) {
    const p = phases.get(c.campaignId) ?? {};
    p[c.phase] = (p[c.phase] ?? 0) + 1;
    phases.set(c.campaignId, p);
  }
  const running = (await db.selectFrom('campaigns').where('state', '=', 'running').select('id').execute()).map((r) => r.id);
  const since = startOfUtcDay(now);
  const [campaigns, byCampaign, rates] = await Promise.all([
    campaignsById(db, running),
    aggregateFacts(db, { from: since, to: new Date(now.getTime() + 1), by: 'campaign', campaignIds: running }, s),
    regulatorRates(db, now, running),
  ]);
  return {
    at: now.toISOString(),
    dialer: state !== undefined,
    agents: { byState, list },
    callsInProgress: { total: live.length, byCampaign: [...phases].map(([campaignId, p]) => ({ campaignId, phases: p })) },
    campaigns: campaigns.map((c) => ({
      campaignId: c.id, campaign: c.name, since: since.toISOString(), ...figuresOf(byCampaign.get(c.id) ?? emptyTotals()),
      abandonmentRate30d: rates.get(c.id) ?? null, abandonCap: c.abandon_cap,
      ...staffing(state, c.id, Object.values(phases.get(c.id) ?? {}).reduce((a, b) => a + b, 0)),
    })),
    ...(state?.nodes ? { nodes: state.nodes } : {}),
  };
}
