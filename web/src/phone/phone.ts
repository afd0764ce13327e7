// The agent's phone in the browser: a small, framework-free WebRTC softphone on JsSIP. It
// registers with Asterisk over its websocket transport, answers Dialwell's login call by itself
// (the agent's line for the whole session), and reports what the agent's screen shows: registered,
// in call, ICE/DTLS connected, and whether audio flows (getStats() inbound-rtp packets and energy).
// After a page reload a new phone registers again and Dialwell calls it again (AgentPool).
import { UA, WebSocketInterface } from 'jssip';
import type { RTCSession } from 'jssip/lib/RTCSession';
import type { IncomingRTCSessionEvent } from 'jssip/lib/UA';

/** What GET /api/v1/agents/:id/phone answers in `webrtc`. */
export interface PhoneConfig {
  wsUrl: string;
  uri: string;
  authorizationUser: string;
  password: string;
  displayName?: string;
  /** The callers whose calls are answered by themselves (Dialwell's login call comes from
   * `dialwell`, a supervision's from `supervision`); others are refused. */
  answerFrom?: string | readonly string[];
  /** How often getStats() is read while in a call; default 500 ms. */
  statsEveryMs?: number;
  /** Registration lifetime asked of Asterisk, in seconds; default 120. */
  registerExpires?: number;
}

export interface AudioStats {
  /** inbound-rtp: audio packets received from Asterisk (the customer's voice). */
  packetsReceived: number;
  /** outbound-rtp: audio packets sent (the agent's microphone). */
  packetsSent: number;
  /** media-source: the microphone's own energy (zero: a muted or dead microphone). */
  microphoneEnergy: number;
  /** Last received audio level, 0..1. */
  audioLevel: number;
  totalAudioEnergy: number;
  /** Packets arrived since the previous reading, with non-zero energy. */
  flowing: boolean;
  codec: string | null;
}

export interface PhoneState {
  registered: boolean;
  inCall: boolean;
  ice: RTCIceConnectionState | 'none';
  dtls: RTCDtlsTransportState | 'none';
  audio: AudioStats;
  /** The last registration or call failure, for the screen. */
  error: string | null;
}

export interface PhoneEvents {
  /** Any change of the state below; the console renders from it. */
  state: PhoneState;
  /** The login call is answered and its media connected (ICE and DTLS). */
  connected: PhoneState;
  /** Audio began to flow in (the first reading with packets and energy). */
  audio: AudioStats;
  /** The call ended (Dialwell logged the agent out, or the line dropped). */
  ended: { cause: string };
}

export interface Phone {
  readonly state: PhoneState;
  /** Registers; the phone then waits for Dialwell's call. */
  start(): void;
  /** Hangs up and unregisters (sign-out; also done on page hide). */
  stop(): void;
  on<K extends keyof PhoneEvents>(event: K, listener: (value: PhoneEvents[K]) => void): () => void;
}

const noAudio = (): AudioStats => ({ packetsReceived: 0, packetsSent: 0, microphoneEnergy: 0, audioLevel: 0, totalAudioEnergy: 0, flowing: false, codec: null });

/** Reads the call's audio figures from the peer connection's statistics. */
export async function readAudioStats(pc: RTCPeerConnection, previous: AudioStats): Promise<AudioStats> {
  const report = await pc.getStats();
  const next = noAudio();
  const codecs = new Map<string, string>();
  report.forEach((s: { type: string; id: string; mimeType?: string }) => {
    if (s.type === 'codec' && s.mimeType) codecs.set(s.id, s.mimeType);
  });
  report.forEach((s: Record<string, unknown>) => {
    if (s.kind !== 'audio' && s.mediaType !== 'audio') return;
    if (s.type === 'inbound-rtp') {
      next.packetsReceived += Number(s.packetsReceived ?? 0);
      next.audioLevel = Math.max(next.audioLevel, Number(s.audioLevel ?? 0));
      next.totalAudioEnergy += Number(s.totalAudioEnergy ?? 0);
      if (typeof s.codecId === 'string') next.codec = codecs.get(s.codecId) ?? null;
    } else if (s.type === 'outbound-rtp') {
      next.packetsSent += Number(s.packetsSent ?? 0);
    } else if (s.type === 'media-source') {
      next.microphoneEnergy += Number(s.totalAudioEnergy ?? 0);
    }
  });
  next.flowing = next.packetsReceived > previous.packetsReceived && next.totalAudioEnergy > previous.totalAudioEnergy;
  return next;
}

