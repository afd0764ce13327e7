// The media side of a phone in a test: a UDP socket that a sipp scenario names in its SDP
// (test/sipp/rtp-peer-phone.xml, m=audio @rtp_port@), so this process receives the RTP Asterisk
// sends that phone and answers it with a tone of its own (G.711 A-law, 20 ms packets) from the same
// port (Asterisk's symmetric RTP locks onto it). What a party heard is then measured per
// frequency (Goertzel): who hears whose tone says where the audio went.
import dgram from 'node:dgram';
import { linearToAlaw } from './pcap.js';

const RATE = 8000;
const FRAME = 160;

/** ITU-T G.711 A-law decoding of one byte to a 16-bit linear sample. */
export function alawToLinear(a: number): number {
  a ^= 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else if (seg === 1) t += 0x108;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/** The amplitude of `freq` in one block of samples (Goertzel, Hann window): ~A for a sine of amplitude A. */
function blockLevel(samples: Int16Array | number[], from: number, n: number, freq: number): number {
  const k = 2 * Math.cos((2 * Math.PI * freq) / RATE);
  let s1 = 0;
  let s2 = 0;
  let gain = 0;
  for (let i = 0; i < n; i++) {
    const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    gain += w;
    const s = samples[from + i]! * w + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  const power = s1 * s1 + s2 * s2 - k * s1 * s2;
  return (2 * Math.sqrt(Math.max(0, power))) / gain;
}

/**
 * How loud `freq` is in the samples: the median over 100 ms blocks of each block's amplitude, so
 * a gap or a phase jump between packets (a snoop's frames are not one continuous signal) lowers
 * one block, not the whole measure; the window keeps another party's tone out of this one's.
 */
export function toneLevel(samples: Int16Array | number[], freq: number): number {
  const n = 800;
  const levels: number[] = [];
  for (let from = 0; from + n <= samples.length; from += n) levels.push(blockLevel(samples, from, n, freq));
  if (levels.length === 0) return 0;
  levels.sort((a, b) => a - b);
  return levels[Math.floor(levels.length / 2)]!;
}

/** The 16-bit mono samples of a PCM WAV file (Asterisk's `wav` recordings). */
export function wavSamples(buf: Buffer): Int16Array {
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'data') {
      const bytes = Math.min(size, buf.length - off - 8);
      const out = new Int16Array(Math.floor(bytes / 2));
      for (let i = 0; i < out.length; i++) out[i] = buf.readInt16LE(off + 8 + i * 2);
      return out;
    }
    off += 8 + size + (size % 2);
  }
  throw new Error('no data chunk in the WAV file');
}

export class RtpPeer {
  private readonly received: { at: number; samples: Int16Array }[] = [];
  private remote: { address: string; port: number } | null = null;
  private timer: NodeJS.Timeout | null = null;
  private seq = Math.floor(Math.random() * 0xffff);
  private ts = 0;
  private phase = 0;
  private readonly ssrc = Math.floor(Math.random() * 0xffffffff);

  private constructor(
    private readonly sock: dgram.Socket,
    readonly port: number,
    /** The tone this party speaks (Hz), or null for silence. */
    public toneHz: number | null,
  ) {
    sock.on('message', (msg, rinfo) => {
      if (msg.length <= 12) return;
      this.remote = { address: rinfo.address, port: rinfo.port };
      // RTP header: 12 bytes plus 4 per CSRC; payload type 8 (PCMA) is all Asterisk sends these phones.
      const cc = msg[0]! & 0x0f;
      const payload = msg.subarray(12 + 4 * cc);
      const samples = new Int16Array(payload.length);
      for (let i = 0; i < payload.length; i++) samples[i] = alawToLinear(payload[i]!);
      this.received.push({ at: Date.now(), samples });
    });
  }

  /** `address`: where the socket listens (the sipp phone's own address, as its SDP names it). */
  static async open(port: number, toneHz: number | null, address = '127.0.0.1'): Promise<RtpPeer> {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, address, () => resolve());
    });
    const p = new RtpPeer(sock, port, toneHz);
    p.timer = setInterval(() => p.sendFrame(), 20);
    return p;
  }

  /** Sends 20 ms of the tone (or silence) to wherever Asterisk's RTP for this phone comes from. */
  private sendFrame(): void {
    if (!this.remote) return;
    const header = Buffer.alloc(12);
    header[0] = 0x80;
    header[1] = 8;
    header.writeUInt16BE(this.seq, 2);
    header.writeUInt32BE(this.ts >>> 0, 4);
    header.writeUInt32BE(this.ssrc >>> 0, 8);
    this.seq = (this.seq + 1) & 0xffff;
    this.ts += FRAME;
    const payload = Buffer.alloc(FRAME);
    for (let i = 0; i < FRAME; i++) {
      const v = this.toneHz === null ? 0 : Math.round(8000 * Math.sin(this.phase));
      if (this.toneHz !== null) this.phase += (2 * Math.PI * this.toneHz) / RATE;
      payload[i] = linearToAlaw(v);
    }
    this.sock.send(Buffer.concat([header, payload]), this.remote.port, this.remote.address);
  }

  /** Packets received so far (a phone that received none was never sent media). */
  get packets(): number {
    return this.received.length;
  }

  /** The samples received between two instants (ms since the epoch). */
  heard(from: number, to = Date.now()): Int16Array {
    const parts = this.received.filter((r) => r.at >= from && r.at <= to);
    const out = new Int16Array(parts.reduce((n, p) => n + p.samples.length, 0));
    let off = 0;
    for (const p of parts) {
      out.set(p.samples, off);
      off += p.samples.length;
    }
    return out;
  }

  /** The level of `freq` in what this phone heard between two instants. */
  levelOf(freq: number, from: number, to = Date.now()): number {
    return toneLevel(this.heard(from, to), freq);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.sock.close();
  }
}
