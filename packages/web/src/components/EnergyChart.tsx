// uPlot wrapper: creates the plot once per data shape, resizes with its container.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

interface Props {
  /** Seconds since epoch (uPlot's convention). */
  xs: number[];
  series: ChartSeries[];
  unit: string;
  bars?: boolean;
  height?: number;
  title: string;
}

export function EnergyChart({ xs, series, unit, bars = false, height = 260, title }: Props) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const paths = bars ? uPlot.paths.bars?.({ size: [0.7, 40] }) : undefined;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      scales: { x: { time: true } },
      axes: [{}, { label: unit, size: 60 }],
      series: [
        {},
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: bars ? `${s.color}99` : `${s.color}22`,
          width: 1.5,
          ...(paths ? { paths } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? '–' : `${v.toFixed(2)} ${unit}`),
        })),
      ],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const observer = new ResizeObserver(() => plot.setSize({ width: Math.max(280, el.clientWidth), height }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [xs, series, unit, bars, height]);
  return <div ref={host} className="chart" role="img" aria-label={title} data-points={xs.length} />;
}
