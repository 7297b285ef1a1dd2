// Live power flow: solar, battery and grid around the home bus. A leg animates only while
// energy moves along it (and in which direction); at night the solar leg is still and reads 0.
// Values that are not live (offline node, nothing recent) are drawn still and greyed, with their
// age, and worded in the past: never animated as if energy were moving now.
import { computeFlow, type FlowLeg, type PowerReadings } from '../lib/flow.ts';
import { kw, relativeTime } from '../lib/format.ts';

interface LegProps {
  id: string;
  label: string;
  leg: FlowLeg;
  x: number;
  y: number;
  detail: string;
  stale: boolean;
}

const CENTER = { x: 150, y: 150 };

function Leg({ id, label, leg, x, y, detail, stale }: LegProps) {
  // "in" moves towards the centre, "out" away from it.
  const [x1, y1, x2, y2] = leg.direction === 'out' ? [CENTER.x, CENTER.y, x, y] : [x, y, CENTER.x, CENTER.y];
  const moving = leg.direction !== 'idle' && !stale;
  return (
    <g data-testid={`flow-${id}`} data-direction={leg.direction} data-watts={Math.round(leg.watts)}>
      <line
        x1={x1}
        y1={y1}
        x2={x2}
        y2={y2}
        className={`flow-line${moving ? ' flow-moving' : ''}`}
        data-animated={moving ? 'true' : 'false'}
      />
      <circle cx={x} cy={y} r={34} className={`flow-node flow-node-${id}`} />
      <text x={x} y={y - 4} textAnchor="middle" className="flow-label">
        {label}
      </text>
      <text x={x} y={y + 14} textAnchor="middle" className="flow-value">
        {leg.present ? kw(leg.watts) : '–'}
      </text>
      <title>{`${label}: ${detail}`}</title>
    </g>
  );
}

function describe(leg: FlowLeg, inWord: string, outWord: string): string {
  if (!leg.present) return 'no data';
  if (leg.direction === 'idle') return 'idle';
  return `${leg.direction === 'in' ? inWord : outWord} ${kw(leg.watts)}`;
}

/**
 * staleSince: set (an ISO time, or null when never) when the values are not live; they are then
 * the last ones received, shown as such.
 */
export function PowerFlow({
  readings,
  staleSince,
  now = Date.now(),
}: {
  readings: PowerReadings;
  staleSince?: string | null | undefined;
  now?: number;
}) {
  const flow = computeFlow(readings);
  const stale = staleSince !== undefined;
  const was = (text: string) => (stale && text !== 'no data' ? `was ${text}` : text);
  const solarText = was(describe(flow.solar, 'producing', 'consuming'));
  const batteryText = was(describe(flow.battery, 'discharging', 'charging'));
  const gridText = was(describe(flow.grid, 'importing', 'exporting'));
  const homeText = was(describe(flow.home, 'feeding back', 'using'));
  const soc = flow.batterySoc === undefined ? '' : ` (${Math.round(flow.batterySoc)} %)`;
  return (
    <figure
      className={`power-flow${stale ? ' power-flow-stale' : ''}`}
      aria-labelledby="flow-caption"
      data-live={stale ? 'false' : 'true'}
    >
      {stale && (
        <p className="stale-note" data-testid="flow-stale">
          Not live: {staleSince ? `last data ${relativeTime(staleSince, now)}` : 'no data received yet'}
        </p>
      )}
      <svg viewBox="0 0 300 300" role="img" aria-label="Power flow diagram">
        <Leg id="solar" label="Solar" leg={flow.solar} x={150} y={40} detail={solarText} stale={stale} />
        <Leg id="grid" label="Grid" leg={flow.grid} x={40} y={150} detail={gridText} stale={stale} />
        <Leg
          id="battery"
          label="Battery"
          leg={flow.battery}
          x={260}
          y={150}
          detail={batteryText + soc}
          stale={stale}
        />
        <Leg id="home" label="Home" leg={flow.home} x={150} y={260} detail={homeText} stale={stale} />
        <circle cx={CENTER.x} cy={CENTER.y} r={8} className="flow-bus" />
      </svg>
      {/* The same facts as text, for screen readers and for people who do not read diagrams. */}
      <figcaption id="flow-caption">
        <ul className="flow-facts">
          <li data-testid="fact-solar">Solar: {solarText}</li>
          <li data-testid="fact-home">Home: {homeText}</li>
          <li data-testid="fact-battery">
            Battery: {batteryText}
            {soc}
          </li>
          <li data-testid="fact-grid">Grid: {gridText}</li>
        </ul>
      </figcaption>
    </figure>
  );
}
