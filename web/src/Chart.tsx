// A uPlot line chart with its data as a table behind it: the canvas is hidden from screen
// readers, the table (visually hidden) carries the same figures. The hiding is on a wrapping div:
// a table ignores `width: 1px` and widened the page to its nowrap content.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function LineChart(props: { title: string; x: number[]; series: { label: string; values: (number | null)[]; color: string }[]; format?: (v: number | null) => string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const fmt = props.format ?? ((v: number | null) => (v == null ? '—' : String(v)));
  useEffect(() => {
    if (!box.current) return;
    const opts: uPlot.Options = {
      width: Math.max(300, box.current.clientWidth || 600),
      height: 200,
      series: [{}, ...props.series.map((s) => ({ label: s.label, stroke: s.color, width: 2 }))],
      axes: [{}, {}],
      legend: { show: true },
    };
    plot.current = new uPlot(opts, [props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
    // The chart is rebuilt only when the set of series changes; data updates go through setData.
  }, [props.series.length]);
  useEffect(() => {
    plot.current?.setData([props.x, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  }, [props.x, props.series]);
  const last = props.x.slice(-20);
  const offset = props.x.length - last.length;
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} aria-hidden="true" />
      <div className="sr-only"><table>
        <caption>{props.title} (latest {last.length} points)</caption>
        <thead><tr><th scope="col">Time</th>{props.series.map((s) => <th key={s.label} scope="col">{s.label}</th>)}</tr></thead>
        <tbody>
          {last.map((t, i) => (
            <tr key={t}><th scope="row">{new Date(t * 1000).toLocaleTimeString()}</th>{props.series.map((s) => <td key={s.label}>{fmt(s.values[offset + i] ?? null)}</td>)}</tr>
          ))}
        </tbody>
      </table></div>
    </figure>
  );
}

/**
 * A uPlot bar chart of a few named figures (e.g. a funnel), with the same figures as a table for
 * screen readers. Categories are placed at x = 0..n-1 and labelled on the axis.
 */
export function BarChart(props: { title: string; categories: string[]; values: number[]; color?: string; valueHeader?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!box.current) return;
    const cats = props.categories;
    const bars = uPlot.paths.bars?.({ size: [0.6, 80] });
    const opts: uPlot.Options = {
      width: Math.max(300, box.current.clientWidth || 600),
      height: 200,
      scales: { x: { time: false, range: [-0.5, cats.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
      series: [{}, { label: props.valueHeader ?? 'Count', fill: props.color ?? '#1f5fbf', stroke: props.color ?? '#1f5fbf', ...(bars ? { paths: bars } : {}), points: { show: false } }],
      axes: [{ splits: () => cats.map((_, i) => i), values: (_u, ticks) => ticks.map((t) => cats[t] ?? '') }, {}],
      legend: { show: false },
    };
    const plot = new uPlot(opts, [cats.map((_, i) => i), props.values] as uPlot.AlignedData, box.current);
    return () => plot.destroy();
  }, [props.categories.join('|'), props.values.join('|')]);
  return (
    <figure className="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} aria-hidden="true" />
      <div className="sr-only"><table>
        <caption>{props.title}</caption>
        <thead><tr><th scope="col">Step</th><th scope="col">{props.valueHeader ?? 'Count'}</th></tr></thead>
        <tbody>{props.categories.map((c, i) => <tr key={c}><th scope="row">{c}</th><td>{props.values[i] ?? 0}</td></tr>)}</tbody>
      </table></div>
    </figure>
  );
}
