// A small HTTP(S) client on node:http, for the agent's own requests to the hub. Not fetch():
// fetch pulls in undici and its WebAssembly HTTP parser, ~12 MB of resident memory that an agent
// on a Raspberry Pi carries for its whole life (bench: `npm run bench -- agent-rss`).
import http from 'node:http';
import https from 'node:https';

export interface HttpAnswer {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  timeoutMs?: number;
  /** Answers larger than this are cut off with an error: a hub never sends more than a few kB. */
  maxBodyBytes?: number;
}

// Keep-alive: the uplink sends a batch every second; a new TCP (and TLS) handshake each time would
// cost the hub and the Pi more than the batch itself.
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 4 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 4 }),
};

export function httpRequest(target: URL | string, opts: HttpRequestOptions = {}): Promise<HttpAnswer> {
  const url = typeof target === 'string' ? new URL(target) : target;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new Error(`unsupported URL scheme ${url.protocol} (http: or https:)`));
  }
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const lib = url.protocol === 'https:' ? https : http;
  const timeoutMs = opts.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    // One deadline for the whole exchange (connect, answer, body), on a timer this closure owns:
    // a hub that accepts the connection and then never answers must not stall the uplink.
    let timer: NodeJS.Timeout | undefined;
    const req = lib.request(
      url,
      {
        method: opts.method ?? 'GET',
        headers: {
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
        agent: agents[url.protocol as 'http:' | 'https:'],
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const body = new Promise<string>((resolveBody, rejectBody) => {
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBody) {
              res.destroy(new Error(`answer larger than ${maxBody} bytes`));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
          res.on('error', rejectBody);
          // Whatever ended the answer early (reset, destroy on timeout), 'close' comes last.
          res.on('close', () => {
            if (!res.complete) rejectBody(new Error('answer cut off'));
          });
        }).finally(() => clearTimeout(timer));
        body.catch(() => {}); // read or not, a broken answer must not become an unhandled rejection
        const status = res.statusCode ?? 0;
        resolve({
          status,
          ok: status >= 200 && status < 300,
          headers: {
            get: (name) => {
              const v = res.headers[name.toLowerCase()];
              return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
            },
          },
          text: () => body,
        });
      },
    );
    timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    if (opts.body !== undefined) req.end(opts.body);
    else req.end();
  });
}
