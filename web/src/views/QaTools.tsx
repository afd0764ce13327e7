// Quality, continued: per-agent summaries of reviews over a period (GET /api/v1/qa/summary: mean,
// lowest and highest totals, per-criterion means), and the scorecards: everyone with QA reads them;
// admins (config.write) create and edit them (POST / PATCH /api/v1/scorecards).
import { useState } from 'react';
import { api, ok } from '../api';
import { criteriaText, parseCriteria, type Criterion } from '../form-data';
import { ApiForm, Btn, CheckField, DataTable, Field, Section, useLoad } from '../ui';

interface Summary { agentId: string; agentName: string | null; reviews: number; averagePct: number; minPct: number; maxPct: number; criteria: { key: string; label: string; reviews: number; averagePct: number }[] }
interface Scorecard { id: string; name: string; description: string; criteria: Criterion[]; active: boolean }

const localInput = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 10);

export function Summaries() {
  const [period, setPeriod] = useState(() => {
    const to = new Date();
    return { from: new Date(to.getTime() - 30 * 86_400_000), to: new Date(to.getTime() + 86_400_000) };
  });
  const list = useLoad(() => ok<{ agents: Summary[] }>(api.GET('/api/v1/qa/summary', { params: { query: { from: period.from.toISOString(), to: period.to.toISOString() } } })), [period.from.getTime(), period.to.getTime()]);
  return (
    <Section title="Per-agent summaries">
      <form role="search" aria-label="Summary period" className="inline-form" onSubmit={(e) => {
        e.preventDefault();
        const d = new FormData(e.currentTarget);
        const from = new Date(`${String(d.get('from'))}T00:00:00`);
        const to = new Date(`${String(d.get('to'))}T00:00:00`);
        if (!Number.isNaN(from.getTime()) && !Number.isNaN(to.getTime())) setPeriod({ from, to: new Date(to.getTime() + 86_400_000) });
      }}>
        <label htmlFor="sum-from">Calls from</label><input id="sum-from" name="from" type="date" defaultValue={localInput(period.from)} />
        <label htmlFor="sum-to">to (inclusive)</label><input id="sum-to" name="to" type="date" defaultValue={localInput(new Date(period.to.getTime() - 86_400_000))} />
        <Btn type="submit">Show</Btn>
      </form>
      {list.error ? <p role="alert">{list.error}</p> : null}
      <DataTable caption="Reviews per agent" rows={list.data?.agents ?? []} rowKey={(a) => a.agentId} empty="No review in this period." columns={[
        { header: 'Agent', cell: (a) => a.agentName ?? a.agentId }, { header: 'Reviews', cell: (a) => a.reviews },
        { header: 'Average', cell: (a) => `${a.averagePct.toFixed(1)}%` }, { header: 'Lowest', cell: (a) => `${a.minPct.toFixed(1)}%` }, { header: 'Highest', cell: (a) => `${a.maxPct.toFixed(1)}%` },
        { header: 'By criterion', cell: (a) => a.criteria.map((c) => `${c.label} ${c.averagePct.toFixed(0)}%`).join('; ') },
      ]} />
    </Section>
  );
}

export function Scorecards(props: { canEdit: boolean }) {
  const list = useLoad(() => ok<{ scorecards: Scorecard[] }>(api.GET('/api/v1/scorecards', { params: { query: {} } })));
  const [editing, setEditing] = useState<string>('');
  const cards = list.data?.scorecards ?? [];
  const card = cards.find((c) => c.id === editing);
  const criteriaHint = 'One criterion a line: key | label | weight | max score, e.g. "greeting | Greeting | 1 | 5".';
  return (
    <>
      <Section title="Scorecards">
        <DataTable caption="Scorecards" rows={cards} rowKey={(c) => c.id} columns={[
          { header: 'Name', cell: (c) => c.name }, { header: 'Active', cell: (c) => (c.active ? 'yes' : 'no') },
          { header: 'Criteria', cell: (c) => c.criteria.map((k) => `${k.label} (×${k.weight}, 0–${k.maxScore})`).join('; ') },
          ...(props.canEdit ? [{ header: 'Actions', cell: (c: Scorecard) => <Btn onPress={() => {
            setEditing(c.id);
            // Keyboard users land in the form they opened.
            requestAnimationFrame(() => document.querySelector<HTMLInputElement>('form[aria-label="Edit the scorecard"] input')?.focus());
          }}>Edit {c.name}</Btn> }] : []),
        ]} />
      </Section>
      {props.canEdit ? (
        <Section title={card ? `Edit ${card.name}` : 'Create a scorecard'} id="scorecard-form">
          <ApiForm key={card?.id ?? 'new'} label={card ? 'Edit the scorecard' : 'Create a scorecard'} resetOnSuccess={!card} submit={async (d) => {
            const body = {
              name: String(d.get('name') ?? ''), description: String(d.get('description') ?? ''),
              criteria: parseCriteria(String(d.get('criteria') ?? '')), active: d.get('active') === 'on',
            };
            if (card) {
              await ok(api.PATCH('/api/v1/scorecards/{id}', { params: { path: { id: card.id } }, body }));
              list.reload();
              return `Scorecard ${body.name} saved.`;
            }
            await ok(api.POST('/api/v1/scorecards', { body }));
            list.reload();
            return `Scorecard ${body.name} created.`;
          }}>
            <Field name="name" label="Name" required defaultValue={card?.name} />
            <Field name="description" label="Description" defaultValue={card?.description} />
            <Field name="criteria" label="Criteria" required multiline defaultValue={card ? criteriaText(card.criteria) : ''} description={criteriaHint} />
            <CheckField name="active" label="Active (reviewers can score with it)" defaultChecked={card?.active ?? true} />
          </ApiForm>
          {card ? <p><Btn onPress={() => setEditing('')}>Create a new scorecard instead</Btn></p> : null}
        </Section>
      ) : <p className="hint">Admins create and edit scorecards.</p>}
    </>
  );
}
