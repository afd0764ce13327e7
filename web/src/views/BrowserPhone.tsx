// The user's browser phone in the console: for a webrtc phone, the JsSIP softphone
// (web/src/phone/phone.ts) is loaded as a lazy chunk (the agent view's first load stays small),
// started with the credentials of GET /api/v1/agents/:id/phone on every page load (after a reload
// Dialwell calls the new page's phone again) and stopped when the user signs out. It lives at the
// app's level (BrowserPhoneProvider), so moving between views keeps the line. An agent's phone
// answers Dialwell's login call; a supervisor's (the phone their user is linked to) also answers
// a supervision's call (listen, whisper). A SIP phone gets nothing here. The agent view's state
// bar and the supervisor view show registered / connected / audio flowing.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import { api, ok } from '../api';
import type { Phone, PhoneState } from '../phone/phone';
import { onSignOut } from '../signout';

interface PhoneAnswer {
  agentId: string;
  phoneType: 'sip' | 'webrtc';
  webrtc: null | { wsUrl: string; uri: string; authorizationUser: string; password: string; displayName?: string };
}

/** How long login waits for the browser phone to register before telling the agent why not. */
const REGISTER_DEADLINE_MS = 15_000;

export interface BrowserPhone {
  /** `checking` until GET …/phone answers; `sip`: no browser phone; `failed`: could not start. */
  kind: 'checking' | 'sip' | 'webrtc' | 'failed';
  state: PhoneState | null;
  problem: string | null;
  /** Resolves once a browser phone is registered (at once for a SIP phone); rejects past the deadline. */
  beforeLogin(): Promise<void>;
}

/** Who calls a phone: Dialwell's login call, and a supervision's call for those who may supervise. */
const AGENT_CALLERS = ['dialwell'];
const SUPERVISOR_CALLERS = ['dialwell', 'supervision'];

function useBrowserPhone(agentId: string, supervises: boolean): BrowserPhone {
  const [kind, setKind] = useState<BrowserPhone['kind']>('checking');
  const [state, setState] = useState<PhoneState | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const phoneRef = useRef<Phone | null>(null);
  const kindRef = useRef<BrowserPhone['kind']>('checking');

  useEffect(() => {
    let gone = false;
    let phone: Phone | null = null;
    const offs: (() => void)[] = [];
    const setBoth = (k: BrowserPhone['kind']) => {
      kindRef.current = k;
      setKind(k);
    };
    (async () => {
      const answer = await ok<PhoneAnswer>(api.GET('/api/v1/agents/{id}/phone', { params: { path: { id: agentId } } }));
      if (gone) return;
      if (!answer.webrtc) return setBoth('sip');
      const { createPhone } = await import('../phone/phone');
      if (gone) return;
      phone = createPhone({ ...answer.webrtc, answerFrom: supervises ? SUPERVISOR_CALLERS : AGENT_CALLERS });
      phoneRef.current = phone;
      offs.push(phone.on('state', setState));
      offs.push(phone.on('ended', ({ cause }) => setProblem(cause === 'Terminated' || cause === 'Canceled' ? null : `the line ended: ${cause}`)));
      offs.push(phone.on('connected', () => setProblem(null)));
      setBoth('webrtc');
      setState(phone.state);
      phone.start();
    })().catch((e: unknown) => {
      if (gone) return;
      setBoth('failed');
      setProblem(`the browser phone could not start: ${(e as Error).message}`);
    });
    // Sign-out: Dialwell logs the agent out (it hangs the line up) before the phone unregisters;
    // otherwise the pool would keep calling a phone that is gone until its recall deadline.
    const offSignOut = onSignOut(async () => {
      if (!phone) return;
      await api.POST('/api/v1/agents/{id}/logout', { params: { path: { id: agentId } } }).catch(() => undefined);
      phone.stop();
    });
    return () => {
      gone = true;
      offSignOut();
      for (const off of offs) off();
      phone?.stop();
      phoneRef.current = null;
    };
  }, [agentId, supervises]);

  const beforeLogin = useCallback(async () => {
    const deadline = Date.now() + REGISTER_DEADLINE_MS;
    while (Date.now() < deadline) {
      if (kindRef.current === 'sip') return;
      if (kindRef.current === 'failed') break;
      if (phoneRef.current?.state.registered) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    const why = phoneRef.current?.state.error;
    throw new Error(`your browser phone is not registered${why ? ` (${why})` : ''}: check the network and reload the page`);
  }, []);

  return { kind, state, problem, beforeLogin };
}

const PhoneContext = createContext<BrowserPhone | null>(null);

/**
 * Holds the browser phone of a signed-in user with a phone (an agent, or a supervisor linked to
 * one) for as long as they are signed in, whatever the view. `supervises`: the user may listen
 * and whisper (calls.supervise), so the phone answers a supervision's call as well.
 */
export function BrowserPhoneProvider({ agentId, supervises = false, children }: { agentId: string; supervises?: boolean; children: ReactNode }) {
  return <PhoneContext.Provider value={useBrowserPhone(agentId, supervises)}>{children}</PhoneContext.Provider>;
}

/** The signed-in user's phone, or null when their user has none linked (no BrowserPhoneProvider). */
export function useOwnPhone(): BrowserPhone | null {
  return useContext(PhoneContext);
}

/** The signed-in agent's phone (from BrowserPhoneProvider). */
export function useAgentPhone(): BrowserPhone {
  const phone = useContext(PhoneContext);
  if (!phone) throw new Error('useAgentPhone needs a BrowserPhoneProvider (main.tsx puts one around an agent\'s views)');
  return phone;
}

/** What the state bar shows of the browser phone: registered, connected, audio flowing, and problems. */
export function BrowserPhoneStatus({ phone, loggedIn, idle }: { phone: BrowserPhone; loggedIn: boolean; idle?: string }) {
  const s = phone.state;
  const connected = !!s && s.inCall && (s.ice === 'connected' || s.ice === 'completed') && s.dtls === 'connected';
  const parts = !s
    ? ['starting…']
    : [
      s.registered ? 'registered' : 'not registered',
      connected ? 'connected' : s.inCall ? 'connecting…' : idle ?? (loggedIn ? 'waiting for Dialwell\'s call' : 'no call (log in to be called)'),
      ...(connected ? [s.audio.flowing ? 'audio flowing' : 'no audio coming in'] : []),
      ...(connected && s.audio.packetsSent > 0 && s.audio.microphoneEnergy === 0 ? ['your microphone is silent'] : []),
    ];
  const problem = phone.problem ?? s?.error ?? null;
  return (
    <div className="browser-phone">
      <p
        className="phone-status"
        data-testid="browser-phone"
        data-registered={String(!!s?.registered)}
        data-connected={String(connected)}
        data-flowing={String(!!s?.audio.flowing)}
        data-packets-received={s?.audio.packetsReceived ?? 0}
        data-packets-sent={s?.audio.packetsSent ?? 0}
        data-energy-received={s?.audio.totalAudioEnergy ?? 0}
        data-microphone-energy={s?.audio.microphoneEnergy ?? 0}
        data-codec={s?.audio.codec ?? ''}
      >
        Phone (this browser): {parts.join(' · ')}
      </p>
      {problem ? <p role="alert" className="notice error">Phone problem: {problem}</p> : null}
    </div>
  );
}
