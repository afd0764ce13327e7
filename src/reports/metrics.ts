// What GET /metrics exposes: calls by campaign and outcome since the start (counters), today's
// funnel, connect rate and average handle time per campaign, the regulator's 30-day abandonment
// rate, and, where the dialer runs in this process, agents by state and calls in progress.
import type { Db } from '../db/database.js';
import type { Dialer } from '../dialer/dialer.js';
import { Exposition, type Labels } from './prometheus.js';
import type { ReportSettings } from './figures.js';
import { callsByOutcome, campaignsById } from './reports.repository.js';
import { liveView } from './reports.service.js';

export async function renderMetrics(db: Db, dialer: Dialer | undefined, s: ReportSettings, now = new Date()): Promise<string> {
  const [byOutcome, live] = await Promise.all([callsByOutcome(db), liveView(db, dialer, s, now)]);
  const names = new Map((await campaignsById(db, [...new Set(byOutcome.map((r) => r.campaignId))])).map((c) => [c.id, c.name]));
  for (const c of live.campaigns) names.set(c.campaignId, c.campaign);
  const camp = (id: string): Labels => ({ campaign_id: id, campaign: names.get(id) ?? '' });
  const out = new Exposition();
  out.family('dialwell_calls_total', 'counter', 'Calls ended, by campaign and outcome.',
    byOutcome.map((r) => ({ labels: { ...camp(r.campaignId), outcome: r.outcome }, value: r.n })));
  const stages = ['attempts', 'liveAnswered', 'connected', 'effective', 'successes', 'abandoned'] as const;
  out.family('dialwell_campaign_today_calls', 'gauge', 'Running campaigns since midnight UTC: the funnel by stage (see README, Reports).',
    live.campaigns.flatMap((c) => stages.map((st) => ({ labels: { ...camp(c.campaignId), stage: st }, value: c[st] }))));
  out.family('dialwell_campaign_connect_rate', 'gauge', 'Running campaigns since midnight UTC: connected / attempts.',
    live.campaigns.map((c) => ({ labels: camp(c.campaignId), value: c.connectRate })));
  out.family('dialwell_campaign_average_handle_seconds', 'gauge', 'Running campaigns since midnight UTC: (talk + wrap-up) / connected calls.',
    live.campaigns.map((c) => ({ labels: camp(c.campaignId), value: c.averageHandleSeconds })));
  out.family('dialwell_campaign_abandonment_rate', 'gauge', 'Running campaigns: abandoned / live-answered calls as regulators count it.',
    live.campaigns.flatMap((c) => [
      { labels: { ...camp(c.campaignId), window: '30d' }, value: c.abandonmentRate30d },
      { labels: { ...camp(c.campaignId), window: 'today' }, value: c.abandonmentRate },
    ]));
  out.family('dialwell_campaign_abandonment_cap', 'gauge', 'Running campaigns: the abandonment rate the predictive pacer holds under.',
    live.campaigns.map((c) => ({ labels: camp(c.campaignId), value: c.abandonCap })));
  if (live.dialer) {
    const states = ['ready', 'reserved', 'on-call', 'wrap-up', 'paused', 'logging-in'];
    out.family('dialwell_agents', 'gauge', 'Logged-in agents by state (this process\'s dialer).',
      states.map((st) => ({ labels: { state: st }, value: live.agents.byState[st] ?? 0 })));
    out.family('dialwell_calls_in_progress', 'gauge', 'Calls in progress by campaign and phase (this process\'s dialer).',
      live.callsInProgress.byCampaign.flatMap((c) => Object.entries(c.phases).map(([phase, n]) => ({ labels: { ...camp(c.campaignId), phase }, value: n }))));
  }
  return out.toString();
}
