// Quality: call search (period, campaign, agent, outcome, disposition, duration), a call's page
// with the recording player (the browser seeks with HTTP Range requests; review time marks jump
// the player), the scorecard review form and a complaint form; and the complaint queue.
import { useRef, useState } from 'react';
import { api, ok, type Me } from '../api';
import type { paths } from '../api-types';
import { ApiForm, Btn, DataTable, Field, Section, SelectField, useLoad } from '../ui';

interface CallRow {
  id: string; campaign: { id: string; name: string }; agent: { id: string; name: string | null } | null; phone: string; createdAt: string;
  durationMs: number | null; outcome: string | null; disposition: string | null;
  recording: { id: string; durationMs: number; audioUrl: string | null } | null;
}
interface Review { id: string; totalPct: number; comment: string | null; reviewer: { name: string }; marks: { atMs: number; note: string }[]; createdAt: string }
interface Complaint { id: string; callId: string; summary: string; status: string; dueOn: string; overdue: boolean; resolution: string | null }
interface CallDetail extends CallRow { reviews: Review[]; complaints: Complaint[]; decision: { allowed: boolean } | null }
interface Scorecard { id: string; name: string; criteria: { key: string; label: string; maxScore: number }[] }

const secs = (ms: number | null) => (ms == null ? '—' : `${(ms / 1000).toFixed(1)} s`);

export default function QaView({ me, tab, id }: { me: Me; tab: string; id?: string | undefined }) {
  return (
    <>
      <h1>Quality{tab === 'call' ? ': call' : tab === 'complaints' ? ': complaints' : ': calls'}</h1>
      <nav aria-label="Quality pages" className="subnav">
        <ul>
          <li><a href="#/qa/calls" aria-current={tab === 'calls' ? 'page' : undefined}>Call search</a></li>
          <li><a href="#/qa/complaints" aria-current={tab === 'complaints' ? 'page' : undefined}>Complaints</a></li>
        </ul>
      </nav>
      {tab === 'calls' ? <CallSearch /> : null}
      {tab === 'call' && id ? <CallPage id={id} canScore={me.permissions.includes('qa.write')} /> : null}
      {tab === 'complaints' ? <Complaints canWork={me.permissions.includes('qa.write')} /> : null}
    </>
  );
}

type CallQuery = NonNullable<paths['/api/v1/calls']['get']['parameters']['query']>;
const outcomes = ['answered', 'busy', 'no-answer', 'congestion', 'rejected', 'failed', 'abandoned', 'machine'] as const;
function CallSearch() {
  const [q, setQ] = useState<CallQuery>({});
  const list = useLoad(() => ok<{ calls: CallRow[] }>(api.GET('/api/v1/calls', { params: { query: { ...q, limit: 100 } } })), [JSON.stringify(q)]);
  return (
    <>
      <Section title="Search calls">
        <form role="search" aria-label="Search calls" className="grid-form" onSubmit={(e) => {
          e.preventDefault();
          const d = new FormData(e.currentTarget);
          const s = (k: string) => (d.get(k) ? String(d.get(k)) : undefined);
          const from = s('from');
          const to = s('to');
          setQ(Object.fromEntries(Object.entries({
            from: from ? new Date(from).toISOString() : undefined, to: to ? new Date(to).toISOString() : undefined,
            campaignId: s('campaignId'), agentId: s('agentId'), outcome: s('outcome'), disposition: s('disposition'),
            minDurationS: s('minDurationS') ? Number(s('minDurationS')) : undefined, recorded: d.get('recorded') === 'on' ? 'true' : undefined,
          }).filter(([, v]) => v !== undefined)) as CallQuery);
        }}>
          <div className="field"><label htmlFor="q-from">From</label><input id="q-from" name="from" type="datetime-local" /></div>
          <div className="field"><label htmlFor="q-to">To</label><input id="q-to" name="to" type="datetime-local" /></div>
          <div className="field"><label htmlFor="q-campaign">Campaign id</label><input id="q-campaign" name="campaignId" /></div>
          <div className="field"><label htmlFor="q-agent">Agent id</label><input id="q-agent" name="agentId" /></div>
          <SelectField name="outcome" label="Outcome" options={[{ value: '', label: '(any)' }, ...outcomes.map((o) => ({ value: o, label: o }))]} />
          <div className="field"><label htmlFor="q-disposition">Disposition</label><input id="q-disposition" name="disposition" /></div>
          <div className="field"><label htmlFor="q-min">At least (seconds)</label><input id="q-min" name="minDurationS" type="number" min="0" /></div>
          <div className="field check"><input id="q-rec" name="recorded" type="checkbox" /><label htmlFor="q-rec">Recorded only</label></div>
          <Btn type="submit" variant="primary">Search</Btn>
        </form>
      </Section>
      <Section title="Calls">
        {list.error ? <p role="alert">{list.error}</p> : null}
        <DataTable caption="Calls found" rows={list.data?.calls ?? []} rowKey={(c) => c.id} columns={[
          { header: 'When', cell: (c) => new Date(c.createdAt).toLocaleString() }, { header: 'Campaign', cell: (c) => c.campaign.name },
          { header: 'Agent', cell: (c) => c.agent?.name ?? '—' }, { header: 'Number', cell: (c) => c.phone }, { header: 'Outcome', cell: (c) => c.outcome ?? '—' },
          { header: 'Disposition', cell: (c) => c.disposition ?? '—' }, { header: 'Duration', cell: (c) => secs(c.durationMs) },
          { header: 'Recording', cell: (c) => (c.recording ? secs(c.recording.durationMs) : 'none') },
          { header: 'Open', cell: (c) => <a href={`#/qa/call/${c.id}`}>Open call {new Date(c.createdAt).toLocaleTimeString()}</a> },
        ]} />
      </Section>
    </>
  );
}

