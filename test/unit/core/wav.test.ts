import { describe, expect, it } from 'vitest';
import { pcm16MonoWav, pcm16Rms, readWavInfo } from '../../../src/recordings/wav.js';

const wav = (samples: number[], sampleRate = 8000): Buffer => pcm16MonoWav(samples, sampleRate);

describe('WAV header reading', () => {
  it('reads duration from the data chunk', () => {
    const info = readWavInfo(wav(new Array(12000).fill(0)));
    expect(info).toMatchObject({ sampleRate: 8000, channels: 1, bitsPerSample: 16, dataBytes: 24000, durationMs: 1500 });
  });
  it('tells signal from silence', () => {
    expect(pcm16Rms(wav(new Array(800).fill(0)))).toBe(0);
    expect(pcm16Rms(wav(Array.from({ length: 800 }, (_, i) => (i % 2 ? 1000 : -1000))))).toBeCloseTo(1000, 5);
  });
  it('rejects what is not a WAV file', () => {
    expect(() => readWavInfo(Buffer.from('hello world, not a wav'))).toThrow(/RIFF/);
  });
  it('trusts the bytes present when the data size was never patched', () => {
    const b = wav(new Array(8000).fill(0));
    b.writeUInt32LE(0xffffffff, 40);
    expect(readWavInfo(b).durationMs).toBe(1000);
  });
});
