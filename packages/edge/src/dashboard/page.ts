// The local dashboard page: one self-contained HTML document (no CDN, no build) so it works on a
// node with no internet. Config errors are rendered server-side, readable even without JS. The
// metric catalogue is embedded, so live values, the chart and the daily table show names and
// units the way the portal does, offline too.
import { METRICS, type Problem } from '@wattfleet/protocol';
import { DASHBOARD_SCRIPT } from './page-script.ts';

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** name → [description, unit, kind]: what the page needs of the catalogue, kept small. */
const CATALOGUE = JSON.stringify(
  Object.fromEntries(METRICS.map((m) => [m.name, [m.description, m.unit, m.kind]])),
).replace(/</g, '\\u003c');

const STYLE = `
:root{color-scheme:light dark}*{box-sizing:border-box}
body{font:15px system-ui,sans-serif;margin:0;background:#f4f6f8;color:#1d2730}
header{background:#17324d;color:#fff;padding:12px 16px;display:flex;flex-wrap:wrap;gap:4px 16px;align-items:baseline}
header h1{font-size:18px;margin:0}header .sub{color:#c9d6e3;font-size:13px;overflow-wrap:anywhere}
main{padding:12px;display:grid;gap:12px;grid-template-columns:repeat(auto-fit,minmax(min(100%,340px),1fr))}
section{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px #0002;min-width:0}
h2{font-size:15px;margin:0 0 8px}.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}td,th{padding:3px 6px;border-bottom:1px solid #eee;text-align:left;font-weight:normal}
th{color:#4f5b66;font-size:13px}.v{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.eq td{font-weight:600;padding-top:8px;border-bottom:none}
.errors{border-left:4px solid #c0392b;grid-column:1/-1}@media (min-width:760px){.wide{grid-column:span 2}}
.alert-error{color:#b42318}.alert-warning{color:#8a5a00}select{max-width:100%;font:inherit;margin-bottom:6px}
.muted{color:#5f6b76}svg{display:block;width:100%;height:240px}svg text{font-size:12px;fill:#4f5b66}
svg .grid{stroke:#e3e8ed}svg .line{fill:none;stroke:#2f7fc1;stroke-width:1.75}svg .dot{fill:#2f7fc1}
@media (prefers-color-scheme:dark){
body{background:#10171e;color:#e6edf3}section{background:#1a242e;box-shadow:none}
td,th{border-bottom-color:#2a3642}th,.muted{color:#a3b0bd}svg text{fill:#b9c5d0}svg .grid{stroke:#2a3642}
svg .line{stroke:#6fb3ee}svg .dot{fill:#6fb3ee}.alert-error{color:#ff9b8f}.alert-warning{color:#f2c55c}a{color:#8cc4ff}}
`;

export function renderPage(opts: { title: string; configProblems?: Problem[]; configPath?: string }): string {
  const problems = opts.configProblems?.length
    ? `<section class="errors"><h2>Configuration errors — the agent is not running</h2>
<p>Fix <code>${esc(opts.configPath ?? 'the config file')}</code>; the agent keeps this page up meanwhile.</p>
<ul>${opts.configProblems.map((p) => `<li><code>${esc(p.path || '/')}</code> ${esc(p.message)}</li>`).join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(opts.title)}</title>
<style>${STYLE}</style></head><body>
<header><h1 id="name">Wattfleet agent</h1><span id="node" class="sub"></span><span id="conn" class="sub"></span></header>
<main>
${problems}
<section><h2>Live values</h2><div class="scroll" tabindex="0" role="region" aria-label="Live values"><table id="live"><tr><td class="muted">waiting for readings…</td></tr></table></div></section>
<section><h2>Last 24 hours</h2><label class="muted" for="series">Series </label><select id="series"></select>
<svg id="chart" role="img" aria-label="chart of the last 24 hours"></svg><p id="chart-note" class="muted"></p></section>
<section><h2>Uplink and outbox</h2><div class="scroll" tabindex="0" role="region" aria-label="Uplink and outbox"><table id="uplink"></table></div></section>
<section><h2>Alerts</h2><ul id="alerts"><li class="muted">none</li></ul></section>
<section class="wide"><h2>Energy per day (kWh)</h2><div class="scroll" tabindex="0" role="region" aria-label="Energy per day"><table id="daily"><tr><td class="muted">no counters yet</td></tr></table></div></section>
</main>
<script>const CATALOGUE = ${CATALOGUE};
${DASHBOARD_SCRIPT}</script></body></html>`;
}
