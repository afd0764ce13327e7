// Loaded into the `dialwell serve` under test with `node --import`: every FAULTS_PROBE_EVERY_MS it
// appends the process's RSS, heap, open file descriptors and event-loop delay (p99, max, since the
// last sample) to FAULTS_PROBE_FILE, for the soak's growth figures. Reads nothing of the program.
import { appendFileSync, readdirSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.FAULTS_PROBE_FILE;
if (file) {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  setInterval(() => {
    const m = process.memoryUsage();
    const sample = {
      t: Date.now(), pid: process.pid, rss: m.rss, heap: m.heapUsed, fds: readdirSync('/proc/self/fd').length,
      elP99: h.percentile(99) / 1e6, elMax: h.max / 1e6, elMean: h.mean / 1e6,
    };
    h.reset();
    try {
      appendFileSync(file, `${JSON.stringify(sample)}\n`);
    } catch {
      // the run directory is gone: the suite has ended
    }
  }, Number(process.env.FAULTS_PROBE_EVERY_MS ?? 5000)).unref();
}
