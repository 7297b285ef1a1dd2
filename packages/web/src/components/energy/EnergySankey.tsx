// Energy distribution of a period as a Sankey (plain SVG): sources on the left (solar, grid,
// battery), destinations on the right (home, battery, grid). Band widths are the hub's flows
// (analyticsApi.comparison → flows), never re-computed here, so the picture agrees with the tiles.
import type { EnergyFlows } from '../../api/analytics.ts';

type Key = keyof EnergyFlows;
const LINKS: {
  key: Key;
  from: 'solar' | 'grid' | 'battery';
  to: 'home' | 'battery' | 'grid';
  label: string;
}[] = [
  { key: 'solarToHomeKwh', from: 'solar', to: 'home', label: 'Solar → home' },
  { key: 'solarToBatteryKwh', from: 'solar', to: 'battery', label: 'Solar → battery' },
  { key: 'solarToGridKwh', from: 'solar', to: 'grid', label: 'Solar → grid' },
  { key: 'gridToHomeKwh', from: 'grid', to: 'home', label: 'Grid → home' },
  { key: 'gridToBatteryKwh', from: 'grid', to: 'battery', label: 'Grid → battery' },
  { key: 'batteryToHomeKwh', from: 'battery', to: 'home', label: 'Battery → home' },
  { key: 'batteryToGridKwh', from: 'battery', to: 'grid', label: 'Battery → grid' },
];
const COLOUR = { solar: '#e0a100', grid: '#6b7a90', battery: '#2f9e6e', home: '#3b6fd6' };
const W = 360;
const H = 220;
const GAP = 12;
const NODE_W = 10;

/** Stack nodes of one side top to bottom, heights proportional to their totals. */
function layout(totals: Record<string, number>, scale: number) {
  const pos: Record<string, { y: number; h: number }> = {};
  let y = 0;
  for (const [name, v] of Object.entries(totals)) {
    pos[name] = { y, h: v * scale };
    y += v * scale + GAP;
  }
  return pos;
}

export function EnergySankey({ flows }: { flows: EnergyFlows }) {
  const links = LINKS.filter((l) => flows[l.key] > 0);
  const total = links.reduce((s, l) => s + flows[l.key], 0);
  if (total === 0) return <p className="muted">no data</p>;
  const sum = (side: 'from' | 'to', name: string) =>
    links.filter((l) => l[side] === name).reduce((s, l) => s + flows[l.key], 0);
  const left = Object.fromEntries(
    ['solar', 'grid', 'battery'].map((n) => [n, sum('from', n)]).filter(([, v]) => v),
  );
  const right = Object.fromEntries(
    ['home', 'battery', 'grid'].map((n) => [n, sum('to', n)]).filter(([, v]) => v),
  );
  const scale = (H - GAP * 2) / total;
  const lp = layout(left, scale);
  const rp = layout(right, scale);
  const lOff: Record<string, number> = {};
  const rOff: Record<string, number> = {};
  const x0 = 70 + NODE_W;
  const x1 = W - 70 - NODE_W;
  return (
    <figure className="sankey" data-testid="energy-sankey">
      <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="Energy distribution">
        {links.map((l) => {
          const w = flows[l.key] * scale;
          const a = (lp[l.from]?.y ?? 0) + (lOff[l.from] ?? 0) + w / 2;
          const b = (rp[l.to]?.y ?? 0) + (rOff[l.to] ?? 0) + w / 2;
          lOff[l.from] = (lOff[l.from] ?? 0) + w;
          rOff[l.to] = (rOff[l.to] ?? 0) + w;
          const mid = (x0 + x1) / 2;
          return (
            <path
              key={l.key}
              d={`M${x0},${a} C${mid},${a} ${mid},${b} ${x1},${b}`}
              stroke={COLOUR[l.from]}
              strokeOpacity={0.45}
              strokeWidth={Math.max(1, w)}
              fill="none"
            >
              <title>{`${l.label}: ${flows[l.key].toFixed(1)} kWh`}</title>
            </path>
          );
        })}
        {Object.entries(lp).map(([n, p]) => (
          <g key={`l-${n}`}>
            <rect x={70} y={p.y} width={NODE_W} height={Math.max(1, p.h)} fill={COLOUR[n as 'solar']} />
            <text
              x={64}
              y={p.y + p.h / 2}
              textAnchor="end"
              dominantBaseline="middle"
              fill="currentColor"
              fontSize={11}
            >
              {n}
            </text>
          </g>
        ))}
        {Object.entries(rp).map(([n, p]) => (
          <g key={`r-${n}`}>
            <rect x={x1} y={p.y} width={NODE_W} height={Math.max(1, p.h)} fill={COLOUR[n as 'home']} />
            <text
              x={x1 + NODE_W + 6}
              y={p.y + p.h / 2}
              dominantBaseline="middle"
              fill="currentColor"
              fontSize={11}
            >
              {n}
            </text>
          </g>
        ))}
      </svg>
      {/* The same flows as text: readable without the picture and checked by the browser test. */}
      <ul className="sankey-legend">
        {links.map((l) => (
          <li key={l.key} data-flow={l.key} data-kwh={flows[l.key]}>
            {l.label}: {flows[l.key].toFixed(1)} kWh
          </li>
        ))}
      </ul>
    </figure>
  );
}
