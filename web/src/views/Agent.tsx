// The agent's screen: a state bar with its timer and keyboard shortcuts (Alt+L log in, Alt+R
// ready, Alt+P pause, Alt+D disposition), the current call's contact card (number masked unless
// the user may view numbers) with the campaign's script, and the wrap-up disposition form with a
// callback. State changes arrive over the live stream; the card is read when the call changes.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ok, type Me } from '../api';
import { elapsed, useClock, useLive } from '../live';
import { ApiForm, Btn, CheckField, Field, Section, SelectField, bodyOf } from '../ui';
import { BrowserPhoneStatus, useAgentPhone } from './BrowserPhone';
import { CallControls, ConsultOffer, type Consult, type TransferTarget } from './CallControls';
import { Preview } from './Preview';

interface Script { opening?: string; needs?: string; response?: string; proposal?: string; close?: string; farewell?: string; questionnaire?: string[] }
interface AgentScreen {
  agentId: string;
  state: string;
  since: string | null;
  callId: string | null;
  pauseReason: string | null;
  onHold?: boolean;
  transferTargets?: TransferTarget[];
  consult?: Consult | null;
  current: null | {
    callId: string; attemptId: string; campaign: string; script: Script | null;
    /** Whether this agent disposes the call (after a transfer to another agent, that agent does). */
    disposesHere?: boolean;
    /** The agent's name or the number the call was transferred to. */
    transferredTo?: string | null;
    contact: { id: string; name: string | null; phone: string; segment: string | null; attributes: Record<string, unknown> | null };
  };
}

const stateLabels: Record<string, string> = {
  'logged-out': 'Logged out', 'logging-in': 'Calling your phone…', ready: 'Ready', reserved: 'Customer coming', 'on-call': 'On call', 'wrap-up': 'Wrap-up', paused: 'Paused',
};
const pauseReasons = ['break', 'lunch', 'training', 'meeting', 'technical'];
const scriptSteps: [keyof Script, string][] = [['opening', 'Opening'], ['needs', 'Needs'], ['response', 'Response'], ['proposal', 'Proposal'], ['close', 'Close'], ['farewell', 'Farewell']];

