// The local dashboard page: one self-contained HTML document (no CDN, no build) so it works on a
// node with no internet. Config errors are rendered server-side, readable even without JS.
import type { Problem } from '@wattfleet/protocol';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function renderPage(opts: { title: string; configProblems?: Problem[]; configPath?: string }): string {
  const problems = opts.configProblems?.length
    ? `<section class="errors"><h2>Configuration errors — the agent is not running</h2>
<p>Fix <code>${esc(opts.configPath ?? 'the config file')}</code>; the agent keeps this page up meanwhile.</p>
<ul>${opts.configProblems.map((p) => `<li><code>${esc(p.path || '/')}</code> ${esc(p.message)}</li>`).join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(opts.title)}</title>
<style>
body{font:15px system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2730}
header{background:#17324d;color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:baseline}
header h1{font-size:18px;margin:0}main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(320px,1fr))}
section{background:#fff;border-radius:8px;padding:12px 16px;box-shadow:0 1px 2px #0002}
h2{font-size:15px;margin:0 0 8px}table{border-collapse:collapse;width:100%}td{padding:2px 6px;border-bottom:1px solid #eee}
td.v{text-align:right;font-variant-numeric:tabular-nums}.errors{border-left:4px solid #c0392b;grid-column:1/-1}
.alert-error{color:#c0392b}.alert-warning{color:#b7791f}canvas{width:100%;height:220px}select{max-width:100%}
.muted{color:#6b7785}
</style></head><body>
<header><h1>Wattfleet agent</h1><span id="node" class="muted"></span><span id="conn" class="muted"></span></header>
<main>
${problems}
<section><h2>Live values</h2><table id="live"><tr><td class="muted">waiting for readings…</td></tr></table></section>
<section><h2>Last 24 h</h2><select id="series"></select><canvas id="chart" width="600" height="220"></canvas></section>
<section><h2>Uplink and outbox</h2><table id="uplink"></table></section>
<section><h2>Alerts</h2><ul id="alerts"><li class="muted">none</li></ul></section>
<section><h2>Energy per day (kWh)</h2><table id="daily"><tr><td class="muted">no counters yet</td></tr></table></section>
</main>
<script>
const $ = (id) => document.getElementById(id);
const fmt = (v) => Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
const rows = (obj) => Object.entries(obj).map(([k, v]) => '<tr><td>' + k + '</td><td class="v">' + v + '</td></tr>').join('');
function live() {
  const es = new EventSource('api/live');
  es.onopen = () => { $('conn').textContent = 'live'; };
  es.onerror = () => { $('conn').textContent = 'reconnecting…'; };
  es.onmessage = (e) => {
    const data = JSON.parse(e.data); let html = '';
    for (const [eq, metrics] of Object.entries(data.values)) for (const [m, v] of Object.entries(metrics))
      html += '<tr><td>' + (eq || 'node') + '</td><td>' + m + '</td><td class="v">' + fmt(v.value) + '</td></tr>';
    $('live').innerHTML = html || '<tr><td class="muted">no readings yet</td></tr>';
  };
}
async function status() {
  try {
    const s = await (await fetch('api/status')).json();
    $('node').textContent = s.node ? 'node ' + s.node.nodeId : 'not enrolled';
    const o = s.outbox || {}, u = s.uplink || {};
    $('uplink').innerHTML = rows({ 'uplink': u.state ?? '-', 'transport': u.transport ?? '-', 'last success': u.lastSuccessAt ? new Date(u.lastSuccessAt).toLocaleString() : '-',
      'last error': u.lastError ?? '-', 'control channel': s.controlConnected ? 'connected' : 'disconnected',
      'outbox depth': o.depth ?? '-', 'batches waiting': o.batches ?? '-', 'dropped (full)': o.dropped ?? '-', 'refused by hub': o.poisoned ?? '-',
      'clock vs hub': s.clock && s.clock.offsetMs != null ? Math.round(s.clock.offsetMs / 1000) + ' s' : '-',
      'clock (NTP)': !s.ntp || s.ntp.synchronised == null ? 'unknown' : (s.ntp.synchronised ? 'synchronised' : 'not synchronised') + ' (' + s.ntp.via + ')' });
    $('alerts').innerHTML = (s.alerts || []).map((a) => '<li class="alert-' + a.severity + '">' + a.message + '</li>').join('') || '<li class="muted">none</li>';
  } catch { $('conn').textContent = 'agent unreachable'; }
}
async function seriesList() {
  const list = await (await fetch('api/series')).json(); const sel = $('series');
  sel.innerHTML = list.map((s, i) => '<option value="' + i + '">' + (s.equipment || 'node') + ' / ' + s.metric + '</option>').join('');
  sel.onchange = () => chart(list[sel.value]); if (list.length) chart(list[0]);
}
async function chart(s) {
  const pts = await (await fetch('api/history?metric=' + encodeURIComponent(s.metric) + '&equipment=' + encodeURIComponent(s.equipment) + '&hours=24')).json();
  const c = $('chart'), g = c.getContext('2d'); g.clearRect(0, 0, c.width, c.height); if (!pts.length) return;
  const t0 = Date.now() - 86400000, vs = pts.map((p) => p.v), lo = Math.min(0, ...vs), hi = Math.max(...vs, lo + 1);
  const x = (t) => (t - t0) / 86400000 * (c.width - 40) + 40, y = (v) => c.height - 20 - (v - lo) / (hi - lo) * (c.height - 30);
  g.fillStyle = '#6b7785'; g.font = '11px sans-serif'; g.fillText(fmt(hi), 2, 12); g.fillText(fmt(lo), 2, c.height - 20);
  g.strokeStyle = '#2f7fc1'; g.lineWidth = 1.5; g.beginPath(); pts.forEach((p, i) => i ? g.lineTo(x(p.t), y(p.v)) : g.moveTo(x(p.t), y(p.v))); g.stroke();
}
async function daily() {
  const days = (await (await fetch('api/daily')).json()).filter((d) => d.metric.endsWith('_wh'));
  const metrics = [...new Set(days.map((d) => (d.equipment ? d.equipment + '/' : '') + d.metric))];
  const byDate = {};
  for (const d of days) (byDate[d.date] ??= {})[(d.equipment ? d.equipment + '/' : '') + d.metric] = d.delta / 1000;
  if (!metrics.length) return;
  $('daily').innerHTML = '<tr><td></td>' + metrics.map((m) => '<td class="v">' + m.replace(/_wh$/, '') + '</td>').join('') + '</tr>' +
    Object.keys(byDate).sort().reverse().slice(0, 14).map((date) => '<tr><td>' + date + '</td>' +
      metrics.map((m) => '<td class="v">' + (byDate[date][m] === undefined ? '' : byDate[date][m].toFixed(2)) + '</td>').join('') + '</tr>').join('');
}
live(); status(); seriesList(); daily(); setInterval(status, 2000); setInterval(seriesList, 60000); setInterval(daily, 300000);
</script></body></html>`;
}
