// The admin's pages: trunks, caller ids, agents, campaigns (with contact import and its per-row
// report), compliance policies with a "would this number be allowed now?" tester, DNC, users
// (passwords, sessions) and the audit log. Every form shows the server's field errors by its field.
import { useState } from 'react';
import { api, ok, type Me } from '../api';
import { ApiForm, Btn, CheckField, DataTable, Field, Section, SelectField, bodyOf, useLoad } from '../ui';

const tabs: [string, string][] = [
  ['trunks', 'Trunks'], ['caller-ids', 'Caller ids'], ['agents', 'Agents'], ['campaigns', 'Campaigns'], ['policies', 'Policies'],
  ['dnc', 'Do not call'], ['users', 'Users'], ['audit', 'Audit log'],
];

export default function AdminView({ tab }: { me: Me; tab: string }) {
  const label = tabs.find(([k]) => k === tab)?.[1] ?? 'Admin';
  return (
    <>
      <h1>Admin: {label}</h1>
      <nav aria-label="Admin pages" className="subnav">
        <ul>{tabs.map(([k, l]) => <li key={k}><a href={`#/admin/${k}`} aria-current={k === tab ? 'page' : undefined}>{l}</a></li>)}</ul>
      </nav>
      {tab === 'trunks' ? <Trunks /> : null}
      {tab === 'caller-ids' ? <CallerIds /> : null}
      {tab === 'agents' ? <Agents /> : null}
      {tab === 'campaigns' ? <Campaigns /> : null}
      {tab === 'policies' ? <Policies /> : null}
      {tab === 'dnc' ? <Dnc /> : null}
      {tab === 'users' ? <Users /> : null}
      {tab === 'audit' ? <Audit /> : null}
    </>
  );
}

interface Trunk { id: string; name: string; host: string; port: number; transport: string; enabled: boolean; maxChannels: number | null; maxCps: number | null }
function Trunks() {
  const list = useLoad(() => ok<{ trunks: Trunk[] }>(api.GET('/api/v1/trunks')));
  return (
    <>
      <Section title="Add a trunk">
        <ApiForm label="Add a trunk" submit={async (d) => {
          const t = await ok<Trunk>(api.POST('/api/v1/trunks', { body: bodyOf(d, { numbers: ['port', 'maxChannels', 'maxCps'], lists: ['codecs'] }) as { name: string; host: string } }));
          list.reload();
          return `Trunk ${t.name} added; Asterisk has it now.`;
        }}>
          <Field name="name" label="Name" required />
          <Field name="host" label="Host" required description="The carrier's SIP host or IP address." />
          <Field name="port" label="Port" type="number" defaultValue="5060" />
          <SelectField name="transport" label="Transport" options={['udp', 'tcp', 'tls'].map((v) => ({ value: v, label: v }))} />
          <Field name="username" label="Username" autoComplete="off" />
          <Field name="password" label="Password" type="password" autoComplete="new-password" />
          <Field name="codecs" label="Codecs" description="Comma-separated, e.g. alaw, ulaw." />
          <Field name="maxChannels" label="Most channels at once" type="number" />
          <Field name="maxCps" label="Most calls per second" type="number" />
        </ApiForm>
      </Section>
      <Section title="Trunks">
        <DataTable caption="Trunks" rows={list.data?.trunks ?? []} rowKey={(t) => t.id} columns={[
          { header: 'Name', cell: (t) => t.name }, { header: 'Host', cell: (t) => `${t.host}:${t.port}` }, { header: 'Transport', cell: (t) => t.transport },
          { header: 'Enabled', cell: (t) => (t.enabled ? 'yes' : 'no') }, { header: 'Channels', cell: (t) => t.maxChannels ?? '∞' }, { header: 'CPS', cell: (t) => t.maxCps ?? '—' },
        ]} />
      </Section>
    </>
  );
}

interface CallerId { id: string; number: string; label: string | null; isHotline: boolean; dailyCap: number | null }
function CallerIds() {
  const list = useLoad(() => ok<{ callerIds: CallerId[] }>(api.GET('/api/v1/caller-ids')));
  return (
    <>
      <Section title="Add a caller id">
        <ApiForm label="Add a caller id" submit={async (d) => {
          const c = await ok<CallerId>(api.POST('/api/v1/caller-ids', { body: bodyOf(d, { numbers: ['dailyCap'], booleans: ['isHotline'] }) as { number: string } }));
          list.reload();
          return `Caller id ${c.number} added.`;
        }}>
          <Field name="number" label="Number" required description="E.164, e.g. +13055550100." />
          <Field name="label" label="Label" />
          <Field name="dailyCap" label="Most calls a day" type="number" />
          <CheckField name="isHotline" label="Hotline (customers may call it back)" />
        </ApiForm>
      </Section>
      <Section title="Caller ids">
        <DataTable caption="Caller ids" rows={list.data?.callerIds ?? []} rowKey={(c) => c.id} columns={[
          { header: 'Number', cell: (c) => c.number }, { header: 'Label', cell: (c) => c.label ?? '' }, { header: 'Hotline', cell: (c) => (c.isHotline ? 'yes' : 'no') },
          { header: 'Daily cap', cell: (c) => c.dailyCap ?? '—' },
        ]} />
      </Section>
    </>
  );
}

