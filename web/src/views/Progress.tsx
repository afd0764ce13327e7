// Why was this contact not called? A campaign's progress (GET /api/v1/campaigns/:id/progress:
// contacts by state, those scheduled later and why, skipped and why, the "idle until" date), its
// attempts newest first in pages (GET /api/v1/campaigns/:id/attempts), and a contact's page
// (GET /api/v1/contacts/:id: every attempt, each decision in plain words, the next allowed instant).
import { useState } from 'react';
import { api, ok } from '../api';
import type { paths } from '../api-types';
import { Btn, DataTable, Section, useLoad } from '../ui';

interface ReasonGroup { reason: string; description: string; contacts: number; nextAt?: string | null; lastAt?: string | null }
interface Progress {
  campaignId: string; name: string; state: string; at: string; contacts: number; notStarted: number;
  waiting: { contacts: number; dueSince: string | null; handedToDialer: number };
  scheduledLater: { contacts: number; nextAt: string | null; byReason: ReasonGroup[] };
  dialing: { contacts: number };
  done: { contacts: number; byOutcome: { outcome: string; contacts: number }[] };
  skipped: { contacts: number; byReason: ReasonGroup[] };
  cancelled: { contacts: number };
  idleUntil: string | null; nothingLeft: boolean; completeWhenIdleDays: number | null; completesByItself: boolean;
}
interface AttemptRow {
  id: string; contactId: string; phone: string; state: string; outcome: string | null; isCallback: boolean; scheduledAt: string; createdAt: string;
  disposition: string | null; callId: string | null;
  decision: { allowed: boolean; nextAllowedAt: string | null; failedRules: string[] } | null;
}
interface Explanation { summary: string; reasons: { rule: string; policy?: string; sentence: string }[] }
interface ContactPage {
  contact: { id: string; campaignId: string; campaignName: string; phone: string; name: string | null; segment: string | null; timeZone: string | null };
  state: string; nextAllowedAt: string | null; next: string;
  attempts: (AttemptRow & { decisions: { id: string; decidedAt: string; allowed: boolean; nextAllowedAt: string | null; explanation: Explanation }[] })[];
}

type AttemptQuery = NonNullable<paths['/api/v1/campaigns/{id}/attempts']['get']['parameters']['query']>;
const when = (v: string | null | undefined) => (v ? new Date(v).toLocaleString() : '—');

