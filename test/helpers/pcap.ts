// Writes a G.711 A-law RTP pcap that sipp's play_pcap_audio can send: a short spoken-like burst
// (a tone) and then silence, as a person answering "Hello?" sounds to answering-machine detection.
import { writeFileSync } from 'node:fs';

const SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];

/** ITU-T G.711 A-law encoding of one 16-bit linear sample. */
export function linearToAlaw(sample: number): number {
  let pcm = sample >> 3;
  let mask: number;
  if (pcm >= 0) mask = 0xd5;
  else {
    mask = 0x55;
    pcm = -pcm - 1;
  }
  let seg = 0;
  while (seg < 8 && pcm > SEG_END[seg]!) seg++;
  if (seg >= 8) return 0x7f ^ mask;
  let aval = seg << 4;
  aval |= seg < 2 ? (pcm >> 1) & 0x0f : (pcm >> seg) & 0x0f;
  return aval ^ mask;
}

function ipChecksum(h: Buffer): number {
  let sum = 0;
  for (let i = 0; i < h.length; i += 2) sum += h.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return ~sum & 0xffff;
}

/** `speechMs` of a 440 Hz tone, then `silenceMs` of silence, 20 ms RTP packets, payload type 8. */
export function writeGreetingPcap(file: string, speechMs: number, silenceMs: number): void {
  const packets: Buffer[] = [];
  const total = Math.round((speechMs + silenceMs) / 20);
  for (let k = 0; k < total; k++) {
    const payload = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) {
      const n = k * 160 + i;
      const s = k * 20 < speechMs ? Math.round(12000 * Math.sin((2 * Math.PI * 440 * n) / 8000)) : 0;
      payload[i] = linearToAlaw(s);
    }
    const rtp = Buffer.alloc(12);
    rtp[0] = 0x80;
    rtp[1] = 8;
    rtp.writeUInt16BE(k & 0xffff, 2);
    rtp.writeUInt32BE(k * 160, 4);
    rtp.writeUInt32BE(0x1234abcd, 8);
    const udpLen = 8 + 12 + 160;
    const udp = Buffer.alloc(8);
    udp.writeUInt16BE(6000, 0);
    udp.writeUInt16BE(6002, 2);
    udp.writeUInt16BE(udpLen, 4);
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udpLen, 2);
    ip.writeUInt16BE(k & 0xffff, 4);
    ip[8] = 64;
    ip[9] = 17;
    ip.set([127, 0, 0, 1], 12);
    ip.set([127, 0, 0, 1], 16);
    ip.writeUInt16BE(ipChecksum(ip), 10);
    const eth = Buffer.alloc(14);
    eth.writeUInt16BE(0x0800, 12);
    const frame = Buffer.concat([eth, ip, udp, rtp, payload]);
    const rec = Buffer.alloc(16);
    const usec = k * 20_000;
    rec.writeUInt32LE(Math.floor(usec / 1e6), 0);
    rec.writeUInt32LE(usec % 1e6, 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    packets.push(rec, frame);
  }
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(1, 20);
  writeFileSync(file, Buffer.concat([header, ...packets]));
}
