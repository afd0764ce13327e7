// Listen, whisper and stop on an agent's live call, from the supervisor's own phone (the API and
// the sound model: docs/supervision.md), and that phone's status. One list of live supervisions,
// read once and again after each action or when a supervised agent's call changes, serves every
// row of the agent grid. A supervisor whose linked phone is a browser phone has it running in
// this page (BrowserPhoneProvider, main.tsx): pressing Listen rings this browser, which answers.
import { useEffect, useState, useSyncExternalStore } from 'react';
import { api, ok, type Me } from '../api';
import type { LiveAgent } from '../live';
import { Btn } from '../ui';
import { BrowserPhoneStatus, useOwnPhone } from './BrowserPhone';

interface Supervision { id: string; supervisorUserId: string; agentId: string; callId: string; mode: 'listen' | 'whisper' }

let supervisions: Supervision[] = [];
let loading: Promise<void> | null = null;
const listeners = new Set<() => void>();

function refresh(): Promise<void> {
  loading ??= ok<{ supervisions: Supervision[] }>(api.GET('/api/v1/supervisions', {}))
    .then((r) => {
      supervisions = r.supervisions;
      for (const l of listeners) l();
    })
    .finally(() => (loading = null));
  return loading;
}

function subscribe(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function SupervisionButtons({ me, agent }: { me: Me; agent: LiveAgent }) {
  const list = useSyncExternalStore(subscribe, () => supervisions);
  const [problem, setProblem] = useState('');
  const [busy, setBusy] = useState(false);
  const mine = list.find((s) => s.supervisorUserId === me.userId && s.agentId === agent.agentId);
  // The server ends a supervision with its call: read the list again when the agent's call changes.
  useEffect(() => {
    void refresh().catch(() => undefined);
  }, [agent.callId]);

  const act = async (what: 'listen' | 'whisper' | 'stop') => {
    setBusy(true);
    setProblem('');
    const path = { params: { path: { id: agent.agentId } } };
    try {
      if (what === 'listen') await ok(api.POST('/api/v1/agents/{id}/call/listen', path));
      else if (what === 'whisper') await ok(api.POST('/api/v1/agents/{id}/call/whisper', path));
      else await ok(api.DELETE('/api/v1/agents/{id}/call/supervision', path));
    } catch (e) {
      setProblem((e as Error).message);
    } finally {
      setBusy(false);
      await refresh().catch(() => undefined);
    }
  };

  if (!mine && agent.state !== 'on-call') return null;
  return (
    <span className="row-actions">
      {mine ? <span role="status">{mine.mode === 'listen' ? 'Listening' : 'Whispering'}</span> : null}
      <Btn onPress={() => void act('listen')} isDisabled={busy || mine?.mode === 'listen'}>Listen to {agent.name}</Btn>
      <Btn onPress={() => void act('whisper')} isDisabled={busy || mine?.mode === 'whisper'}>Whisper to {agent.name}</Btn>
      {mine ? <Btn variant="danger" onPress={() => void act('stop')} isDisabled={busy}>Stop listening to {agent.name}</Btn> : null}
      {problem ? <span role="alert" className="notice error">{problem}</span> : null}
    </span>
  );
}

/** The agent grid's column for users who may supervise (calls.supervise). */
export const supervisionColumn = (me: Me) => ({ header: 'Listen', cell: (a: LiveAgent) => <SupervisionButtons me={me} agent={a} /> });

/** The supervisor's phone, above the grid: the browser phone's status, or which phone Dialwell calls. */
export function SupervisorPhone({ me }: { me: Me }) {
  const phone = useOwnPhone();
  if (!me.agentId || !phone) {
    return <p className="phone-status">Your phone: none linked. Listen and whisper call the phone linked to your user; ask an admin to link one.</p>;
  }
  if (phone.kind === 'checking') return <p className="phone-status">Your phone: checking…</p>;
  if (phone.kind === 'sip') return <p className="phone-status">Your phone: a SIP phone. Dialwell calls it when you press Listen or Whisper.</p>;
  return <BrowserPhoneStatus phone={phone} loggedIn={false} idle="no call (Listen or Whisper rings this browser)" />;
}