interface AgentRow { id: string; name: string; endpoint: string; state: string }
function Agents() {
  const list = useLoad(() => ok<{ agents: AgentRow[] }>(api.GET('/api/v1/agents')));
  return (
    <>
      <Section title="Add an agent">
        <ApiForm label="Add an agent" submit={async (d) => {
          const a = await ok<AgentRow>(api.POST('/api/v1/agents', { body: bodyOf(d) as { name: string; endpoint: string } }));
          list.reload();
          return `Agent ${a.name} added; their phone endpoint is ${a.endpoint}.`;
        }}>
          <Field name="name" label="Name" required />
          <Field name="endpoint" label="Phone endpoint" required description="The PJSIP endpoint name the phone registers as." />
          <Field name="sipPassword" label="Phone password" type="password" autoComplete="new-password" description="For a phone that registers; or give a contact URI." />
          <Field name="contactUri" label="Contact URI" description="A fixed phone address, e.g. sip:10.0.0.5:5060." />
        </ApiForm>
      </Section>
      <Section title="Agents">
        <DataTable caption="Agents" rows={list.data?.agents ?? []} rowKey={(a) => a.id} columns={[
          { header: 'Name', cell: (a) => a.name }, { header: 'Endpoint', cell: (a) => a.endpoint }, { header: 'State', cell: (a) => a.state }, { header: 'Id', cell: (a) => <code>{a.id}</code> },
        ]} />
      </Section>
    </>
  );
}

interface Campaign { id: string; name: string; state: string; dialMode: string; trunkId: string; callerIdId: string; policyName: string | null }
interface ImportReport { rows: number; imported: number; inserted: number; updated: number; rejected: number; attemptsCreated: number; errors?: { line: number; field: string; problem: string }[] }
function Campaigns() {
  const list = useLoad(() => ok<{ campaigns: Campaign[] }>(api.GET('/api/v1/campaigns', {})));
  const trunks = useLoad(() => ok<{ trunks: Trunk[] }>(api.GET('/api/v1/trunks')));
  const cids = useLoad(() => ok<{ callerIds: CallerId[] }>(api.GET('/api/v1/caller-ids')));
  const [report, setReport] = useState<ImportReport | null>(null);
  const campaigns = list.data?.campaigns ?? [];
  return (
    <>
      <Section title="Create a campaign">
        <ApiForm label="Create a campaign" submit={async (d) => {
          const b = bodyOf(d, { numbers: ['maxConcurrent', 'abandonCap'], booleans: ['recordCalls'] });
          const script = Object.fromEntries(['opening', 'needs', 'proposal', 'close', 'farewell'].flatMap((k) => (b[`script.${k}`] ? [[k, b[`script.${k}`]]] : [])));
          for (const k of Object.keys(b)) if (k.startsWith('script.')) delete b[k];
          const c = await ok<Campaign>(api.POST('/api/v1/campaigns', { body: { ...(b as { name: string; trunkId: string; callerIdId: string }), ...(Object.keys(script).length ? { script } : {}) } }));
          list.reload();
          return `Campaign ${c.name} created (${c.state}).`;
        }}>
          <Field name="name" label="Name" required />
          <SelectField name="trunkId" label="Trunk" required options={[{ value: '', label: '(choose a trunk)' }, ...(trunks.data?.trunks ?? []).map((t) => ({ value: t.id, label: t.name }))]} />
          <SelectField name="callerIdId" label="Caller id" required options={[{ value: '', label: '(choose a caller id)' }, ...(cids.data?.callerIds ?? []).map((c) => ({ value: c.id, label: c.number }))]} />
          <Field name="policyName" label="Compliance policy" description="Empty: the global policy." />
          <SelectField name="dialMode" label="Dial mode" options={['progressive', 'predictive', 'preview'].map((v) => ({ value: v, label: v }))} />
          <Field name="maxConcurrent" label="Most calls at once" type="number" />
          <CheckField name="recordCalls" label="Record calls" defaultChecked />
          <fieldset>
            <legend>Script</legend>
            <Field name="script.opening" label="Opening" />
            <Field name="script.needs" label="Needs" />
            <Field name="script.proposal" label="Proposal" />
            <Field name="script.close" label="Close" />
            <Field name="script.farewell" label="Farewell" />
          </fieldset>
        </ApiForm>
      </Section>
      <Section title="Import contacts">
        <ImportForm campaigns={campaigns} onReport={setReport} />
        {report ? (
          <div role="status" className="import-report">
            <p>{report.rows} rows read: {report.imported} imported ({report.inserted} new, {report.updated} updated), {report.rejected} rejected; {report.attemptsCreated} attempts created.</p>
            {report.errors?.length ? (
              <DataTable caption="Rejected rows" rows={report.errors.slice(0, 100)} rowKey={(e) => `${e.line}:${e.field}`} columns={[
                { header: 'Line', cell: (e) => e.line },
                { header: 'Column', cell: (e) => e.field },
                { header: 'Problem', cell: (e) => e.problem },
              ]} />
            ) : null}
          </div>
        ) : null}
      </Section>
      <Section title="Campaigns">
        <DataTable caption="Campaigns" rows={campaigns} rowKey={(c) => c.id} columns={[
          { header: 'Name', cell: (c) => c.name }, { header: 'State', cell: (c) => c.state }, { header: 'Mode', cell: (c) => c.dialMode },
          { header: 'Policy', cell: (c) => c.policyName ?? '(global)' },
        ]} />
      </Section>
    </>
  );
}

