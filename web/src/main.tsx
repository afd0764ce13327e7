// The Dialwell console: sign in, then the views the user's role allows (agent, supervisor, admin,
// QA), chosen from the URL hash. The server checks every request; the console only hides what a
// role cannot use.
import { lazy, StrictMode, Suspense, useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { api, ok, type Me } from './api';
import { beforeSignOut } from './signout';
import { SignIn } from './views/SignIn';
import { Account } from './views/Account';
import { BrowserPhoneProvider } from './views/BrowserPhone';
import './styles.css';

// Each role's view is its own chunk: the agent's screen loads no charts nor admin forms.
const AgentView = lazy(() => import('./views/Agent'));
const SupervisorView = lazy(() => import('./views/Supervisor'));
const AdminView = lazy(() => import('./views/Admin'));
const QaView = lazy(() => import('./views/Qa'));

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

const homeOf = (me: Me) => (me.role === 'agent' ? '#/agent' : me.role === 'supervisor' ? '#/supervisor' : me.role === 'qa' ? '#/qa/calls' : '#/admin/trunks');

function views(me: Me): { href: string; label: string }[] {
  const has = (p: string) => me.permissions.includes(p);
  return [
    ...(me.agentId ? [{ href: '#/agent', label: 'My calls' }] : []),
    ...(has('live.read') ? [{ href: '#/supervisor', label: 'Supervisor' }] : []),
    ...(has('config.write') || has('users.manage') ? [{ href: '#/admin/trunks', label: 'Admin' }] : []),
    ...(has('recordings.read') || has('qa.write') ? [{ href: '#/qa/calls', label: 'Quality' }] : []),
    { href: '#/account', label: 'Account' },
  ];
}

function App() {
  const hash = useHash();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const load = useCallback(() => {
    ok<Me>(api.GET('/api/v1/me')).then(setMe, () => setMe(null));
  }, []);
  useEffect(load, [load]);
  useEffect(() => {
    const out = () => setMe(null);
    window.addEventListener('dialwell:signed-out', out);
    return () => window.removeEventListener('dialwell:signed-out', out);
  }, []);
  useEffect(() => {
    if (me === null && !hash.startsWith('#/sign-in')) location.hash = '#/sign-in';
    if (me && (hash === '' || hash === '#/' || hash.startsWith('#/sign-in'))) location.hash = homeOf(me);
  }, [me, hash]);
  useEffect(() => {
    const title = hash.replace(/^#\/?/, '').split('/').filter(Boolean).join(' · ') || 'home';
    document.title = `Dialwell · ${title}`;
  }, [hash]);

  if (me === undefined) return <main id="main"><p role="status">Loading…</p></main>;
  if (me === null) return <SignIn onSignedIn={(m) => { setMe(m); location.hash = homeOf(m); }} />;

  const signOut = async () => {
    await beforeSignOut();
    await api.DELETE('/api/v1/session');
    setMe(null);
  };
  const path = hash.replace(/^#\//, '');
  const [view = '', ...rest] = path.split('/');
  let page;
  if (view === 'agent' && me.agentId) page = <AgentView me={me} />;
  else if (view === 'supervisor') page = <SupervisorView me={me} sub={rest[0]} id={rest[1]} />;
  else if (view === 'admin') page = <AdminView me={me} tab={rest[0] ?? 'trunks'} />;
  else if (view === 'qa') page = <QaView me={me} tab={rest[0] ?? 'calls'} id={rest[1]} />;
  else if (view === 'account') page = <Account me={me} />;
  else page = <p>No such page. <a href={homeOf(me)}>Go to your start page</a>.</p>;

  const content = <Suspense fallback={<p role="status">Loading…</p>}>{page}</Suspense>;
  return (
    <>
      <a href="#main" className="skip" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <header className="top">
        <span className="brand">Dialwell</span>
        <nav aria-label="Views">
          <ul>
            {views(me).map((v) => (
              <li key={v.href}><a href={v.href} aria-current={hash.startsWith(v.href.split('/').slice(0, 2).join('/')) ? 'page' : undefined}>{v.label}</a></li>
            ))}
          </ul>
        </nav>
        <span className="who">{me.name} ({me.role})</span>
        <button type="button" className="btn plain" onClick={() => void signOut()}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        {/* A user's browser phone (an agent's, or a supervisor's for listen and whisper) outlives the views (only sign-out ends it). */}
        {me.agentId ? <BrowserPhoneProvider agentId={me.agentId} supervises={me.permissions.includes('calls.supervise')}>{content}</BrowserPhoneProvider> : content}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
