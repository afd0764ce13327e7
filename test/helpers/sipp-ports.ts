// sipp started on a free media port of a test file's own range: Asterisk's RTP ports share the
// machine and a busy one may hold the port asked for (sipp then exits at start).
import { Sipp, type SippOptions } from '../../src/sim/sipp.js';

export function sippInMediaRange(from: number, to: number): (opts: Omit<SippOptions, 'mediaPort'>) => Promise<Sipp> {
  let next = from;
  return async (opts) => {
    for (let tries = 0; ; tries++) {
      const mediaPort = next;
      next += 10;
      try {
        return await Sipp.start({ ...opts, mediaPort });
      } catch (err) {
        if (tries >= 20 || next > to - 10 || !/exited at start/.test((err as Error).message)) throw err;
      }
    }
  };
}
