// No secret in a log line: request URLs are logged (observability/logger.ts and request-log.ts),
// so query parameters that can carry a credential (a token pasted into a socket URL by an old
// client, a password in a link) are replaced before the line is written. Headers and bodies are
// not logged at all.

const SECRET_PARAMS = /^(token|access_?token|refresh_?token|password|secret|api_?key)$/i;

export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  let changed = false;
  for (const key of new Set(params.keys())) {
    if (SECRET_PARAMS.test(key)) {
      params.set(key, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, q)}?${params.toString()}` : url;
}
