// What GET /metrics exposes: the process's own metrics (prom-client's defaults) and Dialwell's:
// calls by campaign and outcome since the start (counters), today's funnel, connect rate and
// average handle time per campaign, the regulator's 30-day abandonment rate, and, where the dialer
// runs in this process, agents by state and calls in progress, labelled with the Asterisk node.
import { Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import type { Dialer } from '../dialer/dialer.js';
import { family, processMetrics, type Labels } from './prometheus.js';
import type { ReportSettings } from './figures.js';
import { callsByOutcome, campaignsById } from './reports.repository.js';
import { liveView, type LiveView } from './reports.service.js';

/** What one scrape reads from the record and this process's dialer. */
export interface MetricsSnapshot {
  callsByOutcome: { campaignId: string; outcome: string; n: number }[];
  live: Pick<LiveView, 'dialer' | 'agents' | 'callsInProgress' | 'campaigns'>;
  /** Campaign names by id, for the `campaign` label. */
  names: Map<string, string>;
}

export async function loadMetricsSnapshot(db: Db, dialer: Dialer | undefined, s: ReportSettings, now = new Date()): Promise<MetricsSnapshot> {
  const [byOutcome, live] = await Promise.all([callsByOutcome(db), liveView(db, dialer, s, now)]);
  const names = new Map((await campaignsById(db, [...new Set(byOutcome.map((r) => r.campaignId))])).map((c) => [c.id, c.name]));
  for (const c of live.campaigns) names.set(c.campaignId, c.campaign);
  return { callsByOutcome: byOutcome, live, names };
}

const STAGES = ['attempts', 'liveAnswered', 'connected', 'effective', 'successes', 'abandoned'] as const;
const AGENT_STATES = ['ready', 'reserved', 'on-call', 'wrap-up', 'paused', 'logging-in'];
const CAMPAIGN = ['campaign_id', 'campaign'];

/** One per HTTP server: Dialwell's families in a registry of their own, merged with the process's. */
export class DialwellMetrics {
  private readonly registry: Registry;
  private current: Promise<MetricsSnapshot> | null = null;

  /** `node`: the Asterisk node this process's dialer drives (the `node` label), read at each scrape when a function. */
  constructor(private readonly load: () => Promise<MetricsSnapshot>, node: string | (() => string)) {
    const nodeOf = typeof node === 'string' ? () => node : node;
    const own = new Registry();
    // Every family of a scrape reads the one snapshot that scrape loaded.
    const snap = (): Promise<MetricsSnapshot> => (this.current ??= this.load());
    const camp = (s: MetricsSnapshot, id: string): Labels => ({ campaign_id: id, campaign: s.names.get(id) ?? '' });
    family(own, snap, {
      type: 'counter', name: 'dialwell_calls_total', help: 'Calls ended, by campaign and outcome.', labelNames: [...CAMPAIGN, 'outcome'],
      samples: (s) => s.callsByOutcome.map((r) => ({ labels: { ...camp(s, r.campaignId), outcome: r.outcome }, value: r.n })),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_campaign_today_calls', help: 'Running campaigns since midnight UTC: the funnel by stage (see docs/cdr-and-qa.md, Reports).', labelNames: [...CAMPAIGN, 'stage'],
      samples: (s) => s.live.campaigns.flatMap((c) => STAGES.map((st) => ({ labels: { ...camp(s, c.campaignId), stage: st }, value: c[st] }))),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_campaign_connect_rate', help: 'Running campaigns since midnight UTC: connected / attempts.', labelNames: CAMPAIGN,
      samples: (s) => s.live.campaigns.map((c) => ({ labels: camp(s, c.campaignId), value: c.connectRate })),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_campaign_average_handle_seconds', help: 'Running campaigns since midnight UTC: (talk + wrap-up) / connected calls.', labelNames: CAMPAIGN,
      samples: (s) => s.live.campaigns.map((c) => ({ labels: camp(s, c.campaignId), value: c.averageHandleSeconds })),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_campaign_abandonment_rate', help: 'Running campaigns: abandoned / live-answered calls as regulators count it.', labelNames: [...CAMPAIGN, 'window'],
      samples: (s) => s.live.campaigns.flatMap((c) => [
        { labels: { ...camp(s, c.campaignId), window: '30d' }, value: c.abandonmentRate30d },
        { labels: { ...camp(s, c.campaignId), window: 'today' }, value: c.abandonmentRate },
      ]),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_campaign_abandonment_cap', help: 'Running campaigns: the abandonment rate the predictive pacer holds under.', labelNames: CAMPAIGN,
      samples: (s) => s.live.campaigns.map((c) => ({ labels: camp(s, c.campaignId), value: c.abandonCap })),
    });
    // Per node: only where this process runs the dialer (no samples otherwise).
    family(own, snap, {
      type: 'gauge', name: 'dialwell_agents', help: 'Logged-in agents by state (this process\'s dialer), per Asterisk node.', labelNames: ['node', 'state'],
      samples: (s) => (s.live.dialer ? AGENT_STATES.map((st) => ({ labels: { node: nodeOf(), state: st }, value: s.live.agents.byState[st] ?? 0 })) : []),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_calls_in_progress', help: 'Calls in progress by campaign and phase (this process\'s dialer), per Asterisk node.', labelNames: ['node', ...CAMPAIGN, 'phase'],
      samples: (s) => (s.live.dialer
        ? s.live.callsInProgress.byCampaign.flatMap((c) => Object.entries(c.phases).map(([phase, n]) => ({ labels: { node: nodeOf(), ...camp(s, c.campaignId), phase }, value: n })))
        : []),
    });
    this.registry = Registry.merge([processMetrics(), own]);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition: loads one snapshot, then every family reads it. */
  async render(): Promise<string> {
    const scrape = this.load();
    this.current = scrape;
    try {
      return await this.registry.metrics();
    } finally {
      if (this.current === scrape) this.current = null;
    }
  }
}
