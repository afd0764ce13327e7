// ARI JSON payloads Dialwell reads (Asterisk's rest-api/api-docs/events.json and channels.json),
// reduced to the fields we use.
export interface AriChannel {
  id: string;
  name: string;
  state: string;
  caller?: { name: string; number: string };
  connected?: { name: string; number: string };
  creationtime: string;
  /** app_name "Stasis" with app_data "<app>,<args>" while the channel is in an application. */
  dialplan?: { context: string; exten: string; priority: number; app_name?: string; app_data?: string };
}

export interface AriBridge {
  id: string;
  technology: string;
  bridge_type: string;
  name?: string;
  channels: string[];
}

export interface AriLiveRecording {
  name: string;
  format: string;
  state: string;
  target_uri?: string;
  duration?: number;
  cause?: string;
}

interface Base {
  application: string;
  timestamp: string;
}

export type AriEvent =
  | (Base & { type: 'StasisStart'; channel: AriChannel; args: string[]; replace_channel?: AriChannel })
  | (Base & { type: 'StasisEnd'; channel: AriChannel })
  | (Base & { type: 'ChannelStateChange'; channel: AriChannel })
  | (Base & { type: 'ChannelDestroyed'; channel: AriChannel; cause: number; cause_txt: string })
  | (Base & { type: 'ChannelHangupRequest'; channel: AriChannel; cause?: number; soft?: boolean })
  | (Base & { type: 'Dial'; peer: AriChannel; caller?: AriChannel; dialstatus: string; dialstring?: string })
  | (Base & { type: 'ChannelEnteredBridge'; channel: AriChannel; bridge: AriBridge })
  | (Base & { type: 'ChannelLeftBridge'; channel: AriChannel; bridge: AriBridge })
  | (Base & { type: 'RecordingStarted'; recording: AriLiveRecording })
  | (Base & { type: 'RecordingFinished'; recording: AriLiveRecording })
  | (Base & { type: 'RecordingFailed'; recording: AriLiveRecording })
  | (Base & { type: 'PlaybackFinished'; playback: { id: string; target_uri: string; state: string } })
  | (Base & { type: 'ChannelHold'; channel: AriChannel; musicclass?: string })
  | (Base & { type: 'ChannelUnhold'; channel: AriChannel })
  | (Base & { type: 'ChannelUserevent'; eventname: string; channel?: AriChannel });

export type AriEventType = AriEvent['type'];

/**
 * Every event type Dialwell handles: the application's event filter lets only these through.
 * Each event costs Asterisk CPU to build and send and Dialwell CPU to parse, on the cores they
 * share, so a call brings 5: StasisStart, Dial x3 (dial status; RINGING gives the ringing time) and
 * ChannelDestroyed (plus ChannelHold / ChannelUnhold only when the customer holds: hold time on
 * the CDR). Not asked for: ChannelStateChange (Dial RINGING says the same),
 * ChannelLeftBridge (the recording stops at ChannelDestroyed), ChannelEnteredBridge (the
 * addChannel response says it), StasisEnd, ChannelHangupRequest.
 */
export const ARI_EVENT_TYPES: readonly AriEventType[] = [
  'StasisStart', 'ChannelDestroyed', 'Dial', 'RecordingStarted', 'RecordingFinished', 'RecordingFailed', 'PlaybackFinished',
  'ChannelHold', 'ChannelUnhold',
  // Only the gateway's own probes (is the application active on this websocket?): not routed.
  'ChannelUserevent',
];
export type AriEventOf<T extends AriEventType> = Extract<AriEvent, { type: T }>;

/** The channel an event is about, for routing it to its call or agent session. */
export function eventChannelId(e: AriEvent): string | undefined {
  if (e.type === 'Dial') return e.peer.id;
  if (e.type === 'PlaybackFinished') return e.playback.target_uri.startsWith('channel:') ? e.playback.target_uri.slice(8) : undefined;
  // Asterisk sends more event types than the union names (bridge, endpoint, application events).
  return (e as { channel?: { id?: string } }).channel?.id;
}

export interface OriginateParams {
  endpoint: string;
  channelId: string;
  /** Where the answered channel goes: straight into this Stasis application (with `appArgs`),
   * or to a dialplan extension (which enters Stasis itself, see asterisk-config/extensions.conf). */
  app?: string;
  appArgs?: string;
  dialplan?: { context: string; extension: string; priority?: number };
  callerId?: string;
  timeout?: number;
  variables?: Record<string, string>;
  otherChannelId?: string;
  /** Codecs to offer, in order (e.g. "opus,ulaw" for a browser phone). */
  formats?: string;
}
