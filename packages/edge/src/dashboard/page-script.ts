// The local dashboard's browser script, kept apart from the page's markup. Plain ES2020 for any
// browser an installer carries; it reads only the agent's own /api/* answers and the embedded
// CATALOGUE (name → [description, unit, kind]). Times are shown in the site's zone, not the
// browser's: the installer's laptop may be set to another one.
export const DASHBOARD_SCRIPT = `
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
let ZONE = 'UTC';
const meta = (m) => CATALOGUE[m] || [m, '', m.endsWith('_wh') ? 'energy' : m.endsWith('_w') ? 'power' : 'gauge'];
const label = (m) => meta(m)[0];
const fixed = (v, d) => v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
function withUnit(m, v) {
  if (typeof v !== 'number' || !isFinite(v)) return '–';
  const unit = meta(m)[1];
  if (m === 'relay_state') return v ? 'on' : 'off';
  if (unit === 'W') return Math.abs(v) >= 1000 ? fixed(v / 1000, 2) + ' kW' : fixed(v, 0) + ' W';
  if (unit === 'Wh') return Math.abs(v) >= 1e7 ? fixed(v / 1e6, 2) + ' MWh' : fixed(v / 1000, 2) + ' kWh';
  if (unit === '%') return fixed(v, 0) + ' %';
  if (unit === 'V' || unit === '°C') return fixed(v, 1) + ' ' + unit;
  if (unit === 'A' || unit === 'Hz') return fixed(v, 2) + ' ' + unit;
  return fixed(v, Math.abs(v) >= 100 ? 0 : 2) + (unit ? ' ' + unit : '');
}
const clock = (t, withDate) => new Intl.DateTimeFormat('en-GB', withDate
  ? { timeZone: ZONE, dateStyle: 'medium', timeStyle: 'short' } : { timeZone: ZONE, hour: '2-digit', minute: '2-digit' }).format(t);
const rows = (obj) => Object.entries(obj).map(([k, v]) => '<tr><td>' + esc(k) + '</td><td class="v">' + esc(v) + '</td></tr>').join('');

function live() {
  const es = new EventSource('api/live');
  es.onopen = () => { $('conn').textContent = 'live'; };
  es.onerror = () => { $('conn').textContent = 'reconnecting…'; };
  es.onmessage = (e) => {
    const data = JSON.parse(e.data); let html = '';
    const groups = Object.entries(data.values);
    for (const [eq, metrics] of groups) {
      if (groups.length > 1 || eq) html += '<tr class="eq"><td colspan="2">' + esc(eq || 'node') + '</td></tr>';
      for (const [m, v] of Object.entries(metrics).sort((a, b) => rank({ metric: a[0] }) - rank({ metric: b[0] })))
        html += '<tr><td title="' + esc(m) + '">' + esc(label(m)) + '</td><td class="v" data-metric="' + esc(m) + '">' + esc(withUnit(m, v.value)) + '</td></tr>';
    }
    $('live').innerHTML = html || '<tr><td class="muted">no readings yet</td></tr>';
  };
}

async function status() {
  try {
    const s = await (await fetch('api/status')).json();
    if (s.site && s.site.timezone) ZONE = s.site.timezone;
    $('name').textContent = (s.node && s.node.name) || s.hostname || 'Wattfleet agent';
    $('node').textContent = (s.node ? 'node ' + s.node.nodeId : 'not enrolled') + ' · site time ' + ZONE + ' · agent ' + (s.agentVersion || '?');
    const o = s.outbox || {}, u = s.uplink || {};
    $('uplink').innerHTML = rows({ 'Uplink': u.state || '–', 'Transport': u.transport || '–', 'Last success': u.lastSuccessAt ? clock(new Date(u.lastSuccessAt), true) : '–',
      'Last error': u.lastError || '–', 'Control channel': s.controlConnected ? 'connected' : 'disconnected',
      'Readings waiting': o.depth != null ? o.depth : '–', 'Batches waiting': o.batches != null ? o.batches : '–', 'Dropped (outbox full)': o.dropped != null ? o.dropped : '–', 'Refused by hub': o.poisoned != null ? o.poisoned : '–',
      'Clock vs hub': s.clock && s.clock.offsetMs != null ? Math.round(s.clock.offsetMs / 1000) + ' s' : '–',
      'Clock (NTP)': !s.ntp || s.ntp.synchronised == null ? 'unknown' : (s.ntp.synchronised ? 'synchronised' : 'not synchronised') + ' (' + s.ntp.via + ')' });
    $('alerts').innerHTML = (s.alerts || []).map((a) => '<li class="alert-' + esc(a.severity) + '">' + esc(a.message) + '</li>').join('') || '<li class="muted">none</li>';
  } catch { $('conn').textContent = 'agent unreachable'; }
}

// The chart opens on a power series (what an installer checks first), never on a cumulative
// counter, and keeps the chosen series when the list refreshes.
const PREFERRED = ['solar_w', 'load_w', 'grid_w', 'battery_w', 'power_w'];
const rank = (s) => { const p = PREFERRED.indexOf(s.metric); if (p >= 0) return p; const k = meta(s.metric)[2]; return k === 'power' ? 10 : k === 'gauge' ? 20 : k === 'state' ? 30 : 40; };
let seriesAll = [], chosen = null, points = [];
async function seriesList() {
  seriesAll = await (await fetch('api/series')).json();
  const key = (s) => s.equipment + '/' + s.metric;
  if (!chosen || !seriesAll.some((s) => key(s) === key(chosen)))
    chosen = seriesAll.slice().sort((a, b) => rank(a) - rank(b))[0] || null;
  const sel = $('series');
  sel.innerHTML = seriesAll.map((s, i) => '<option value="' + i + '"' + (chosen && key(s) === key(chosen) ? ' selected' : '') + '>' +
    esc((s.equipment ? s.equipment + ' · ' : '') + label(s.metric) + (meta(s.metric)[1] ? ' (' + meta(s.metric)[1] + ')' : '')) + '</option>').join('');
  sel.onchange = () => { chosen = seriesAll[sel.value]; loadChart(); };
  loadChart();
}
async function loadChart() {
  if (!chosen) return;
  const s = chosen;
  const got = await (await fetch('api/history?metric=' + encodeURIComponent(s.metric) + '&equipment=' + encodeURIComponent(s.equipment) + '&hours=24')).json();
  // An answer for a series no longer chosen (the list refreshed, the user switched) is dropped.
  if (s !== chosen) return;
  points = got; draw();
}
function niceStep(span) { const p = Math.pow(10, Math.floor(Math.log10(span / 4))); return [1, 2, 5, 10].map((k) => k * p).find((x) => span / x <= 5); }
// Axis labels in one unit for the whole axis (kW once values reach 1 kW, kWh or MWh for counters)
// with as many decimals as the tick step needs.
function axisFormat(m, hi, step) {
  const unit = meta(m)[1];
  // A narrow range (a fresh counter moved a few Wh) stays in the base unit, or every label would
  // round to the same kWh.
  const [scale, suffix] = unit === 'W' ? (hi >= 1000 && step >= 100 ? [1000, 'kW'] : [1, 'W'])
    : unit === 'Wh' ? (step < 100 ? [1, 'Wh'] : hi >= 1e7 && step >= 1e5 ? [1e6, 'MWh'] : [1000, 'kWh']) : [1, unit];
  const decimals = Math.min(3, Math.max(0, Math.ceil(-Math.log10(step / scale))));
  return (v) => fixed(v / scale, decimals) + (suffix ? ' ' + suffix : '');
}
function draw() {
  const svg = $('chart'), w = Math.max(svg.clientWidth, 200), h = 240, R = 10, T = 10, B = 26;
  const m = chosen ? chosen.metric : '';
  svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h); svg.dataset.metric = m;
  const counter = meta(m)[2] === 'energy';
  $('chart-note').textContent = !chosen ? 'no readings in the last 24 hours' : counter ? 'A cumulative counter: its daily figures are in “Energy per day”.' : '';
  const now = Date.now(), t0 = now - 86400000, vs = points.map((p) => p.v);
  // Power and gauges keep zero in view; a counter's axis spans its own values, so its rise shows.
  let lo = counter && vs.length ? Math.min(...vs) : Math.min(0, ...vs), hi = Math.max(...vs, lo + 1);
  const step = niceStep(hi - lo); lo = Math.floor(lo / step) * step; hi = Math.ceil(hi / step) * step;
  const tickText = axisFormat(m, Math.max(Math.abs(hi), Math.abs(lo)), step), ticks = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push([v, tickText(v)]);
  // Room for the longest value label, so none is cut at the left edge.
  const L = 12 + 7.5 * Math.max(...ticks.map((t) => t[1].length));
  const x = (t) => L + (t - t0) / 86400000 * (w - L - R), y = (v) => T + (hi - v) / (hi - lo) * (h - T - B);
  let out = '';
  for (const [v, text] of ticks)
    out += '<line class="grid" x1="' + L + '" x2="' + (w - R) + '" y1="' + y(v) + '" y2="' + y(v) + '"/><text x="' + (L - 6) + '" y="' + (y(v) + 4) + '" text-anchor="end">' + esc(text) + '</text>';
  const every = (w < 480 ? 6 : 3) * 3600000;
  for (let t = Math.ceil(t0 / every) * every; t <= now; t += every) {
    out += '<line class="grid" x1="' + x(t) + '" x2="' + x(t) + '" y1="' + T + '" y2="' + (h - B) + '"/><text class="tick" x="' + x(t) + '" y="' + (h - 8) + '" text-anchor="middle">' + clock(t, false) + '</text>';
  }
  if (points.length) out += '<polyline class="line" points="' + points.map((p) => x(p.t).toFixed(1) + ',' + y(p.v).toFixed(1)).join(' ') + '"/>';
  // A new agent has only a few buckets: dots, so they do not vanish as a zero-length line.
  if (points.length < 20) out += points.map((p) => '<circle class="dot" r="3" cx="' + x(p.t).toFixed(1) + '" cy="' + y(p.v).toFixed(1) + '"/>').join('');
  svg.innerHTML = out;
}

const DAILY = ['solar_wh', 'load_wh', 'grid_import_wh', 'grid_export_wh', 'battery_charge_wh', 'battery_discharge_wh'];
const SHORT = { solar_wh: 'Solar', load_wh: 'Home', grid_import_wh: 'Import', grid_export_wh: 'Export', battery_charge_wh: 'Battery in', battery_discharge_wh: 'Battery out' };
async function daily() {
  const days = (await (await fetch('api/daily')).json()).filter((d) => d.metric.endsWith('_wh'));
  // Named by equipment only when there are several (one source needs no prefix on every column).
  const several = new Set(days.map((d) => d.equipment)).size > 1;
  const col = (d) => (several && d.equipment ? d.equipment + ' · ' : '') + (SHORT[d.metric] || label(d.metric).replace(/ counter$/, ''));
  const order = (d) => { const i = DAILY.indexOf(d.metric); return (i < 0 ? 99 : i) + (several && d.equipment ? 100 : 0); };
  const cols = [...new Map(days.slice().sort((a, b) => order(a) - order(b)).map((d) => [col(d), d])).keys()];
  const byDate = {};
  for (const d of days) (byDate[d.date] = byDate[d.date] || {})[col(d)] = d.delta / 1000;
  // Battery columns of a site without a battery (zero every day) are left out.
  const shown = cols.filter((c) => !/^(.* · )?Battery/.test(c) || Object.values(byDate).some((v) => v[c]));
  if (!shown.length) return;
  $('daily').innerHTML = '<tr><th>Day</th>' + shown.map((c) => '<th class="v">' + esc(c) + '</th>').join('') + '</tr>' +
    Object.keys(byDate).sort().reverse().slice(0, 14).map((date) => '<tr><td class="v">' + esc(date) + '</td>' +
      shown.map((c) => '<td class="v">' + (byDate[date][c] === undefined ? '–' : fixed(byDate[date][c], 2)) + '</td>').join('') + '</tr>').join('');
}

status().then(() => { live(); seriesList(); daily(); });
setInterval(status, 2000); setInterval(seriesList, 60000); setInterval(daily, 300000);
window.addEventListener('resize', () => draw());
`;
