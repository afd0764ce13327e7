// A uPlot line chart with its data as a table behind it: the canvas is hidden from screen
// readers, the table (visually hidden) carries the same figures.
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
      <table className="sr-only">
        <caption>{props.title} (latest {last.length} points)</caption>
        <thead><tr><th scope="col">Time</th>{props.series.map((s) => <th key={s.label} scope="col">{s.label}</th>)}</tr></thead>
        <tbody>
          {last.map((t, i) => (
            <tr key={t}><th scope="row">{new Date(t * 1000).toLocaleTimeString()}</th>{props.series.map((s) => <td key={s.label}>{fmt(s.values[offset + i] ?? null)}</td>)}</tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}