export function createPhone(config: PhoneConfig): Phone {
  // Typed by `on` and `emit`; stored loosely (one set per event name).
  const listeners = new Map<keyof PhoneEvents, Set<(v: never) => void>>();
  const emit = <K extends keyof PhoneEvents>(event: K, value: PhoneEvents[K]): void => {
    for (const l of listeners.get(event) ?? []) (l as (v: PhoneEvents[K]) => void)(value);
  };
  const state: PhoneState = { registered: false, inCall: false, ice: 'none', dtls: 'none', audio: noAudio(), error: null };
  const changed = (patch: Partial<PhoneState>): void => {
    Object.assign(state, patch);
    emit('state', { ...state });
  };

  let ua: UA | null = null;
  let session: RTCSession | null = null;
  let statsTimer: ReturnType<typeof setInterval> | null = null;
  let wasConnected = false;
  let audioSeen = false;
  const speaker = new Audio();
  speaker.autoplay = true;

  const mediaState = (pc: RTCPeerConnection): void => {
    const dtls = pc.getSenders()[0]?.transport?.state ?? 'none';
    changed({ ice: pc.iceConnectionState, dtls });
    if (!wasConnected && (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') && dtls === 'connected') {
      wasConnected = true;
      emit('connected', { ...state });
    }
  };

  // The peer connection exists before or after newRTCSession depending on the direction (JsSIP
  // emits `peerconnection` first on outgoing calls): attach once, whichever comes first.
  const attached = new WeakSet<RTCPeerConnection>();
  const attach = (pc: RTCPeerConnection | undefined): void => {
    if (!pc || attached.has(pc)) return;
    attached.add(pc);
    pc.addEventListener('track', (e) => {
      speaker.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      void speaker.play().catch(() => undefined);
    });
    pc.addEventListener('iceconnectionstatechange', () => mediaState(pc));
    pc.addEventListener('connectionstatechange', () => mediaState(pc));
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = setInterval(() => {
      mediaState(pc);
      readAudioStats(pc, state.audio).then((audio) => {
        changed({ audio });
        if (audio.flowing && !audioSeen) {
          audioSeen = true;
          emit('audio', audio);
        }
      }, () => undefined);
    }, config.statsEveryMs ?? 500);
  };

  const callEnded = (cause: string): void => {
    if (statsTimer) clearInterval(statsTimer);
    statsTimer = null;
    session = null;
    wasConnected = false;
    audioSeen = false;
    speaker.srcObject = null;
    changed({ inCall: false, ice: 'none', dtls: 'none', audio: { ...state.audio, flowing: false } });
    emit('ended', { cause });
  };

  const incoming = (e: IncomingRTCSessionEvent): void => {
    const s = e.session;
    const from = s.remote_identity.uri.user;
    const answered = config.answerFrom === undefined ? null : typeof config.answerFrom === 'string' ? [config.answerFrom] : config.answerFrom;
    if (answered && !answered.includes(from)) {
      s.terminate({ status_code: 486, reason_phrase: 'Busy Here' });
      return;
    }
    if (session && !session.isEnded()) session.terminate();
    session = s;
    s.on('peerconnection', (p) => attach(p.peerconnection));
    s.on('confirmed', () => attach(s.connection));
    s.on('ended', (x) => callEnded(x.cause));
    s.on('failed', (x) => {
      changed({ error: `call failed: ${x.cause}` });
      callEnded(x.cause);
    });
    changed({ inCall: true, error: null, audio: noAudio() });
    // No STUN or TURN server: Asterisk and the browser meet on the addresses they have.
    s.answer({ mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } });
    attach(s.connection);
  };

  const onPageHide = (): void => phone.stop();

  const phone: Phone = {
    get state() {
      return { ...state };
    },
    start() {
      if (ua) return;
      const socket = new WebSocketInterface(config.wsUrl);
      ua = new UA({
        sockets: [socket],
        uri: config.uri,
        authorization_user: config.authorizationUser,
        password: config.password,
        display_name: config.displayName,
        register: true,
        register_expires: config.registerExpires ?? 120,
        session_timers: false,
        user_agent: 'Dialwell browser phone',
      });
      ua.on('registered', () => changed({ registered: true, error: null }));
      ua.on('unregistered', () => changed({ registered: false }));
      ua.on('registrationFailed', (e) => changed({ registered: false, error: `registration failed: ${e.cause ?? 'unknown'}` }));
      ua.on('disconnected', () => changed({ registered: false }));
      ua.on('newRTCSession', (e: IncomingRTCSessionEvent | { originator: string }) => {
        if (e.originator === 'remote') incoming(e as IncomingRTCSessionEvent);
      });
      // A reload or a closed tab: hang up and unregister at once, so Asterisk ends the call now
      // (and Dialwell calls the new page) instead of waiting for the media to time out.
      window.addEventListener('pagehide', onPageHide);
      ua.start();
    },
    stop() {
      window.removeEventListener('pagehide', onPageHide);
      if (session && !session.isEnded()) session.terminate();
      ua?.stop();
      ua = null;
    },
    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      set.add(listener);
      return () => void set.delete(listener);
    },
  };
  return phone;
}
