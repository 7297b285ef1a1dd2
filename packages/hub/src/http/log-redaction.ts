// No secret in a log line: Fastify logs every request's URL, so query parameters that can carry a
// credential (a token pasted into a socket URL by an old client, a password in a link) are
// replaced before the line is written. Headers and bodies are not logged at all.
import type { FastifyRequest } from 'fastify';

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

/** Fastify's own request serializer, with the URL redacted. */
export const redactingSerializers = {
  req(req: FastifyRequest) {
    return {
      method: req.method,
      url: redactUrl(req.url),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket?.remotePort,
    };
  },
};

/** The hub's logger options with the redacting serializers added (false stays false). */
export function withRedaction(logger: boolean | object): boolean | object {
  if (logger === false) return false;
  const base = logger === true ? {} : (logger as { serializers?: object });
  return { ...base, serializers: { ...redactingSerializers, ...(base.serializers ?? {}) } };
}
