// The supervisor's charts and agent moves: today's funnel (attempts, connected, effective
// conversations, successes) and the abandonment rate over the day against the campaign's cap,
// both from the reports API (GET /api/v1/reports/campaigns), each chart with its table; and moving
// an agent from one campaign to another (PUT /api/v1/campaigns/:id/agents on both campaigns).
import { useMemo, useState } from 'react';
import { api, ok } from '../api';
import { BarChart, LineChart } from '../Chart';
import { ApiForm, SelectField, useLoad } from '../ui';

export interface CampaignRow { id: string; name: string; state: string; dialMode: string; abandonCap: number }
interface ReportRow { campaignId: string; attempts: number; connected: number; effective: number; successes: number; abandonmentRate: number | null }

const startOfToday = () => {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
};
const pct = (v: number | null) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);

const campaignReport = (from: Date, to: Date, campaignId: string) =>
  ok<{ campaigns: ReportRow[] }>(api.GET('/api/v1/reports/campaigns', { params: { query: { from: from.toISOString(), to: to.toISOString(), campaignId } } }))
    .then((r) => r.campaigns[0]);

/**
 * `version` changes when the live tiles' figures change (a call placed or ended): only the point
 * for "now" is read again then; the finished hours are read once per campaign.
 */
export function DayCharts(props: { campaigns: CampaignRow[]; version: (campaignId: string) => string }) {
  const [chosen, setChosen] = useState('');
  const campaign = props.campaigns.find((c) => c.id === chosen) ?? props.campaigns.find((c) => c.state === 'running') ?? props.campaigns[0];
  // The day so far, hour by hour: the rate over [midnight, end of each hour) as regulators count it.
  const hours = useLoad(async () => {
    if (!campaign) return null;
    const from = startOfToday();
    const ends: Date[] = [];
    for (let t = from.getTime() + 3_600_000; t < Date.now(); t += 3_600_000) ends.push(new Date(t));
    return { ends, rows: await Promise.all(ends.map((to) => campaignReport(from, to, campaign.id))) };
  }, [campaign?.id]);
  const version = campaign ? props.version(campaign.id) : '';
  const current = useLoad(async () => {
    if (!campaign) return null;
    const now = new Date();
    return { end: now, row: await campaignReport(startOfToday(), now, campaign.id) };
  }, [campaign?.id, version]);
  const day = useMemo(() => ({
    ends: [...(hours.data?.ends ?? []), ...(current.data ? [current.data.end] : [])],
    rows: [...(hours.data?.rows ?? []), ...(current.data ? [current.data.row] : [])],
  }), [hours.data, current.data]);
  const today = current.data?.row;
  const x = useMemo(() => day.ends.map((d) => d.getTime() / 1000), [day]);
  const series = useMemo(() => campaign ? [
    { label: 'Abandonment rate (%)', values: day.rows.map((r) => (r?.abandonmentRate == null ? null : +(r.abandonmentRate * 100).toFixed(2))), color: '#b3261e' },
    { label: `Cap (%)`, values: day.rows.map(() => +(campaign.abandonCap * 100).toFixed(2)), color: '#555555' },
  ] : [], [day, campaign]);
  if (!campaign) return <p>No campaign yet.</p>;
  return (
    <>
      <div className="field inline">
        <label htmlFor="chart-campaign">Campaign for the charts</label>
        <select id="chart-campaign" value={campaign.id} onChange={(e) => setChosen(e.target.value)}>
          {props.campaigns.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </div>
      {hours.error ?? current.error ? <p role="alert">{hours.error ?? current.error}</p> : null}
      <div className="columns">
        <BarChart
          title={`Funnel today: ${campaign.name}`}
          categories={['Attempts', 'Connected', 'Effective conversations', 'Successes']}
          values={[today?.attempts ?? 0, today?.connected ?? 0, today?.effective ?? 0, today?.successes ?? 0]}
          valueHeader="Calls"
        />
        <LineChart
          title={`Abandonment rate over the day against its cap (${pct(campaign.abandonCap)}): ${campaign.name}`}
          x={x}
          series={series}
          format={(v) => (v == null ? '—' : `${v}%`)}
        />
      </div>
    </>
  );
}

export function MoveAgent(props: { campaigns: CampaignRow[] }) {
  const agents = useLoad(() => ok<{ agents: { id: string; name: string }[] }>(api.GET('/api/v1/agents')));
  // An agent can leave a completed campaign, not join one.
  const all = props.campaigns.map((c) => ({ value: c.id, label: c.name }));
  const open = props.campaigns.filter((c) => c.state !== 'completed').map((c) => ({ value: c.id, label: c.name }));
  return (
    <ApiForm label="Move an agent" submitLabel="Move" submit={async (d) => {
      const agentId = String(d.get('agentId') ?? '');
      const fromId = String(d.get('fromCampaignId') ?? '');
      const toId = String(d.get('toCampaignId') ?? '');
      const agentsOf = async (id: string) => (await ok<{ agentIds: string[] }>(api.GET('/api/v1/campaigns/{id}/agents', { params: { path: { id } } }))).agentIds;
      const put = (id: string, agentIds: string[]) => ok(api.PUT('/api/v1/campaigns/{id}/agents', { params: { path: { id } }, body: { agentIds } }));
      // Added to the new campaign first: a failure half-way leaves the agent serving both, never neither.
      await put(toId, [...new Set([...(await agentsOf(toId)), agentId])]);
      if (fromId && fromId !== toId) await put(fromId, (await agentsOf(fromId)).filter((a) => a !== agentId));
      const name = (id: string) => props.campaigns.find((c) => c.id === id)?.name ?? id;
      return `${agents.data?.agents.find((a) => a.id === agentId)?.name ?? 'The agent'} now serves ${name(toId)}${fromId && fromId !== toId ? ` instead of ${name(fromId)}` : ''}.`;
    }}>
      <SelectField name="agentId" label="Agent" required options={(agents.data?.agents ?? []).map((a) => ({ value: a.id, label: a.name }))} />
      <SelectField name="fromCampaignId" label="From campaign" options={[{ value: '', label: '(none: only add)' }, ...all]} />
      <SelectField name="toCampaignId" label="To campaign" required options={open} />
    </ApiForm>
  );
}
