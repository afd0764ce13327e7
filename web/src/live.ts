// Live state over Server-Sent Events (GET /api/v1/live/stream): a snapshot, then agent changes and
// campaign tiles as the server pushes them. EventSource reconnects by itself (the server ends each
// stream after a while so a revoked session stops being served).
import { useEffect, useState } from 'react';

export interface LiveAgent {
  agentId: string;
  name: string;
  state: string;
  since: string;
  callId: string | null;
  pauseReason: string | null;
}

export interface CampaignTile {
  campaignId: string;
  campaign: string;
  attempts: number;
  connected: number;
  effective: number;
  successes: number;
  abandoned: number;
  connectRate: number | null;
  abandonmentRate: number | null;
  abandonmentRate30d: number | null;
  abandonCap: number;
}

export interface LiveState {
  connected: boolean;
  at: string | null;
  agents: Map<string, LiveAgent>;
  callsInProgress: { total: number; byCampaign: { campaignId: string; phases: Record<string, number> }[] };
  campaigns: CampaignTile[];
  /** Calls in progress over time (for the chart), one point per tiles message. */
  series: { t: number; calls: number }[];
}

const empty: LiveState = { connected: false, at: null, agents: new Map(), callsInProgress: { total: 0, byCampaign: [] }, campaigns: [], series: [] };

export function useLive(): LiveState {
  const [state, setState] = useState<LiveState>(empty);
  useEffect(() => {
    const es = new EventSource('/api/v1/live/stream');
    es.addEventListener('snapshot', (e) => {
      const v = JSON.parse((e as MessageEvent<string>).data) as { at: string; agents: { list: LiveAgent[] }; callsInProgress?: LiveState['callsInProgress']; campaigns?: CampaignTile[] };
      setState((s) => ({
        ...s, connected: true, at: v.at,
        agents: new Map(v.agents.list.map((a) => [a.agentId, a])),
        callsInProgress: v.callsInProgress ?? s.callsInProgress,
        campaigns: v.campaigns ?? s.campaigns,
        series: [...s.series, { t: Date.parse(v.at) / 1000, calls: v.callsInProgress?.total ?? 0 }].slice(-600),
      }));
    });
    es.addEventListener('agent', (e) => {
      const a = JSON.parse((e as MessageEvent<string>).data) as LiveAgent;
      setState((s) => {
        const agents = new Map(s.agents);
        if (a.state === 'logged-out') agents.delete(a.agentId);
        else agents.set(a.agentId, a);
        return { ...s, agents };
      });
    });
    es.addEventListener('tiles', (e) => {
      const t = JSON.parse((e as MessageEvent<string>).data) as { at: string; callsInProgress: LiveState['callsInProgress']; campaigns: CampaignTile[] };
      setState((s) => ({
        ...s, at: t.at, callsInProgress: t.callsInProgress, campaigns: t.campaigns,
        series: [...s.series, { t: Date.parse(t.at) / 1000, calls: t.callsInProgress.total }].slice(-600),
      }));
    });
    es.onerror = () => setState((s) => ({ ...s, connected: false }));
    es.onopen = () => setState((s) => ({ ...s, connected: true }));
    return () => es.close();
  }, []);
  return state;
}

/** Seconds since an instant, re-rendered every second by the caller's clock. */
export function elapsed(since: string | null, now: number): string {
  if (!since) return '—';
  const s = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h > 0 ? `${h}:` : ''}${String(m).padStart(h > 0 ? 2 : 1, '0')}:${String(sec).padStart(2, '0')}`;
}

export function useClock(ms = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
