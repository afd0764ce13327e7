// What GET /metrics exposes: the process's own metrics (prom-client's defaults) and Dialwell's:
// calls by campaign and outcome since the start (counters), today's funnel, connect rate and
// average handle time per campaign, the regulator's 30-day abandonment rate, and agents by state
// and calls in progress labelled with the Asterisk node: every node's, from the shared live state
// (src/cluster/live-board.ts) in `dialwell serve`, with each node's owner, lease epoch and drain;
// else those of the dialer running in this process.
import { Registry } from 'prom-client';
import type { Db } from '../db/database.js';
import type { Dialer } from '../dialer/dialer.js';
import { family, processMetrics, type Labels } from './prometheus.js';
import type { ReportSettings } from './figures.js';
import { callsByOutcome, campaignsById } from './reports.repository.js';
import { liveView, liveViewOf, type LiveState, type LiveView } from './reports.service.js';

/** What one scrape reads from the record and this process's dialer. */
export interface MetricsSnapshot {
  callsByOutcome: { campaignId: string; outcome: string; n: number }[];
  live: Pick<LiveView, 'dialer' | 'agents' | 'callsInProgress' | 'campaigns' | 'nodes'>;
  /** Campaign names by id, for the `campaign` label. */
  names: Map<string, string>;
}

/** With `shared` (every node's live state), the per-node figures cover every node, whichever process is scraped. */
export async function loadMetricsSnapshot(db: Db, dialer: Dialer | undefined, s: ReportSettings, now = new Date(), shared?: () => Promise<LiveState>): Promise<MetricsSnapshot> {
  const [byOutcome, live] = await Promise.all([callsByOutcome(db), shared ? shared().then((st) => liveViewOf(db, st, s, now)) : liveView(db, dialer, s, now)]);
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
    // Per node: every node from the shared live state; else only where this process runs the dialer.
    family(own, snap, {
      type: 'gauge', name: 'dialwell_agents', help: 'Logged-in agents by state, per Asterisk node (every node when the shared live state is read).', labelNames: ['node', 'state'],
      samples: (s) => (s.live.nodes
        ? s.live.nodes.flatMap((n) => AGENT_STATES.map((st) => ({ labels: { node: n.node, state: st }, value: n.agents[st] ?? 0 })))
        : s.live.dialer ? AGENT_STATES.map((st) => ({ labels: { node: nodeOf(), state: st }, value: s.live.agents.byState[st] ?? 0 })) : []),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_calls_in_progress', help: 'Calls in progress by campaign and phase, per Asterisk node (every node when the shared live state is read).', labelNames: ['node', ...CAMPAIGN, 'phase'],
      samples: (s) => {
        const perNode = s.live.nodes
          ? s.live.nodes.map((n) => ({ node: n.node, byCampaign: n.byCampaign }))
          : s.live.dialer ? [{ node: nodeOf(), byCampaign: s.live.callsInProgress.byCampaign }] : [];
        return perNode.flatMap((n) => n.byCampaign.flatMap((c) => Object.entries(c.phases).map(([phase, v]) => ({ labels: { node: n.node, ...camp(s, c.campaignId), phase }, value: v }))));
      },
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_node_calls_in_progress', help: 'Calls in progress per Asterisk node, every node (shared live state).', labelNames: ['node'],
      samples: (s) => (s.live.nodes ?? []).map((n) => ({ labels: { node: n.node }, value: n.callsInProgress })),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_node_owner', help: 'The engine driving each node (1 for the lease holder; no sample while none does).', labelNames: ['node', 'engine'],
      samples: (s) => (s.live.nodes ?? []).filter((n) => n.engine).map((n) => ({ labels: { node: n.node, engine: n.engine! }, value: 1 })),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_node_lease_epoch', help: 'The epoch of each node\'s lease as held now (it grows by one at every takeover).', labelNames: ['node'],
      samples: (s) => (s.live.nodes ?? []).filter((n) => n.epoch !== null).map((n) => ({ labels: { node: n.node }, value: n.epoch! })),
    });
    family(own, snap, {
      type: 'gauge', name: 'dialwell_node_drain', help: 'Each node\'s drain: 1 for its state (in-service, draining or drained).', labelNames: ['node', 'state'],
      samples: (s) => (s.live.nodes ?? []).map((n) => ({ labels: { node: n.node, state: n.drainState ?? 'in-service' }, value: 1 })),
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
