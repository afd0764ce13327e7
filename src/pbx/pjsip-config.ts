// Pushes trunks and agent endpoints into Asterisk's PJSIP configuration live, through ARI's
// dynamic configuration (sorcery.conf maps endpoint/aor/auth to astdb), with no reload.
import type { AriGateway } from './ari.js';

export interface TrunkSpec {
  /** PJSIP object id; also the name in dial strings (PJSIP/<number>@<name>). */
  name: string;
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  username?: string | null;
  password?: string | null;
  codecs: string[];
}

export interface AgentEndpointSpec {
  endpoint: string;
  password?: string | null;
  /** A fixed contact for a softphone that does not register (e.g. sip:127.0.0.1:5080). */
  contactUri?: string | null;
  codecs?: string[];
  /** 'webrtc': the agent's browser (JsSIP) registers over the websocket transport. */
  phoneType?: 'sip' | 'webrtc';
}

const CLASS = 'res_pjsip';

/** What pushing live PJSIP configuration needs of an ARI client (an engine's gateway, or a requests-only one). */
export type PjsipConfigClient = Pick<AriGateway, 'putConfigObject' | 'deleteConfigObject'> & Partial<Pick<AriGateway, 'subscribeEndpoint'>>;

/** Settings every Dialwell leg needs: media through Asterisk (the recorder and the dialer need it). */
function mediaFields(codecs: string[]): Record<string, string> {
  return {
    context: 'dialwell',
    disallow: 'all',
    allow: codecs.join(','),
    direct_media: 'no',
    rtp_symmetric: 'yes',
    force_rport: 'yes',
    rewrite_contact: 'yes',
  };
}

/**
 * Trunks and agent endpoints share PJSIP's namespace: a trunk's objects carry a prefix agents
 * may not use, so that no trunk can overwrite a softphone's endpoint (or the reverse).
 */
export const TRUNK_PREFIX = 'trunk-';
export const trunkObjectId = (name: string): string => `${TRUNK_PREFIX}${name}`;

/** The dial string for a number through a trunk. */
export const trunkDialString = (e164: string, trunkName: string): string => `PJSIP/${e164}@${trunkObjectId(trunkName)}`;

/** The trunk a PJSIP channel runs over, from its name (PJSIP/trunk-<name>-<8 hex digits>), or
 * null for any other channel (an agent's softphone, a Local channel). */
export function trunkNameOfChannel(channel: string): string | null {
  const m = /^PJSIP\/trunk-(.+)-[0-9a-f]{8}$/.exec(channel);
  return m ? m[1]! : null;
}

export async function pushTrunk(ari: PjsipConfigClient, t: TrunkSpec): Promise<void> {
  const transport = `transport-${t.transport}`;
  const id = trunkObjectId(t.name);
  const authId = `${id}-auth`;
  if (t.username && t.password) {
    await ari.putConfigObject(CLASS, 'auth', authId, { auth_type: 'userpass', username: t.username, password: t.password });
  }
  // Asterisk keeps an AOR's permanent contact across updates: replace the AOR to move the trunk.
  await ari.deleteConfigObject(CLASS, 'aor', id);
  await ari.putConfigObject(CLASS, 'aor', id, {
    contact: `sip:${t.host}:${t.port}`,
    qualify_frequency: '0',
  });
  const fields: Record<string, string> = { ...mediaFields(t.codecs), transport, aors: id };
  if (t.username && t.password) fields.outbound_auth = authId;
  await ari.putConfigObject(CLASS, 'endpoint', id, fields);
  // The node's application hears the trunk's customers from their creation (they are originated
  // into the dialplan, not into it): an endpoint deleted and created again (a trunk disabled then
  // enabled) loses that subscription in Asterisk (measured), so every push makes it again.
  await ari.subscribeEndpoint?.('PJSIP', id);
}

export async function removeTrunk(ari: PjsipConfigClient, name: string): Promise<void> {
  const id = trunkObjectId(name);
  await ari.deleteConfigObject(CLASS, 'endpoint', id);
  await ari.deleteConfigObject(CLASS, 'aor', id);
  await ari.deleteConfigObject(CLASS, 'auth', `${id}-auth`);
}

export async function pushAgentEndpoint(ari: PjsipConfigClient, a: AgentEndpointSpec, opts: { contactChanged?: boolean } = {}): Promise<void> {
  if (a.endpoint.startsWith(TRUNK_PREFIX)) throw new Error(`agent endpoint "${a.endpoint}": names starting with "${TRUNK_PREFIX}" are kept for trunks`);
  if (a.password) {
    await ari.putConfigObject(CLASS, 'auth', a.endpoint, { auth_type: 'userpass', username: a.endpoint, password: a.password });
  }
  const aor: Record<string, string> = { max_contacts: '1', remove_existing: 'yes', qualify_frequency: '0' };
  if (a.contactUri) aor.contact = a.contactUri;
  // A fixed contact survives an update (see pushTrunk); replacing the AOR drops a registration, so only when it moved.
  if (opts.contactChanged) await ari.deleteConfigObject(CLASS, 'aor', a.endpoint);
  await ari.putConfigObject(CLASS, 'aor', a.endpoint, aor);
  const fields: Record<string, string> = a.phoneType === 'webrtc'
    ? { ...mediaFields(WEBRTC_CODECS), ...webrtcEndpointFields, aors: a.endpoint }
    : { ...mediaFields(a.codecs ?? ['alaw', 'ulaw']), transport: 'transport-udp', aors: a.endpoint };
  if (a.password) fields.auth = a.endpoint;
  await ari.putConfigObject(CLASS, 'endpoint', a.endpoint, fields);
}

/**
 * What a browser phone needs on top of the media settings: the websocket transport, ICE,
 * DTLS-SRTP with a certificate Asterisk makes itself, AVPF feedback and RTCP multiplexing;
 * opus first (browsers' own codec), ulaw as the fallback. rtp_timeout hangs up a call whose
 * browser vanished without a BYE (a reload), so the phone is called again (AgentPool).
 */
export const webrtcEndpointFields = {
  transport: 'transport-ws',
  webrtc: 'yes',
  dtls_auto_generate_cert: 'yes',
  ice_support: 'yes',
  media_encryption: 'dtls',
  use_avpf: 'yes',
  rtcp_mux: 'yes',
  rtp_timeout: '15',
} as const;
export const WEBRTC_CODECS = ['opus', 'ulaw'];

export async function removeAgentEndpoint(ari: PjsipConfigClient, endpoint: string): Promise<void> {
  await ari.deleteConfigObject(CLASS, 'endpoint', endpoint);
  await ari.deleteConfigObject(CLASS, 'aor', endpoint);
  await ari.deleteConfigObject(CLASS, 'auth', endpoint);
}
