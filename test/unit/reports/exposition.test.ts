// /metrics (prom-client: our families beside the process's own) and the reports' CSV: labels and
// escaping are where both go wrong.
import { describe, expect, it } from 'vitest';
import { csvCell, toCsv } from '../../../src/reports/csv.js';
import { DialwellMetrics, type MetricsSnapshot } from '../../../src/reports/metrics.js';

type Campaign = MetricsSnapshot['live']['campaigns'][number];
const campaign = (id: string, name: string, over: Partial<Campaign> = {}): Campaign => ({
  campaignId: id, campaign: name, since: '2026-12-07T00:00:00.000Z', attempts: 4, liveAnswered: 2, connected: 2, effective: 1, successes: 1, abandoned: 0,
  machines: 0, outcomes: {}, talkSeconds: 60, wrapUpSeconds: 10, connectRate: 0.5, averageHandleSeconds: 35, abandonmentRate: null,
  abandonmentRate30d: 0.01, abandonCap: 0.03, ...over,
} as Campaign);

function snapshot(over: Partial<MetricsSnapshot['live']> = {}, byOutcome = [{ campaignId: 'c1', outcome: 'answered', n: 3 }]): MetricsSnapshot {
  const live: MetricsSnapshot['live'] = { dialer: false, agents: { byState: {}, list: [] }, callsInProgress: { total: 0, byCampaign: [] }, campaigns: [campaign('c1', 'Spring "A"')], ...over };
  return { callsByOutcome: byOutcome, live, names: new Map(live.campaigns.map((c) => [c.campaignId, c.campaign])) };
}

/** The value of the one sample of `name` whose labels include `labels`. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics exposition (prom-client)', () => {
  it('our families with their types and labels, escaped label values, null samples left out', async () => {
    const text = await new DialwellMetrics(async () => snapshot(), 'default').render();
    expect(text).toContain('# TYPE dialwell_calls_total counter');
    expect(text).toContain('# TYPE dialwell_campaign_connect_rate gauge');
    expect(text).toContain('dialwell_calls_total{campaign_id="c1",campaign="Spring \\"A\\"",outcome="answered"} 3');
    expect(sample(text, 'dialwell_campaign_today_calls', { campaign_id: 'c1', stage: 'attempts' })).toBe(4);
    expect(sample(text, 'dialwell_campaign_abandonment_rate', { campaign_id: 'c1', window: '30d' })).toBe(0.01);
    expect(sample(text, 'dialwell_campaign_abandonment_rate', { campaign_id: 'c1', window: 'today' })).toBeUndefined(); // null
    // No dialer in this process: the per-node families have no samples.
    expect(text).not.toMatch(/^dialwell_agents\{/m);
  });

  it('the process\'s own metrics beside ours: CPU, memory, event-loop lag, GC, handles', async () => {
    const text = await new DialwellMetrics(async () => snapshot(), 'default').render();
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_gc_duration_seconds', 'nodejs_active_handles_total', 'nodejs_heap_size_used_bytes']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)?.[1])).toBeGreaterThan(1e6);
  });

  it('agents and calls in progress carry the node label where the dialer runs', async () => {
    const live = { dialer: true, agents: { byState: { ready: 2, 'wrap-up': 1 }, list: [] }, callsInProgress: { total: 2, byCampaign: [{ campaignId: 'c1', phases: { ringing: 1, bridged: 1 } }] } };
    const text = await new DialwellMetrics(async () => snapshot(live), 'node-b').render();
    expect(sample(text, 'dialwell_agents', { node: 'node-b', state: 'ready' })).toBe(2);
    expect(sample(text, 'dialwell_agents', { node: 'node-b', state: 'wrap-up' })).toBe(1);
    expect(sample(text, 'dialwell_agents', { node: 'node-b', state: 'paused' })).toBe(0);
    expect(sample(text, 'dialwell_calls_in_progress', { node: 'node-b', campaign_id: 'c1', phase: 'bridged' })).toBe(1);
  });

  it('one load per scrape; a label set gone from the record is gone from the next scrape', async () => {
    let loads = 0;
    const snaps = [snapshot({}, [{ campaignId: 'c1', outcome: 'busy', n: 1 }]), snapshot({ campaigns: [] }, [{ campaignId: 'c1', outcome: 'answered', n: 5 }])];
    const m = new DialwellMetrics(async () => snaps[loads++]!, 'default');
    const first = await m.render();
    expect(loads).toBe(1);
    expect(sample(first, 'dialwell_calls_total', { outcome: 'busy' })).toBe(1);
    const second = await m.render();
    expect(loads).toBe(2);
    expect(sample(second, 'dialwell_calls_total', { outcome: 'busy' })).toBeUndefined();
    expect(sample(second, 'dialwell_calls_total', { outcome: 'answered' })).toBe(5);
    expect(sample(second, 'dialwell_campaign_connect_rate', { campaign_id: 'c1' })).toBeUndefined();
  });

  it('two servers in one process: each its own families, one set of process metrics', async () => {
    const a = await new DialwellMetrics(async () => snapshot(), 'a').render();
    const b = await new DialwellMetrics(async () => snapshot({ campaigns: [] }), 'b').render();
    expect(sample(a, 'dialwell_campaign_connect_rate', { campaign_id: 'c1' })).toBe(0.5);
    expect(sample(b, 'dialwell_campaign_connect_rate', { campaign_id: 'c1' })).toBeUndefined();
    expect(b.match(/^# TYPE process_resident_memory_bytes /gm)).toHaveLength(1);
  });
});

describe('CSV', () => {
  it.each([
    ['plain', 'plain'],
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['two\nlines', '"two\nlines"'],
    ['=HYPERLINK("x")', '"\'=HYPERLINK(""x"")"'],
    ['+1 formula', "'+1 formula"],
    ['-2', "'-2"],
    ['@cmd', "'@cmd"],
  ])('quotes %j', (v, e) => expect(csvCell(v)).toBe(e));

  it('numbers stay numbers, negative ones too; null is empty', () => {
    expect(csvCell(-2)).toBe('-2');
    expect(csvCell(0.125)).toBe('0.125');
    expect(csvCell(null)).toBe('');
  });

  it('one header line and one line per row, CRLF', () => {
    expect(toCsv(['a', 'b'], [{ a: 1, b: 'x' }, { a: 2 }])).toBe('a,b\r\n1,x\r\n2,\r\n');
  });
});
