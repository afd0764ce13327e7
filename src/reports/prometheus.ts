// Prometheus text exposition format (0.0.4), hand-written: HELP, TYPE, then one sample per line
// with escaped label values. Small enough not to need prom-client.

export type Labels = Record<string, string>;

/** Label values escape backslash, double quote and newline (the format's only escapes). */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text escapes backslash and newline. */
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

export class Exposition {
  private readonly lines: string[] = [];

  /** One metric family; samples with a null value are left out (a rate with no denominator). */
  family(name: string, type: 'counter' | 'gauge', help: string, samples: readonly { labels?: Labels; value: number | null }[]): this {
    if (!NAME.test(name)) throw new Error(`"${name}" is not a Prometheus metric name`);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
    for (const s of samples) {
      if (s.value === null) continue;
      const labels = Object.entries(s.labels ?? {});
      for (const [k] of labels) if (!LABEL.test(k)) throw new Error(`"${k}" is not a Prometheus label name`);
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(',')}}` : '';
      this.lines.push(`${name}${l} ${formatValue(s.value)}`);
    }
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
