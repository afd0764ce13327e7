// Call control for the agent's current call: hold / resume, hang up, a blind transfer or an
// attended one (consult, then complete or cancel) to a ready agent or to an outside number
// (POST /api/v1/agents/:id/call/...). The consulted agent accepts or refuses here too
// (ConsultOffer). Each answers once Asterisk has done it, so the buttons wait for the answer and
// say what happened or, with the server's own sentence, why not.
import { useState } from 'react';
import { api, ok } from '../api';
import { Btn } from '../ui';

export interface TransferTarget { agentId: string; name: string }
export interface Consult {
  role: 'from' | 'target';
  fromName: string;
  target: 'agent' | 'number';
  toName: string;
  phase: 'offered' | 'talking';
  mode: 'attended' | 'blind';
}

function useRun(onChange: () => Promise<void>) {
  const [message, setMessage] = useState<{ text: string; error: boolean }>({ text: '', error: false });
  const [busy, setBusy] = useState(false);
  const run = async (label: string, f: () => Promise<unknown>) => {
    if (busy) return;
    setBusy(true);
    setMessage({ text: `${label}…`, error: false });
    try {
      await f();
      setMessage({ text: `${label}: done.`, error: false });
      await onChange();
    } catch (e) {
      setMessage({ text: `${label}: ${(e as Error).message}`, error: true });
    } finally {
      setBusy(false);
    }
  };
  const status = <p role={message.error ? 'alert' : 'status'} aria-live="polite" className={`notice${message.error ? ' error' : ''}`}>{message.text}</p>;
  return { run, busy, status };
}

export function CallControls(props: { agentId: string; state: string; onHold: boolean; targets: TransferTarget[]; consult: Consult | null; onChange: () => Promise<void> }) {
  const { run, busy, status } = useRun(props.onChange);
  const [to, setTo] = useState('');
  const [number, setNumber] = useState('');
  const path = { params: { path: { id: props.agentId } } };
  const live = props.state === 'on-call';
  const c = props.consult?.role === 'from' ? props.consult : null;
  const target = props.targets.find((t) => t.agentId === to) ?? props.targets[0];
  const post = (url: '/api/v1/agents/{id}/call/transfer' | '/api/v1/agents/{id}/call/consult', body: { toAgentId: string } | { number: string }) => ok(api.POST(url, { ...path, body }));
  return (
    <div className="call-controls" role="group" aria-label="Call controls">
      <div className="row-actions">
        {props.onHold && !c ? (
          <Btn onPress={() => void run('Resume', () => ok(api.POST('/api/v1/agents/{id}/call/resume', path)))} isDisabled={!live || busy}>Resume the customer</Btn>
        ) : (
          <Btn onPress={() => void run('Hold', () => ok(api.POST('/api/v1/agents/{id}/call/hold', path)))} isDisabled={!live || busy || !!c}>Hold the customer</Btn>
        )}
        <Btn variant="danger" onPress={() => void run('Hang up', () => ok(api.POST('/api/v1/agents/{id}/call/hangup', path)))} isDisabled={!live || busy}>Hang up</Btn>
      </div>
      {live && c ? (
        <div role="group" aria-label="Consultation" className="consultation">
          <p className="notice">
            {c.phase === 'offered'
              ? (c.target === 'agent' ? `Waiting for ${c.toName} to accept the consultation…` : `Calling ${c.toName}…`)
              : `Talking with ${c.toName}. The customer is on hold.`}
          </p>
          <div className="row-actions">
            <Btn variant="primary" onPress={() => void run(`Transfer to ${c.toName}`, () => ok(api.POST('/api/v1/agents/{id}/call/consult/complete', path)))} isDisabled={busy || c.phase !== 'talking'}>Complete transfer</Btn>
            <Btn onPress={() => void run('Cancel the consultation', () => ok(api.POST('/api/v1/agents/{id}/call/consult/cancel', path)))} isDisabled={busy}>Cancel consultation</Btn>
          </div>
        </div>
      ) : null}
      {live && !c ? (
        <>
          <div className="inline-form">
            <label htmlFor="transfer-to">Transfer to</label>
            <select id="transfer-to" value={target?.agentId ?? ''} onChange={(e) => setTo(e.target.value)} disabled={props.targets.length === 0}>
              {props.targets.length === 0 ? <option value="">(no other agent is ready)</option> : null}
              {props.targets.map((t) => <option key={t.agentId} value={t.agentId}>{t.name}</option>)}
            </select>
            <Btn onPress={() => target && void run(`Transfer to ${target.name}`, () => post('/api/v1/agents/{id}/call/transfer', { toAgentId: target.agentId }))} isDisabled={!target || busy}>Transfer (blind)</Btn>
            <Btn onPress={() => target && void run(`Consult ${target.name}`, () => post('/api/v1/agents/{id}/call/consult', { toAgentId: target.agentId }))} isDisabled={!target || busy}>Consult first</Btn>
          </div>
          <form className="inline-form" onSubmit={(e) => e.preventDefault()}>
            <label htmlFor="transfer-number">Outside number</label>
            <input id="transfer-number" type="tel" inputMode="tel" placeholder="+442071234567" value={number} onChange={(e) => setNumber(e.target.value.trim())} aria-describedby="transfer-number-help" />
            <span id="transfer-number-help" className="hint">E.164: + country code and number</span>
            <Btn onPress={() => void run(`Transfer to ${number}`, () => post('/api/v1/agents/{id}/call/transfer', { number }))} isDisabled={!number || busy}>Transfer to number</Btn>
            <Btn onPress={() => void run(`Consult ${number}`, () => post('/api/v1/agents/{id}/call/consult', { number }))} isDisabled={!number || busy}>Call number first</Btn>
          </form>
        </>
      ) : null}
      {props.onHold && !c ? <p className="notice">The customer is on hold and hears music.</p> : null}
      {status}
    </div>
  );
}

/** The consulted agent's side: another agent asks to talk before handing a customer over. */
export function ConsultOffer(props: { agentId: string; consult: Consult; onChange: () => Promise<void> }) {
  const { run, busy, status } = useRun(props.onChange);
  const path = { params: { path: { id: props.agentId } } };
  const c = props.consult;
  return (
    <div className="call-controls" role="group" aria-label="Consultation">
      <p className="notice">
        {c.phase === 'offered' ? `${c.fromName} asks to consult you before transferring a customer.` : `Talking with ${c.fromName}; their customer is on hold and comes to you if they complete the transfer.`}
      </p>
      <div className="row-actions">
        {c.phase === 'offered' ? <Btn variant="primary" onPress={() => void run('Accept', () => ok(api.POST('/api/v1/agents/{id}/call/consult/accept', path)))} isDisabled={busy}>Accept</Btn> : null}
        <Btn onPress={() => void run(c.phase === 'offered' ? 'Refuse' : 'Leave', () => ok(api.POST('/api/v1/agents/{id}/call/consult/cancel', path)))} isDisabled={busy}>{c.phase === 'offered' ? 'Refuse' : 'Leave consultation'}</Btn>
      </div>
      {status}
    </div>
  );
}
