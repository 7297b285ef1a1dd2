// Outbound requests to addresses users typed in (webhook and Slack channels) must not reach the
// hub's own network: loopback, private (RFC 1918), CGNAT, link-local (cloud metadata at
// 169.254.169.254), unique-local (fd00:ec2::254 and friends), multicast, reserved and the IPv6
// forms that embed an IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64, 6to4,
// Teredo). Only globally routable unicast addresses pass, decided by ipaddr.js's range tables.
//
// The check runs where the connection is made: a custom DNS lookup validates every address the
// name resolves to and the socket connects to exactly the address that was checked, so a name
// that resolves to a public address at creation and to 127.0.0.1 at delivery (DNS rebinding) is
// refused then. Redirects are followed by hand, each hop checked again.
//
// NOTIFY_ALLOW_HOSTS (comma-separated host names, IP addresses or CIDR ranges) lets an operator
// permit internal targets on purpose (an on-premise chat server, the tests' loopback stand-ins).
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface AllowList {
  hosts: Set<string>;
  ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

/** Parses NOTIFY_ALLOW_HOSTS; a malformed range is a configuration error, said at start. */
export function parseAllowList(raw: string | readonly string[] | undefined): AllowList {
  const entries = (typeof raw === 'string' ? raw.split(',') : (raw ?? []))
    .map((s) => s.trim())
    .filter(Boolean);
  const list: AllowList = { hosts: new Set(), ranges: [] };
  for (const e of entries) {
    if (e.includes('/')) {
      if (!ipaddr.isValidCIDR(e)) throw new Error(`NOTIFY_ALLOW_HOSTS: "${e}" is not a CIDR range`);
      list.ranges.push(ipaddr.parseCIDR(e));
    } else if (ipaddr.isValid(stripBrackets(e))) {
      const addr = unwrap(ipaddr.parse(stripBrackets(e)));
      list.ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
    } else {
      list.hosts.add(e.toLowerCase());
    }
  }
  return list;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** ::ffff:127.0.0.1 is 127.0.0.1: judge the IPv4 address inside. */
function unwrap(addr: ipaddr.IPv4 | ipaddr.IPv6): ipaddr.IPv4 | ipaddr.IPv6 {
  return addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()
    ? (addr as ipaddr.IPv6).toIPv4Address()
    : addr;
}

/** Why an address may not be contacted, or undefined when it is globally routable unicast. */
export function forbiddenReason(address: string, allow?: AllowList): string | undefined {
  if (!ipaddr.isValid(address)) return `${address} is not an IP address`;
  const addr = unwrap(ipaddr.parse(address));
  if (allow?.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits)))
    return undefined;
  const range = addr.range();
  // IPv4-compatible ::a.b.c.d (deprecated) is not in the tables; it embeds an IPv4 address too.
  const compat = addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).parts.slice(0, 6).every((p) => p === 0);
  if (range === 'unicast' && !compat) return undefined;
  return `${address} is a ${compat ? 'IPv4-compatible' : range} address`;
}

export class TargetRefusedError extends Error {
  constructor(readonly reason: string) {
    super(`refused: ${reason} (allow it with NOTIFY_ALLOW_HOSTS)`);
    this.name = 'TargetRefusedError';
  }
}

function hostAllowed(hostname: string, allow: AllowList): boolean {
  return allow.hosts.has(hostname.toLowerCase());
}

/** Resolves a URL's host and checks every address; throws TargetRefusedError (channel creation). */
export async function assertPublicTarget(url: URL, allow: AllowList): Promise<void> {
  const host = stripBrackets(url.hostname);
  if (hostAllowed(host, allow)) return;
  const addresses = isIP(host)
    ? [host]
    : await new Promise<string[]>((resolve, reject) =>
        dnsLookup(host, { all: true }, (err, found) =>
          err
            ? reject(new TargetRefusedError(`${host} does not resolve`))
            : resolve(found.map((a) => a.address)),
        ),
      );
  for (const a of addresses) {
    const why = forbiddenReason(a, allow);
    if (why) throw new TargetRefusedError(`${host} resolves to ${why}`);
  }
}

/** A DNS lookup for sockets that refuses forbidden answers, so the checked address is the one used. */
function guardedLookup(allow: AllowList): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, found: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const a of found) {
        const why = forbiddenReason(a.address, allow);
        if (why) return callback(new TargetRefusedError(`${hostname} resolves to ${why}`), '', 0);
      }
      if ((options as { all?: boolean }).all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, found);
      const first = found[0];
      if (!first) return callback(new Error(`${hostname} has no address`), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export interface GuardedPostOptions {
  allow: AllowList;
  timeoutMs: number;
  maxRedirects?: number;
  headers?: Record<string, string>;
}

/**
 * POSTs a JSON body to an http(s) URL under the guard; resolves with the final status. 307/308
 * keep the POST, 301/302/303 turn into a GET (as browsers do); every hop is checked again.
 */
export async function guardedPost(target: string, body: string, opts: GuardedPostOptions): Promise<number> {
  let url = new URL(target);
  let method = 'POST';
  let payload: string | undefined = body;
  const deadline = Date.now() + opts.timeoutMs;
  for (let hop = 0; ; hop++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new TargetRefusedError(`${url.protocol} is not http(s)`);
    const host = stripBrackets(url.hostname);
    const allowedByName = hostAllowed(host, opts.allow);
    // Literal addresses never reach a lookup: check them here.
    if (!allowedByName && isIP(host)) {
      const why = forbiddenReason(host, opts.allow);
      if (why) throw new TargetRefusedError(why);
    }
    const res = await once(url, method, payload, {
      headers: opts.headers ?? {},
      timeoutMs: Math.max(1, deadline - Date.now()),
      ...(allowedByName ? {} : { lookup: guardedLookup(opts.allow) }),
    });
    res.resume(); // drain, so the socket is released whatever the answer
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status < 300 || status >= 400 || !location) return status;
    if (hop >= (opts.maxRedirects ?? 3)) throw new Error(`too many redirects (last ${status})`);
    url = new URL(location, url);
    if (status !== 307 && status !== 308) {
      method = 'GET';
      payload = undefined;
    }
  }
}

function once(
  url: URL,
  method: string,
  body: string | undefined,
  o: { headers: Record<string, string>; timeoutMs: number; lookup?: LookupFunction },
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method,
        headers: {
          ...o.headers,
          ...(body !== undefined
            ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
            : {}),
        },
        timeout: o.timeoutMs,
        ...(o.lookup ? { lookup: o.lookup } : {}),
      },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