export default function AgentView({ me }: { me: Me }) {
  const agentId = me.agentId!;
  const live = useLive();
  const now = useClock();
  const [screen, setScreen] = useState<AgentScreen | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState(pauseReasons[0]!);
  // A preview card held for this agent: the pool says "reserved", the agent reads a contact.
  const [previewing, setPreviewing] = useState(false);
  const dispositionRef = useRef<HTMLDivElement>(null);
  const phone = useAgentPhone();

  const refresh = useCallback(async () => {
    try {
      setScreen(await ok<AgentScreen>(api.GET('/api/v1/agents/{id}/state', { params: { path: { id: agentId } } })));
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  }, [agentId]);
  const mine = live.agents.get(agentId);
  // Re-read the screen when the pushed state or call changes (and once at start).
  useEffect(() => void refresh(), [refresh, mine?.state, mine?.callId]);
  // A consultation's answer (accepted, refused, the number answering) changes no agent state of
  // this agent's own: re-read the screen while one is in progress (bounded by its deadline).
  const consulting = !!screen?.consult;
  useEffect(() => {
    if (!consulting) return;
    const t = setInterval(() => void refresh(), 1500);
    return () => clearInterval(t);
  }, [consulting, refresh]);

  const act = useCallback(async (what: 'login' | 'ready' | 'logout' | 'pause') => {
    try {
      const path = { params: { path: { id: agentId } } };
      // A browser phone must be registered before Dialwell calls it.
      if (what === 'login') await phone.beforeLogin();
      if (what === 'login') await ok(api.POST('/api/v1/agents/{id}/login', path));
      if (what === 'ready') await ok(api.POST('/api/v1/agents/{id}/ready', path));
      if (what === 'logout') await ok(api.POST('/api/v1/agents/{id}/logout', path));
      if (what === 'pause') await ok(api.POST('/api/v1/agents/{id}/pause', { ...path, body: { reason } }));
      await refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  }, [agentId, reason, refresh, phone.beforeLogin]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!e.altKey || e.ctrlKey || e.metaKey) return;
      const k = e.key.toLowerCase();
      if (k === 'l') void act('login');
      else if (k === 'r') void act('ready');
      else if (k === 'p') void act('pause');
      else if (k === 'd') dispositionRef.current?.querySelector<HTMLElement>('input, select, textarea')?.focus();
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act]);

  const state = mine?.state ?? screen?.state ?? 'logged-out';
  const since = mine?.since ?? screen?.since ?? null;
  const current = screen?.current ?? null;
  const loggedIn = state !== 'logged-out';

  return (
    <>
      <h1>My calls</h1>
      <section aria-label="Your state" className={`state-bar state-${state}`}>
        <p className="state" role="status" aria-live="polite">
          <strong>{state === 'reserved' && previewing ? 'Previewing a contact' : state === 'reserved' && screen?.consult ? 'Consultation' : stateLabels[state] ?? state}</strong>
          {state === 'paused' && (mine?.pauseReason ?? screen?.pauseReason) ? ` (${mine?.pauseReason ?? screen?.pauseReason})` : ''}
        </p>
        <p className="timer" aria-label="Time in this state">{elapsed(since, now)}</p>
        <div className="actions">
          {!loggedIn ? <Btn variant="primary" onPress={() => void act('login')} aria-keyshortcuts="Alt+L">Log in (Alt+L)</Btn> : null}
          {loggedIn ? <Btn variant="primary" onPress={() => void act('ready')} isDisabled={state === 'ready' || state === 'on-call' || state === 'reserved'} aria-keyshortcuts="Alt+R">Ready (Alt+R)</Btn> : null}
          {loggedIn ? (
            <>
              <label htmlFor="pause-reason">Pause reason</label>
              <select id="pause-reason" value={reason} onChange={(e) => setReason(e.target.value)}>
                {pauseReasons.map((r) => <option key={r} value={r}>{r}</option>)}
              </select>
              <Btn onPress={() => void act('pause')} isDisabled={state === 'paused' || state === 'on-call' || state === 'reserved'} aria-keyshortcuts="Alt+P">Pause (Alt+P)</Btn>
              <Btn variant="danger" onPress={() => void act('logout')}>Log out</Btn>
            </>
          ) : null}
        </div>
        {phone.kind === 'webrtc' || phone.kind === 'failed' ? <BrowserPhoneStatus phone={phone} loggedIn={loggedIn} /> : null}
        {phone.kind === 'sip' ? <p className="phone-status">Phone: {state === 'logged-out' ? 'not called' : state === 'logging-in' ? 'ringing' : 'connected (Dialwell holds the line)'}</p> : null}
        <p className="live-status">Live updates {live.connected ? 'on' : 'reconnecting'}</p>
        {error ? <p role="alert" className="notice error">{error}</p> : null}
      </section>

      {current ? (
        <div className="columns">
          <Section title="Current call">
            <dl className="card-list">
              <dt>Contact</dt><dd>{current.contact.name ?? '(no name)'}</dd>
              <dt>Number</dt><dd>{current.contact.phone}</dd>
              <dt>Campaign</dt><dd>{current.campaign}</dd>
              {current.contact.segment ? <><dt>Segment</dt><dd>{current.contact.segment}</dd></> : null}
            </dl>
            <CallControls agentId={agentId} state={state} onHold={screen?.onHold ?? false} targets={screen?.transferTargets ?? []} consult={screen?.consult ?? null} onChange={refresh} />
            <h3>Script</h3>
            {current.script ? (
              <ol className="script">
                {scriptSteps.filter(([k]) => current.script?.[k]).map(([k, label]) => <li key={k}><strong>{label}:</strong> {String(current.script?.[k])}</li>)}
              </ol>
            ) : <p>This campaign has no script.</p>}
            {current.script?.questionnaire?.length ? (
              <>
                <h3>If the customer declines</h3>
                <ul>{current.script.questionnaire.map((q) => <li key={q}>{q}</li>)}</ul>
              </>
            ) : null}
          </Section>
          <div ref={dispositionRef}>
            <Section title="Disposition">
              {current.disposesHere === false ? (
                <p className="notice">You transferred this call to {current.transferredTo ?? 'another agent'}, who disposes it. Press Ready (Alt+R) when you are done.</p>
              ) : (
                <>
                  {current.transferredTo ? <p className="notice">Transferred to {current.transferredTo}: the disposition is yours.</p> : null}
                  <Disposition attemptId={current.attemptId} onDone={refresh} />
                </>
              )}
            </Section>
          </div>
        </div>
      ) : (
        <>
          {screen?.consult?.role === 'target' ? (
            <Section title="Consultation"><ConsultOffer agentId={agentId} consult={screen.consult} onChange={refresh} /></Section>
          ) : null}
          <Section title="Current call"><p>No call right now. {state === 'ready' ? 'The next customer comes to you.' : ''}</p></Section>
          {(state === 'ready' || state === 'reserved') && !screen?.consult ? <Preview agentId={agentId} onChange={refresh} onCard={setPreviewing} /> : null}
        </>
      )}
    </>
  );
}

function Disposition(props: { attemptId: string; onDone: () => Promise<void> }) {
  return (
    <ApiForm
      label="Disposition"
      submitLabel="Save disposition"
      submit={async (d) => {
        const b = bodyOf(d, { booleans: ['refused', 'doNotCall'] });
        // Named as the server names them (body.callback.at), so its field errors land next to them.
        const { 'callback.at': callbackAt, 'callback.agent': callbackAgent, 'callback.note': callbackNote, ...rest } = b as Record<string, string>;
        const body = {
          ...(rest as unknown as { result: string }),
          ...(callbackAt ? { callback: { at: new Date(callbackAt).toISOString(), agent: callbackAgent ?? 'me', ...(callbackNote ? { note: callbackNote } : {}) } } : {}),
        };
        await ok(api.POST('/api/v1/attempts/{id}/disposition', { params: { path: { id: props.attemptId } }, body }));
        await props.onDone();
        return 'Disposition saved.';
      }}
    >
      <Field name="result" label="Result" required description="A short code: sale, not-interested, callback-requested…" />
      <Field name="product" label="Product" />
      <Field name="feedback" label="Feedback" multiline />
      <CheckField name="refused" label="The customer refused" />
      <CheckField name="doNotCall" label="The customer asked not to be called again" />
      <Field name="complaint" label="Complaint (if any)" />
      <fieldset>
        <legend>Callback</legend>
        <Field name="callback.at" label="Call back at" type="datetime-local" />
        <SelectField name="callback.agent" label="Who calls back" options={[{ value: 'me', label: 'Me' }, { value: 'anyone', label: 'Anyone' }]} />
        <Field name="callback.note" label="Note for the callback" />
      </fieldset>
    </ApiForm>
  );
}