function CallPage(props: { id: string; canScore: boolean }) {
  const call = useLoad(() => ok<CallDetail>(api.GET('/api/v1/calls/{id}', { params: { path: { id: props.id } } })), [props.id]);
  const cards = useLoad(() => ok<{ scorecards: Scorecard[] }>(api.GET('/api/v1/scorecards', { params: { query: { active: 'true' } } })));
  const [cardId, setCardId] = useState<string>('');
  const audio = useRef<HTMLAudioElement>(null);
  const c = call.data;
  if (call.error) return <p role="alert">{call.error}</p>;
  if (!c) return <p role="status">Loading…</p>;
  const card = cards.data?.scorecards.find((s) => s.id === (cardId || cards.data?.scorecards[0]?.id));
  const seek = (s: number) => {
    if (!audio.current) return;
    audio.current.currentTime = Math.max(0, s);
    void audio.current.play().catch(() => undefined);
  };
  return (
    <>
      <Section title="Call">
        <dl className="card-list">
          <dt>Campaign</dt><dd>{c.campaign.name}</dd><dt>Agent</dt><dd>{c.agent?.name ?? '—'}</dd><dt>Number</dt><dd>{c.phone}</dd>
          <dt>Outcome</dt><dd>{c.outcome ?? '—'}</dd><dt>Disposition</dt><dd>{c.disposition ?? '—'}</dd><dt>Duration</dt><dd>{secs(c.durationMs)}</dd>
        </dl>
      </Section>
      <Section title="Recording">
        {c.recording?.audioUrl ? (
          <>
            <audio ref={audio} controls preload="metadata" src={c.recording.audioUrl} aria-label="Call recording" data-testid="player" />
            <div className="row-actions">
              <Btn onPress={() => seek((audio.current?.currentTime ?? 0) - 5)}>Back 5 s</Btn>
              <Btn onPress={() => seek((audio.current?.currentTime ?? 0) + 5)}>Forward 5 s</Btn>
            </div>
            <h3>Time marks</h3>
            <ul>
              {c.reviews.flatMap((r) => r.marks.map((m) => (
                <li key={`${r.id}-${m.atMs}`}><button type="button" className="link" onClick={() => seek(m.atMs / 1000)}>{secs(m.atMs)}: {m.note}</button></li>
              )))}
            </ul>
          </>
        ) : <p>No recording for this call.</p>}
      </Section>
      <Section title="Reviews">
        <DataTable caption="Reviews of this call" rows={c.reviews} rowKey={(r) => r.id} columns={[
          { header: 'Reviewer', cell: (r) => r.reviewer.name }, { header: 'Score', cell: (r) => `${r.totalPct.toFixed(0)}%` }, { header: 'Comment', cell: (r) => r.comment ?? '' },
        ]} />
      </Section>
      {props.canScore ? (
        <Section title="Score this call">
          {cards.data && cards.data.scorecards.length === 0 ? <p>No active scorecard: an admin creates one first.</p> : null}
          {cards.data && cards.data.scorecards.length > 1 ? (
            <div className="field">
              <label htmlFor="card">Scorecard</label>
              <select id="card" value={card?.id} onChange={(e) => setCardId(e.target.value)}>{cards.data.scorecards.map((s) => <option key={s.id} value={s.id}>{s.name}</option>)}</select>
            </div>
          ) : null}
          {card ? (
            <ApiForm key={card.id} label="Score this call" submitLabel="Save review" submit={async (d) => {
              const scores = card.criteria.map((k) => ({ criterion: k.key, score: Number(d.get(`score.${k.key}`) ?? 0) }));
              const markAt = d.get('markAt') ? Math.round(Number(d.get('markAt')) * 1000) : null;
              const note = String(d.get('markNote') ?? '');
              await ok(api.POST('/api/v1/calls/{id}/reviews', { params: { path: { id: c.id } }, body: {
                scorecardId: card.id, scores, ...(d.get('comment') ? { comment: String(d.get('comment')) } : {}),
                ...(markAt != null && note ? { marks: [{ atMs: markAt, note }] } : {}),
              } }));
              call.reload();
              return 'Review saved.';
            }}>
              {card.criteria.map((k) => <Field key={k.key} name={`score.${k.key}`} label={`${k.label} (0–${k.maxScore})`} type="number" required />)}
              <Field name="comment" label="Comment" multiline />
              <Field name="markAt" label="Time mark (seconds into the recording)" type="number" />
              <Field name="markNote" label="Note at that time" />
            </ApiForm>
          ) : null}
        </Section>
      ) : null}
      {props.canScore ? (
        <Section title="File a complaint">
          <ApiForm label="File a complaint" submit={async (d) => {
            await ok(api.POST('/api/v1/calls/{id}/complaints', { params: { path: { id: c.id } }, body: { summary: String(d.get('summary') ?? ''), ...(d.get('dueOn') ? { dueOn: String(d.get('dueOn')) } : {}) } }));
            call.reload();
            return 'Complaint filed.';
          }}>
            <Field name="summary" label="Summary" required multiline />
            <Field name="dueOn" label="Due on" type="date" />
          </ApiForm>
        </Section>
      ) : null}
    </>
  );
}

