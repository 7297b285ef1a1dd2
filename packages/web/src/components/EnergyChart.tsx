// uPlot wrapper: a power line for one day or grouped energy bars per day / month, always in the
// site's time zone (uPlot's tzDate), with axis colours from the page's theme (light or dark) and
// x labels thinned so they never collide on a phone. Recreated when data, theme or shape change.
import { useEffect, useRef, useState } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { clockTime } from '../lib/site-time.ts';

export interface ChartSeries {
  label: string;
  color: string;
  values: (number | null)[];
}

interface Props {
  /** Seconds since epoch: sample times (line) or bucket starts (bars). */
  xs: number[];
  /** Bars only: bucket ends, seconds. */
  ends?: number[];
  series: ChartSeries[];
  unit: string;
  timeZone: string;
  /** x extent in seconds (the whole local day for a day chart, so its shape reads at a glance). */
  range: [number, number];
  /** Bars only: the label under each bucket ("Mon 30", "Jan"); also the legend's x value. */
  bucketLabel?: (startSec: number) => string;
  height?: number;
  title: string;
}

/** Re-renders when the OS switches between light and dark, so axes follow the theme. */
function useColorScheme(): 'light' | 'dark' {
  const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : undefined;
  const [dark, setDark] = useState(query?.matches ?? false);
  useEffect(() => {
    if (!query) return;
    const on = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener('change', on);
    return () => query.removeEventListener('change', on);
  }, [query]);
  return dark ? 'dark' : 'light';
}

/** Every k-th bucket centre, k chosen so labels of ~labelPx keep apart at this plot width. */
function thinned(centres: number[], plotPx: number, labelPx: number): number[] {
  const fit = Math.max(1, Math.floor(plotPx / labelPx));
  const k = Math.max(1, Math.ceil(centres.length / fit));
  return centres.filter((_, i) => i % k === 0);
}

export function EnergyChart({
  xs,
  ends,
  series,
  unit,
  timeZone,
  range,
  bucketLabel,
  height = 260,
  title,
}: Props) {
  const host = useRef<HTMLDivElement>(null);
  const scheme = useColorScheme();
  const bars = ends !== undefined && bucketLabel !== undefined;
  // biome-ignore lint/correctness/useExhaustiveDependencies: scheme is read through getComputedStyle, so a theme change must rebuild the plot
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const fg = css.getPropertyValue('--fg').trim() || '#1b1f24';
    const line = css.getPropertyValue('--line').trim() || '#d8dde3';
    const axis = { stroke: fg, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    const n = series.length;
    const widths = bars ? xs.map((x, i) => (ends[i] ?? x + 86_400) - x) : [];
    const slot = bars ? (Math.min(...widths) * 0.8) / Math.max(1, n) : 0;
    const centreOf = new Map(xs.map((x, i) => [x + (widths[i] ?? 0) / 2, x]));
    const barPaths = (i: number) =>
      uPlot.paths.bars?.({
        align: 1,
        disp: {
          // Grouped bars: series i sits in its own slot inside its bucket, none hidden behind another.
          x0: { unit: 1, values: () => xs.map((x, k) => x + (widths[k] ?? 0) * 0.1 + i * slot) },
          size: { unit: 1, values: () => xs.map(() => slot * 0.9) },
        },
      });
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
      scales: { x: { time: !bars, range: () => range } },
      axes: [
        bars
          ? {
              ...axis,
              splits: (u) =>
                thinned(
                  [...centreOf.keys()],
                  u.bbox.width / devicePixelRatio,
                  bucketLabel(xs[0] ?? 0).length * 8 + 16,
                ),
              values: (_u, splits) => splits.map((s) => bucketLabel(centreOf.get(s) ?? s)),
            }
          : {
              ...axis,
              space: 56,
              values: (_u, splits) => splits.map((s) => clockTime(s * 1000, timeZone)),
            },
        { ...axis, label: unit, size: 56 },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [
        {
          label: bars ? 'Period' : 'Time',
          value: (_u: uPlot, v: number | null) =>
            v === null ? '–' : bars ? bucketLabel(v) : clockTime(v * 1000, timeZone),
        },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: s.color,
          fill: bars ? s.color : `${s.color}22`,
          width: bars ? 0 : 1.5,
          points: { show: false },
          ...(bars ? { paths: barPaths(i) } : {}),
          value: (_u: uPlot, v: number | null) => (v === null ? 'no data' : `${v.toFixed(2)} ${unit}`),
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
  }, [xs, ends, series, unit, timeZone, range, bucketLabel, bars, height, scheme]);
  return (
    <div
      ref={host}
      className="chart"
      role="img"
      aria-label={title}
      data-points={xs.length}
      data-from={new Date(range[0] * 1000).toISOString()}
      data-to={new Date(range[1] * 1000).toISOString()}
      data-scheme={scheme}
    />
  );
}
