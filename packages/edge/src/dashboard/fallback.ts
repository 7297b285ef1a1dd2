// Where the error page listens when the config is invalid: the file's own dashboard settings if
// that part of it is readable, else WATTFLEET_DASHBOARD_PORT, else 8081.
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

/** In config-error mode the port still comes from the file when that part of it is readable. */
export function fallbackDashboard(configPath: string): { port: number; host: string } {
  let port = Number(process.env.WATTFLEET_DASHBOARD_PORT ?? 8081);
  let host = '127.0.0.1';
  try {
    const doc = parseDocument(readFileSync(configPath, 'utf8')).toJS() as {
      dashboard?: { port?: unknown; host?: unknown };
      dashboardPort?: unknown;
    };
    const p = doc?.dashboard?.port ?? doc?.dashboardPort;
    if (Number.isInteger(p) && (p as number) >= 0 && (p as number) < 65536) port = p as number;
    if (typeof doc?.dashboard?.host === 'string') host = doc.dashboard.host;
  } catch {}
  return { port, host };
}