function Complaints(props: { canWork: boolean }) {
  const [status, setStatus] = useState<'open' | 'in-review' | 'resolved' | 'rejected' | ''>('open');
  const list = useLoad(() => ok<{ complaints: Complaint[] }>(api.GET('/api/v1/complaints', { params: { query: status ? { status } : {} } })), [status]);
  const [message, setMessage] = useState('');
  const move = async (c: Complaint, to: 'in-review' | 'resolved' | 'rejected') => {
    try {
      await ok(api.PATCH('/api/v1/complaints/{id}', { params: { path: { id: c.id } }, body: { status: to, ...(to !== 'in-review' ? { resolution: `marked ${to} in the console` } : {}) } }));
      setMessage(`Complaint moved to ${to}.`);
      list.reload();
    } catch (e) {
      setMessage((e as Error).message);
    }
  };
  return (
    <Section title="Complaint queue">
      <SelectField name="status" label="Status" defaultValue="open" options={[{ value: 'open', label: 'open' }, { value: 'in-review', label: 'in review' }, { value: 'resolved', label: 'resolved' }, { value: 'rejected', label: 'rejected' }, { value: '', label: 'all' }]} />
      <div className="row-actions"><Btn onPress={() => setStatus(((document.getElementById('sel-status') as HTMLSelectElement | null)?.value ?? '') as typeof status)}>Show</Btn></div>
      <p role="status" aria-live="polite" className="notice">{message}</p>
      <DataTable caption="Complaints" rows={list.data?.complaints ?? []} rowKey={(c) => c.id} columns={[
        { header: 'Due', cell: (c) => <span className={c.overdue ? 'over' : ''}>{c.dueOn}{c.overdue ? ' (overdue)' : ''}</span> },
        { header: 'Status', cell: (c) => c.status }, { header: 'Summary', cell: (c) => c.summary },
        { header: 'Call', cell: (c) => <a href={`#/qa/call/${c.callId}`}>Open the call of complaint due {c.dueOn}</a> },
        ...(props.canWork ? [{ header: 'Actions', cell: (c: Complaint) => (
          <span className="row-actions">
            <Btn onPress={() => void move(c, 'in-review')} isDisabled={c.status !== 'open'}>Review</Btn>
            <Btn onPress={() => void move(c, 'resolved')} isDisabled={c.status === 'resolved'}>Resolve</Btn>
          </span>
        ) }] : []),
      ]} />
    </Section>
  );
}
