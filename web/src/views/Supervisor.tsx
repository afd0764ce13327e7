// The supervisor's wall: the live agent grid and campaign tiles (pushed over the live stream,
// within a second of a change), a chart of calls in progress, today's funnel per campaign, and
// campaign and agent controls (start, pause, complete; pause or log out an agent, hang up their
// call); the day's charts, moving agents, and each campaign's progress and contacts (Progress.tsx).
import { useMemo, useState } from 'react';
import { api, ok, type Me } from '../api';
import { LineChart } from '../Chart';
import { elapsed, useClock, useLive, type LiveAgent } from '../live';
import { Btn, DataTable, Section, useLoad } from '../ui';
import { CampaignProgress, ContactView } from './Progress';
import { supervisionColumn, SupervisorPhone } from './SupervisionButtons';
import { DayCharts, MoveAgent, type CampaignRow } from './SupervisorTools';

type Campaign = CampaignRow;
interface AgentToday { agentId: string; connected: number; talkUtilisation: number | null }
/** The seed's talk-utilisation ceiling: above it agents burn out (flagged in the grid). */
const utilisationCeiling = 0.74;
const pct = (v: number | null) => (v == null ? '—' : `${(v * 100).toFixed(1)}%`);

export default function SupervisorView({ me, sub, id }: { me: Me; sub?: string | undefined; id?: string | undefined }) {
  if (sub === 'campaign' && id) return <><h1>Supervisor: campaign</h1><CampaignProgress id={id} /></>;
  if (sub === 'contact' && id) return <><h1>Supervisor: contact</h1><ContactView id={id} /></>;
  return <Wall me={me} />;
}