function ImportForm(props: { campaigns: Campaign[]; onReport: (r: ImportReport) => void }) {
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form aria-label="Import contacts" className="api-form" onSubmit={async (e) => {
      e.preventDefault();
      if (busy) return;
      const d = new FormData(e.currentTarget);
      const file = d.get('file');
      const campaignId = String(d.get('campaignId') ?? '');
      if (!(file instanceof File) || file.size === 0 || !campaignId) {
        setMessage('Choose a campaign and a CSV file whose first line names the columns (phone required).');
        return;
      }
      setBusy(true);
      setMessage('Importing…');
      try {
        // Sent as the file's own bytes (text/csv), streamed by the server; no JSON wrapping.
        const r = await ok<ImportReport>(api.POST('/api/v1/campaigns/{id}/contacts/import', {
          params: { path: { id: campaignId } }, body: file as unknown as never, bodySerializer: (b: unknown) => b as File, headers: { 'content-type': 'text/csv' },
        }));
        props.onReport(r);
        setMessage(`Imported ${r.imported} of ${r.rows} rows.`);
      } catch (err) {
        setMessage((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <SelectField name="campaignId" label="Campaign" required options={[{ value: '', label: '(choose a campaign)' }, ...props.campaigns.map((c) => ({ value: c.id, label: c.name }))]} />
      <div className="field">
        <label htmlFor="import-file" className="required">CSV file</label>
        <input id="import-file" name="file" type="file" accept=".csv,text/csv" required />
      </div>
      <p role="status" aria-live="polite" className="notice">{message}</p>
      <Btn type="submit" variant="primary">Import</Btn>
    </form>
  );
}

interface Verdict { phone: string; allowed: boolean; reasons: { rule: string; passed: boolean; detail: string }[]; nextAllowedAt: string | null; timeZones?: string[] }
function Policies() {
  const list = useLoad(() => ok<{ global: string | null; policies: { name: string; version: number; description?: string }[] }>(api.GET('/api/v1/policies')));
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  return (
    <>
      <Section title="Would this number be allowed now?">
        <ApiForm label="Test a number" submitLabel="Check" resetOnSuccess={false} submit={async (d) => {
          const v = await ok<Verdict>(api.POST('/api/v1/eligibility/check', { body: bodyOf(d) as { phone: string } }));
          setVerdict(v);
          return v.allowed ? 'Allowed now.' : 'Not allowed now.';
        }}>
          <Field name="phone" label="Phone number" required description="E.164, or national with a country." />
          <Field name="country" label="Country" description="Two letters, e.g. US, when the number is national." />
          <Field name="campaignId" label="Campaign id" description="Its policy applies; empty: the global policy." />
          <Field name="at" label="At (ISO instant)" description="Empty: now." />
        </ApiForm>
        {verdict ? (
          <div className={`verdict ${verdict.allowed ? 'ok' : 'no'}`}>
            <p><strong>{verdict.allowed ? 'Allowed' : 'Not allowed'}</strong>{!verdict.allowed && verdict.nextAllowedAt ? `; next allowed at ${new Date(verdict.nextAllowedAt).toLocaleString()}` : ''}.</p>
            <DataTable caption="Rules checked" rows={verdict.reasons} rowKey={(r) => r.rule + r.detail} columns={[
              { header: 'Rule', cell: (r) => r.rule }, { header: 'Passed', cell: (r) => (r.passed ? 'yes' : 'no') }, { header: 'Why', cell: (r) => r.detail },
            ]} />
          </div>
        ) : null}
      </Section>
      <Section title="Policies">
        <p>Global policy: {list.data?.global ?? '(none)'}</p>
        <DataTable caption="Policies" rows={list.data?.policies ?? []} rowKey={(p) => p.name} columns={[
          { header: 'Name', cell: (p) => p.name }, { header: 'Version', cell: (p) => p.version }, { header: 'Description', cell: (p) => p.description ?? '' },
        ]} />
      </Section>
    </>
  );
}

interface DncEntry { phone: string; campaignId: string | null; source: string; reason: string | null; createdAt: string }
function Dnc() {
  const [phone, setPhone] = useState('');
  const list = useLoad(() => ok<{ entries: DncEntry[] }>(api.GET('/api/v1/dnc', { params: { query: phone ? { phone } : {} } })), [phone]);
  const remove = async (p: string) => {
    await ok(api.DELETE('/api/v1/dnc/{phone}', { params: { path: { phone: p }, query: { reason: 'removed in the console' } } }));
    list.reload();
  };
  return (
    <>
      <Section title="Add to do-not-call">
        <ApiForm label="Add to do-not-call" submit={async (d) => {
          await ok(api.POST('/api/v1/dnc', { body: { ...(bodyOf(d) as { phone: string }), source: 'manual' } }));
          list.reload();
          return 'Added.';
        }}>
          <Field name="phone" label="Phone number" required />
          <Field name="reason" label="Reason" />
        </ApiForm>
      </Section>
      <Section title="Search do-not-call">
        <form role="search" aria-label="Search do-not-call" onSubmit={(e) => { e.preventDefault(); setPhone(String(new FormData(e.currentTarget).get('q') ?? '')); }} className="inline-form">
          <label htmlFor="dnc-q">Phone number</label>
          <input id="dnc-q" name="q" defaultValue={phone} />
          <Btn type="submit">Search</Btn>
        </form>
        {list.error ? <p role="alert">{list.error}</p> : null}
        <DataTable caption="Do-not-call entries" rows={list.data?.entries ?? []} rowKey={(e) => e.phone + (e.campaignId ?? '')} columns={[
          { header: 'Phone', cell: (e) => e.phone }, { header: 'Scope', cell: (e) => (e.campaignId ? 'campaign' : 'everywhere') }, { header: 'Source', cell: (e) => e.source },
          { header: 'Reason', cell: (e) => e.reason ?? '' }, { header: 'Added', cell: (e) => new Date(e.createdAt).toLocaleString() },
          { header: 'Actions', cell: (e) => <Btn variant="danger" onPress={() => void remove(e.phone)}>Remove {e.phone}</Btn> },
        ]} />
      </Section>
    </>
  );
}

interface User { id: string; name: string; role: string; agentId: string | null; disabled: boolean; hasPassword: boolean; viewNumbers: boolean }
interface SessionRow { id: string; user: string; role: string; createdAt: string; lastSeenAt: string; clientIp: string }
function Users() {
  const list = useLoad(() => ok<{ users: User[] }>(api.GET('/api/v1/users')));
  const sessions = useLoad(() => ok<{ sessions: SessionRow[] }>(api.GET('/api/v1/sessions', { params: { query: {} } })));
  const agents = useLoad(() => ok<{ agents: AgentRow[] }>(api.GET('/api/v1/agents')));
  const [message, setMessage] = useState('');
  const act = async (label: string, f: () => Promise<unknown>) => {
    try { await f(); setMessage(`${label}: done.`); list.reload(); sessions.reload(); } catch (e) { setMessage(`${label}: ${(e as Error).message}`); }
  };
  return (
    <>
      <Section title="Add a user">
        <ApiForm label="Add a user" submit={async (d) => {
          const u = await ok<User>(api.POST('/api/v1/users', { body: bodyOf(d, { booleans: ['viewNumbers'] }) as { name: string; role: 'agent' } }));
          list.reload();
          return `User ${u.name} added${u.hasPassword ? ' and can sign in' : ''}.`;
        }}>
          <Field name="name" label="Name" required />
          <SelectField name="role" label="Role" options={['agent', 'supervisor', 'qa', 'admin'].map((v) => ({ value: v, label: v }))} />
          <SelectField name="agentId" label="Works as agent" options={[{ value: '', label: '(not an agent)' }, ...(agents.data?.agents ?? []).map((a) => ({ value: a.id, label: a.name }))]} />
          <Field name="password" label="Password" type="password" autoComplete="new-password" description="At least 10 characters." />
          <CheckField name="viewNumbers" label="May see phone numbers unmasked" />
        </ApiForm>
      </Section>
      <p role="status" aria-live="polite" className="notice">{message}</p>
      <Section title="Users">
        <DataTable caption="Users" rows={list.data?.users ?? []} rowKey={(u) => u.id} columns={[
          { header: 'Name', cell: (u) => u.name }, { header: 'Role', cell: (u) => u.role }, { header: 'Can sign in', cell: (u) => (u.hasPassword && !u.disabled ? 'yes' : 'no') },
          { header: 'Numbers', cell: (u) => (u.viewNumbers ? 'shown' : 'masked') },
          { header: 'Actions', cell: (u) => (
            <span className="row-actions">
              <Btn onPress={() => void act(`${u.disabled ? 'Enable' : 'Disable'} ${u.name}`, () => ok(api.PATCH('/api/v1/users/{id}', { params: { path: { id: u.id } }, body: { disabled: !u.disabled } })))}>{u.disabled ? 'Enable' : 'Disable'} {u.name}</Btn>
            </span>
          ) },
        ]} />
      </Section>
      <Section title="Set a password">
        <ApiForm label="Set a password" submit={async (d) => {
          await ok(api.PUT('/api/v1/users/{id}/password', { params: { path: { id: String(d.get('userId')) } }, body: { password: String(d.get('password') ?? '') } }));
          sessions.reload();
          return 'Password set; the user’s sessions have ended.';
        }}>
          <SelectField name="userId" label="User" options={(list.data?.users ?? []).map((u) => ({ value: u.id, label: u.name }))} />
          <Field name="password" label="New password" type="password" required autoComplete="new-password" />
        </ApiForm>
      </Section>
      <Section title="Signed-in sessions">
        <DataTable caption="Live console sessions" rows={sessions.data?.sessions ?? []} rowKey={(s) => s.id} columns={[
          { header: 'User', cell: (s) => s.user }, { header: 'Role', cell: (s) => s.role }, { header: 'Since', cell: (s) => new Date(s.createdAt).toLocaleString() },
          { header: 'Last seen', cell: (s) => new Date(s.lastSeenAt).toLocaleString() }, { header: 'From', cell: (s) => s.clientIp },
          { header: 'Actions', cell: (s) => <Btn variant="danger" onPress={() => void act(`End ${s.user}'s session`, () => ok(api.DELETE('/api/v1/sessions/{id}', { params: { path: { id: s.id } } })))}>End {s.user}&apos;s session</Btn> },
        ]} />
      </Section>
    </>
  );
}

interface AuditEntry { id: number; at: string; actor: string; action: string; resource: string; resourceId: string | null }
function Audit() {
  const [filter, setFilter] = useState<{ resource?: string; action?: string }>({});
  const list = useLoad(() => ok<{ entries: AuditEntry[] }>(api.GET('/api/v1/audit', { params: { query: { ...filter, limit: 200 } } })), [filter.resource, filter.action]);
  return (
    <Section title="Audit log">
      <form role="search" aria-label="Filter the audit log" className="inline-form" onSubmit={(e) => {
        e.preventDefault();
        const d = new FormData(e.currentTarget);
        setFilter({ ...(d.get('resource') ? { resource: String(d.get('resource')) } : {}), ...(d.get('action') ? { action: String(d.get('action')) } : {}) });
      }}>
        <label htmlFor="audit-resource">Resource</label><input id="audit-resource" name="resource" placeholder="trunk" />
        <label htmlFor="audit-action">Action</label><input id="audit-action" name="action" placeholder="trunk.created" />
        <Btn type="submit">Filter</Btn>
      </form>
      {list.error ? <p role="alert">{list.error}</p> : null}
      <DataTable caption="Latest changes and accesses" rows={list.data?.entries ?? []} rowKey={(e) => String(e.id)} columns={[
        { header: 'When', cell: (e) => new Date(e.at).toLocaleString() }, { header: 'Who', cell: (e) => e.actor }, { header: 'Action', cell: (e) => e.action },
        { header: 'Resource', cell: (e) => `${e.resource}${e.resourceId ? ` ${e.resourceId}` : ''}` },
      ]} />
    </Section>
  );
}
