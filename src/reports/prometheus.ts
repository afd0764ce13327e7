// Prometheus exposition through prom-client: the process's own metrics (collectDefaultMetrics:
// CPU, memory, event-loop lag, GC, handles, file descriptors) in one registry per process, and the
// helper that declares Dialwell's families, whose samples are computed at each scrape.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';

export type Labels = Record<string, string>;
export interface Sample {
  labels: Labels;
  /** null: no sample (a rate with no denominator). */
  value: number | null;
}

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

let processRegistry: Registry | undefined;

/** The process's metrics, collected once per process (they describe the process, not a server). */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * Declares one family on `registry`: at each scrape its samples are `samples(await snapshot())`,
 * replacing the previous scrape's (a label set gone from the record is gone from the output).
 */
export function family<S>(
  registry: Registry,
  snapshot: () => Promise<S>,
  def: { type: 'counter' | 'gauge'; name: string; help: string; labelNames: readonly string[]; samples: (s: S) => Sample[] },
): void {
  const { type, name, help, labelNames, samples } = def;
  const fill = async (metric: { reset(): void }, put: (labels: Labels, value: number) => void): Promise<void> => {
    const s = await snapshot();
    metric.reset();
    for (const x of samples(s)) if (x.value !== null) put(x.labels, x.value);
  };
  if (type === 'counter') {
    // Our counters are totals read from the record at each scrape: set by inc from zero.
    const c: Counter = new Counter({ name, help, labelNames, registers: [registry], collect: () => fill(c, (l, v) => c.inc(l, v)) });
  } else {
    const g: Gauge = new Gauge({ name, help, labelNames, registers: [registry], collect: () => fill(g, (l, v) => g.set(l, v)) });
  }
}
