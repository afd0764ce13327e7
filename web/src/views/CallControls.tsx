// Call control for the agent's current call: hold / resume, hang up, and blind transfer to a
// ready agent (POST /api/v1/agents/:id/call/{hold,resume,hangup,transfer}). Each answers once
// Asterisk has done it, so the buttons wait for the answer and say what happened or why not.
import { useState } from 'react';
import { api, ok } from '../api';
import { Btn } from '../ui';

export interface TransferTarget { agentId: string; name: string }

export function CallControls(props: { agentId: string; state: string; onHold: boolean; targets: TransferTarget[]; onChange: () => Promise<void> }) {
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const [to, setTo] = useState('');
  const path = { params: { path: { id: props.agentId } } };
  const live = props.state === 'on-call';
  const run = async (label: string, f: () => Promise<unknown>) => {
    if (busy) return;
    setBusy(true);
    try {
      await f();
      setMessage(`${label}: done.`);
      await props.onChange();
    } catch (e) {
      setMessage(`${label}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const target = props.targets.find((t) => t.agentId === to) ?? props.targets[0];
  return (
    <div className="call-controls" role="group" aria-label="Call controls">
      <div className="row-actions">
        {props.onHold ? (
          <Btn onPress={() => void run('Resume', () => ok(api.POST('/api/v1/agents/{id}/call/resume', path)))} isDisabled={!live || busy}>Resume the customer</Btn>
        ) : (
          <Btn onPress={() => void run('Hold', () => ok(api.POST('/api/v1/agents/{id}/call/hold', path)))} isDisabled={!live || busy}>Hold the customer</Btn>
        )}
        <Btn variant="danger" onPress={() => void run('Hang up', () => ok(api.POST('/api/v1/agents/{id}/call/hangup', path)))} isDisabled={!live || busy}>Hang up</Btn>
      </div>
      {live ? (
        <div className="inline-form">
          <label htmlFor="transfer-to">Transfer to</label>
          <select id="transfer-to" value={target?.agentId ?? ''} onChange={(e) => setTo(e.target.value)} disabled={props.targets.length === 0}>
            {props.targets.length === 0 ? <option value="">(no other agent is ready)</option> : null}
            {props.targets.map((t) => <option key={t.agentId} value={t.agentId}>{t.name}</option>)}
          </select>
          <Btn
            onPress={() => target && void run(`Transfer to ${target.name}`, () => ok(api.POST('/api/v1/agents/{id}/call/transfer', { ...path, body: { toAgentId: target.agentId } })))}
            isDisabled={!target || busy}
          >Transfer (blind)</Btn>
        </div>
      ) : null}
      {props.onHold ? <p className="notice">The customer is on hold and hears music.</p> : null}
      <p role="status" aria-live="polite" className="notice">{message}</p>
    </div>
  );
}