function Wall({ me }: { me: Me }) {
  const live = useLive();
  const now = useClock();
  const [message, setMessage] = useState<string>('');
  const campaigns = useLoad(() => ok<{ campaigns: Campaign[] }>(api.GET('/api/v1/campaigns', {})));
  const control = me.permissions.includes('agents.control');
  const callControl = me.permissions.includes('calls.control');
  const agents = useMemo(() => [...live.agents.values()].sort((a, b) => a.name.localeCompare(b.name)), [live.agents]);
  // Today's figures per agent, read again when a call ends for someone (an agent enters wrap-up), not on a timer.
  const wrapUps = agents.filter((a) => a.state === 'wrap-up').map((a) => a.agentId).join(',');
  const today = useLoad(() => {
    const from = new Date();
    from.setUTCHours(0, 0, 0, 0);
    return ok<{ agents: AgentToday[] }>(api.GET('/api/v1/reports/agents', { params: { query: { from: from.toISOString() } } }));
  }, [wrapUps]);
  const todayOf = (id: string) => today.data?.agents.find((r) => r.agentId === id);
  const x = useMemo(() => live.series.map((p) => p.t), [live.series]);
  const series = useMemo(() => [{ label: 'Calls in progress', values: live.series.map((p) => p.calls), color: '#1f5fbf' }], [live.series]);

  const run = async (label: string, f: () => Promise<unknown>) => {
    try {
      await f();
      setMessage(`${label}: done.`);
      campaigns.reload();
    } catch (e) {
      setMessage(`${label}: ${(e as Error).message}`);
    }
  };
  const agentAction = (a: LiveAgent, what: 'pause' | 'logout') =>
    run(`${what === 'pause' ? 'Pause' : 'Log out'} ${a.name}`, () =>
      what === 'pause'
        ? ok(api.POST('/api/v1/agents/{id}/pause', { params: { path: { id: a.agentId } }, body: { reason: 'supervisor' } }))
        : ok(api.POST('/api/v1/agents/{id}/logout', { params: { path: { id: a.agentId } } })));
  const campaignAction = (c: Campaign, what: 'start' | 'pause' | 'complete') =>
    run(`${what} ${c.name}`, () => {
      const o = { params: { path: { id: c.id } } };
      return ok(what === 'start' ? api.POST('/api/v1/campaigns/{id}/start', o) : what === 'pause' ? api.POST('/api/v1/campaigns/{id}/pause', o) : api.POST('/api/v1/campaigns/{id}/complete', o));
    });

  return (
    <>
      <h1>Supervisor</h1>
      <p role="status" aria-live="polite" className="notice">{message}</p>
      <p className="hint">Live updates {live.connected ? 'on' : 'reconnecting…'}{live.at ? `, as of ${new Date(live.at).toLocaleTimeString()}` : ''}.</p>
      {me.permissions.includes('calls.supervise') ? <SupervisorPhone me={me} /> : null}
      <Section title="Agents">
        <DataTable
          caption="Logged-in agents"
          rows={agents}
          rowKey={(a) => a.agentId}
          empty="No agent is logged in."
          columns={[
            { header: 'Agent', cell: (a) => a.name },
            { header: 'State', cell: (a) => <span className={`badge state-${a.state}`} data-testid={`agent-state-${a.agentId}`}>{a.state}</span> },
            { header: 'Reason', cell: (a) => a.pauseReason ?? '' },
            { header: 'Time in state', cell: (a) => elapsed(a.since, now) },
            { header: 'On a call', cell: (a) => (a.callId ? 'yes' : 'no') },
            { header: 'Calls today', cell: (a) => todayOf(a.agentId)?.connected ?? 0 },
            {
              header: 'Talk utilisation',
              cell: (a) => {
                const u = todayOf(a.agentId)?.talkUtilisation ?? null;
                return <span className={u != null && u > utilisationCeiling ? 'over' : ''}>{pct(u)}{u != null && u > utilisationCeiling ? ' (above 74%)' : ''}</span>;
              },
            },
            ...(me.permissions.includes('calls.supervise') ? [supervisionColumn(me)] : []),
            ...(control ? [{
              header: 'Actions',
              cell: (a: LiveAgent) => (
                <span className="row-actions">
                  <Btn onPress={() => void agentAction(a, 'pause')} isDisabled={a.state === 'paused'}>Pause {a.name}</Btn>
                  <Btn variant="danger" onPress={() => void agentAction(a, 'logout')}>Log out {a.name}</Btn>
                  {callControl && a.callId ? (
                    <Btn variant="danger" onPress={() => void run(`Hang up ${a.name}'s call`, () => ok(api.POST('/api/v1/agents/{id}/call/hangup', { params: { path: { id: a.agentId } } })))}>Hang up {a.name}&apos;s call</Btn>
                  ) : null}
                </span>
              ),
            }] : []),
          ]}
        />
      </Section>
      <Section title="Running campaigns">
        <ul className="tiles">
          {live.campaigns.length === 0 ? <li>No campaign is running.</li> : null}
          {live.campaigns.map((c) => {
            const calls = live.callsInProgress.byCampaign.find((b) => b.campaignId === c.campaignId);
            const inProgress = calls ? Object.values(calls.phases).reduce((a, b) => a + b, 0) : 0;
            const over = c.abandonmentRate30d != null && c.abandonmentRate30d > c.abandonCap;
            return (
              <li key={c.campaignId} className="tile">
                <h3>{c.campaign}</h3>
                <dl>
                  <dt>Calls in progress</dt><dd>{inProgress}</dd>
                  <dt>Ready agents</dt><dd>{c.readyAgents ?? agents.filter((a) => a.state === 'ready').length}</dd>
                  <dt>Dial level (calls per working agent)</dt><dd data-testid={`dial-level-${c.campaignId}`}>{c.dialLevel == null ? '—' : c.dialLevel.toFixed(2)}</dd>
                  <dt>Attempts today</dt><dd>{c.attempts}</dd>
                  <dt>Connect rate</dt><dd>{pct(c.connectRate)}</dd>
                  <dt>Abandoned today</dt><dd>{pct(c.abandonmentRate)}</dd>
                  <dt>Abandoned, 30 days</dt><dd className={over ? 'over' : ''}>{pct(c.abandonmentRate30d)} (cap {pct(c.abandonCap)}){over ? ' — over the cap' : ''}</dd>
                </dl>
              </li>
            );
          })}
        </ul>
      </Section>
      <Section title="Today">
        <LineChart title="Calls in progress" x={x} series={series} />
        <DataTable
          caption="Funnel today per running campaign"
          rows={live.campaigns}
          rowKey={(c) => c.campaignId}
          columns={[
            { header: 'Campaign', cell: (c) => c.campaign },
            { header: 'Attempts', cell: (c) => c.attempts },
            { header: 'Connected', cell: (c) => c.connected },
            { header: 'Effective conversations', cell: (c) => c.effective },
            { header: 'Successes', cell: (c) => c.successes },
          ]}
        />
      </Section>
      <Section title="Campaigns">
        {campaigns.error ? <p role="alert">{campaigns.error}</p> : null}
        <DataTable
          caption="All campaigns"
          rows={campaigns.data?.campaigns ?? []}
          rowKey={(c) => c.id}
          columns={[
            { header: 'Campaign', cell: (c) => c.name },
            { header: 'State', cell: (c) => c.state },
            { header: 'Progress', cell: (c) => <a href={`#/supervisor/campaign/${c.id}`}>Progress of {c.name}</a> },
            { header: 'Mode', cell: (c) => c.dialMode },
            {
              header: 'Actions',
              cell: (c) => (
                <span className="row-actions">
                  <Btn onPress={() => void campaignAction(c, 'start')} isDisabled={c.state === 'running' || c.state === 'completed'}>Start {c.name}</Btn>
                  <Btn onPress={() => void campaignAction(c, 'pause')} isDisabled={c.state !== 'running'}>Pause {c.name}</Btn>
                  <Btn variant="danger" onPress={() => void campaignAction(c, 'complete')} isDisabled={c.state === 'completed'}>Complete {c.name}</Btn>
                </span>
              ),
            },
          ]}
        />
      </Section>
      <Section title="Charts">
        <DayCharts campaigns={campaigns.data?.campaigns ?? []} version={(id) => {
          const t = live.campaigns.find((c) => c.campaignId === id);
          return t ? `${t.attempts}/${t.connected}/${t.effective}/${t.successes}/${t.abandoned}` : '';
        }} />
      </Section>
      {me.permissions.includes('campaigns.control') ? (
        <Section title="Move an agent between campaigns">
          <MoveAgent campaigns={campaigns.data?.campaigns ?? []} />
        </Section>
      ) : null}
    </>
  );
}
