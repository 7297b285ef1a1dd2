// An agent sends its readings, and takes commands (config pushes, self-updates, a reverse SSH
// tunnel), over its hub connection: in clear text anyone on the path can read the broker password
// and the readings, and tamper with commands. So a plain http:// or mqtt:// / ws:// hub address is
// refused unless it is this machine (loopback: a local hub, a test, an SSH-forwarded port) or the
// installer says so explicitly with `hub.allowInsecure: true` (a lab, a VPN that already encrypts).

const PLAIN = new Set(['http:', 'mqtt:', 'ws:']);

function isLoopback(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why the agent must not use `url` (a plain-text address of another machine without
 * allowInsecure), or undefined when it may. An unparsable URL is left to the schema's checks.
 */
export function insecureHubUrl(url: string, allowInsecure: boolean): string | undefined {
  if (allowInsecure) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (!PLAIN.has(parsed.protocol) || isLoopback(parsed.hostname)) return undefined;
  const secure = parsed.protocol === 'http:' ? 'https://' : parsed.protocol === 'ws:' ? 'wss://' : 'mqtts://';
  return (
    `${parsed.protocol}// to ${parsed.hostname} is not encrypted: use ${secure} ` +
    '(or set hub.allowInsecure: true for a network that is already encrypted)'
  );
}
