// Preview mode: a ready agent asks for the next contact of a running preview campaign (it is held
// for them: POST /api/v1/agents/:id/preview), reads the card, then dials it or skips it
// (…/preview/:attemptId/dial | skip). Skipping marks the attempt skipped (agent-skipped) for good.
import { Fragment, useState } from 'react';
import { api, ok } from '../api';
import { Btn, Section } from '../ui';

interface PreviewContact {
  attemptId: string;
  campaign: { id: string; name: string; script: { opening?: string } | null };
  contact: { id: string; name: string | null; phone: string; segment: string | null; attributes: Record<string, unknown> | null };
}

export function Preview(props: { agentId: string; onChange: () => Promise<void>; onCard: (held: boolean) => void }) {
  const [card, setCardState] = useState<PreviewContact | null>(null);
  const setCard = (c: PreviewContact | null) => {
    setCardState(c);
    props.onCard(c !== null);
  };
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  const run = async (label: string, f: () => Promise<void>) => {
    if (busy) return;
    setBusy(true);
    try {
      await f();
      await props.onChange();
    } catch (e) {
      setMessage(`${label}: ${(e as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  const path = (attemptId: string) => ({ params: { path: { id: props.agentId, attemptId } } });
  const attributes = Object.entries(card?.contact.attributes ?? {}).filter(([, v]) => v != null && typeof v !== 'object');
  return (
    <Section title="Preview">
      {card ? (
        <div className="preview-card" aria-label={`Next contact: ${card.contact.name ?? '(no name)'}`} role="group">
          <dl className="card-list">
            <dt>Contact</dt><dd>{card.contact.name ?? '(no name)'}</dd>
            <dt>Number</dt><dd>{card.contact.phone}</dd>
            <dt>Campaign</dt><dd>{card.campaign.name}</dd>
            {card.contact.segment ? <><dt>Segment</dt><dd>{card.contact.segment}</dd></> : null}
            {attributes.map(([k, v]) => <Fragment key={k}><dt>{k}</dt><dd>{String(v)}</dd></Fragment>)}
          </dl>
          {card.campaign.script?.opening ? <p><strong>Opening:</strong> {card.campaign.script.opening}</p> : null}
          <div className="row-actions">
            <Btn variant="primary" isDisabled={busy} onPress={() => void run('Dial', async () => {
              await ok(api.POST('/api/v1/agents/{id}/preview/{attemptId}/dial', path(card.attemptId)));
              setMessage(`Dialing ${card.contact.name ?? 'the contact'}…`);
              setCard(null);
            })}>Dial {card.contact.name ?? 'this contact'}</Btn>
            <Btn isDisabled={busy} onPress={() => void run('Skip', async () => {
              await ok(api.POST('/api/v1/agents/{id}/preview/{attemptId}/skip', path(card.attemptId)));
              setMessage(`Skipped ${card.contact.name ?? 'the contact'}; it will not be dialed.`);
              setCard(null);
            })}>Skip {card.contact.name ?? 'this contact'}</Btn>
          </div>
        </div>
      ) : (
        <>
          <p>In a preview campaign you see the contact before the call and choose to dial or skip.</p>
          <Btn isDisabled={busy} onPress={() => void run('Next contact', async () => {
            setCard(await ok<PreviewContact>(api.POST('/api/v1/agents/{id}/preview', { params: { path: { id: props.agentId } } })));
            setMessage('');
          })}>Show the next contact</Btn>
        </>
      )}
      <p role="status" aria-live="polite" className="notice">{message}</p>
    </Section>
  );
}