export function CampaignProgress(props: { id: string }) {
  const p = useLoad(() => ok<Progress>(api.GET('/api/v1/campaigns/{id}/progress', { params: { path: { id: props.id } } })), [props.id]);
  const [cursor, setCursor] = useState<string | undefined>(undefined);
  const [filter, setFilter] = useState<Pick<AttemptQuery, 'state' | 'outcome'>>({});
  const attempts = useLoad(() => ok<{ attempts: AttemptRow[]; nextCursor: string | null }>(api.GET('/api/v1/campaigns/{id}/attempts', {
    params: { path: { id: props.id }, query: { limit: 50, ...(cursor ? { cursor } : {}), ...filter } },
  })), [props.id, cursor, filter.state, filter.outcome]);
  const v = p.data;
  if (p.error) return <p role="alert">{p.error}</p>;
  if (!v) return <p role="status">Loading…</p>;
  const counts = [
    { label: 'Not started', n: v.notStarted, detail: '' },
    { label: 'Waiting (due now)', n: v.waiting.contacts, detail: v.waiting.dueSince ? `due since ${when(v.waiting.dueSince)}; ${v.waiting.handedToDialer} handed to the dialer` : '' },
    { label: 'Scheduled later', n: v.scheduledLater.contacts, detail: v.scheduledLater.nextAt ? `next at ${when(v.scheduledLater.nextAt)}` : '' },
    { label: 'Being dialed', n: v.dialing.contacts, detail: '' },
    { label: 'Done', n: v.done.contacts, detail: v.done.byOutcome.map((o) => `${o.outcome}: ${o.contacts}`).join(', ') },
    { label: 'Skipped', n: v.skipped.contacts, detail: '' },
    { label: 'Cancelled', n: v.cancelled.contacts, detail: '' },
  ];
  return (
    <>
      <p><a href="#/supervisor">Back to the supervisor&apos;s wall</a></p>
      <Section title={`Progress of ${v.name}`} id="progress">
        <p className="hint">{v.state}; {v.contacts} {v.contacts === 1 ? 'contact' : 'contacts'}; as of {when(v.at)}.</p>
        {v.idleUntil ? (
          <p className="notice idle" data-testid="idle-until"><strong>Nothing to dial until {when(v.idleUntil)}.</strong>{v.completesByItself ? ` It will complete by itself (idle for more than ${v.completeWhenIdleDays} days).` : ''}</p>
        ) : v.nothingLeft ? <p className="notice idle"><strong>Nothing is left to dial.</strong></p> : null}
        <DataTable caption="Contacts by state" rows={counts} rowKey={(c) => c.label} columns={[
          { header: 'State', cell: (c) => c.label }, { header: 'Contacts', cell: (c) => c.n }, { header: 'Details', cell: (c) => c.detail },
        ]} />
        <DataTable caption="Scheduled later, and why" rows={v.scheduledLater.byReason} rowKey={(g) => g.reason} empty="No contact waits for later." columns={[
          { header: 'Why', cell: (g) => g.description }, { header: 'Contacts', cell: (g) => g.contacts }, { header: 'First due', cell: (g) => when(g.nextAt) }, { header: 'Last due', cell: (g) => when(g.lastAt) },
        ]} />
        <DataTable caption="Skipped, and why" rows={v.skipped.byReason} rowKey={(g) => g.reason} empty="No contact was skipped." columns={[
          { header: 'Why', cell: (g) => g.description }, { header: 'Contacts', cell: (g) => g.contacts },
        ]} />
      </Section>
      <Section title="Attempts" id="attempts">
        <form role="search" aria-label="Filter attempts" className="inline-form" onSubmit={(e) => {
          e.preventDefault();
          const d = new FormData(e.currentTarget);
          setCursor(undefined);
          setFilter({ ...(d.get('state') ? { state: String(d.get('state')) as AttemptQuery['state'] } : {}), ...(d.get('outcome') ? { outcome: String(d.get('outcome')) } : {}) });
        }}>
          <label htmlFor="att-state">State</label>
          <select id="att-state" name="state" defaultValue="">
            {['', 'queued', 'dialing', 'completed', 'skipped', 'failed', 'cancelled'].map((s) => <option key={s} value={s}>{s || '(any)'}</option>)}
          </select>
          <label htmlFor="att-outcome">Outcome</label>
          <input id="att-outcome" name="outcome" placeholder="denied" />
          <Btn type="submit">Filter</Btn>
        </form>
        {attempts.error ? <p role="alert">{attempts.error}</p> : null}
        <DataTable caption="Attempts, newest first" rows={attempts.data?.attempts ?? []} rowKey={(a) => a.id} columns={[
          { header: 'Created', cell: (a) => when(a.createdAt) }, { header: 'Number', cell: (a) => a.phone }, { header: 'State', cell: (a) => a.state },
          { header: 'Outcome', cell: (a) => a.outcome ?? '—' },
          { header: 'Decision', cell: (a) => (a.decision ? (a.decision.allowed ? 'allowed' : `denied: ${a.decision.failedRules.join(', ')}`) : a.state === 'queued' ? 'not decided yet' : 'none (not put to dialing)') },
          { header: 'Scheduled', cell: (a) => when(a.scheduledAt) },
          { header: 'Contact', cell: (a) => <a href={`#/supervisor/contact/${a.contactId}`}>Contact {a.phone}</a> },
        ]} />
        <div className="row-actions">
          {cursor ? <Btn onPress={() => setCursor(undefined)}>First page</Btn> : null}
          {attempts.data?.nextCursor ? <Btn onPress={() => setCursor(attempts.data?.nextCursor ?? undefined)}>Older attempts</Btn> : null}
        </div>
      </Section>
    </>
  );
}

export function ContactView(props: { id: string }) {
  const c = useLoad(() => ok<ContactPage>(api.GET('/api/v1/contacts/{id}', { params: { path: { id: props.id } } })), [props.id]);
  if (c.error) return <p role="alert">{c.error}</p>;
  const v = c.data;
  if (!v) return <p role="status">Loading…</p>;
  return (
    <>
      <p><a href={`#/supervisor/campaign/${v.contact.campaignId}`}>Back to {v.contact.campaignName}</a></p>
      <Section title={`Contact ${v.contact.name ?? v.contact.phone}`} id="contact">
        <dl className="card-list">
          <dt>Number</dt><dd>{v.contact.phone}</dd>
          <dt>Campaign</dt><dd>{v.contact.campaignName}</dd>
          <dt>State</dt><dd>{v.state}</dd>
          <dt>Next</dt><dd data-testid="contact-next">{v.next}</dd>
          {v.contact.timeZone ? <><dt>Time zone</dt><dd>{v.contact.timeZone}</dd></> : null}
        </dl>
      </Section>
      <Section title="Attempts and decisions" id="contact-attempts">
        {v.attempts.length === 0 ? <p>No attempt yet.</p> : null}
        <ol className="attempts">
          {v.attempts.map((a) => (
            <li key={a.id}>
              <h3>Attempt of {when(a.createdAt)}: {a.state}{a.outcome ? ` (${a.outcome})` : ''}{a.isCallback ? ', a callback' : ''}</h3>
              <p>Scheduled {when(a.scheduledAt)}{a.disposition ? `; disposition ${a.disposition}` : ''}{a.callId ? '; dialed' : ''}.</p>
              {a.decisions.length === 0 ? <p>{a.state === 'queued' ? 'Not decided yet: compliance decides when it falls due.' : 'No compliance decision: it was never put to dialing.'}</p> : (
                <ul>
                  {a.decisions.map((d) => (
                    <li key={d.id}>
                      <strong>{when(d.decidedAt)}: {d.explanation.summary}</strong>
                      {d.explanation.reasons.length ? <ul>{d.explanation.reasons.map((r) => <li key={r.rule + r.sentence}>{r.sentence}{r.policy ? ` (policy ${r.policy})` : ''}</li>)}</ul> : null}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          ))}
        </ol>
      </Section>
    </>
  );
}
