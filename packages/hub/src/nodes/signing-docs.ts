// The "Node authentication" section of the OpenAPI document and docs/node-signing.md: how a node
// signs its requests (the truth is packages/protocol/src/signing.ts and node-auth.ts), with a worked
// example an outside client can reproduce byte for byte. test/nodes/signing-example.test.ts signs
// a request from SIGNING_EXAMPLE with node:crypto alone and a real hub accepts it.
import { SIGNATURE_HEADERS, SIGNATURE_WINDOW_MS } from '@wattfleet/protocol';
import { NODE_SIGNATURE_SCHEME } from './node-auth.ts';

/** Every value of the worked example; `signature` is what Ed25519 gives for `canonical` (it is deterministic). */
export const SIGNING_EXAMPLE = {
  /** Ed25519 private key seed (32 bytes, hex): RFC 8032 test vector 1. Never use it for a real node. */
  privateKeySeedHex: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  /** The same key as PKCS#8 PEM (what the agent keeps in its key file). */
  privateKeyPem:
    '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n-----END PRIVATE KEY-----\n',
  /** The public key as enrollment sends it: raw 32 bytes, base64url without padding. */
  publicKey: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
  /** Any enrolled node's id; it travels in x-wf-node and is not part of the signed string. */
  nodeId: '0b6e4f3a-2c1d-4e5f-8a9b-0c1d2e3f4a5b',
  method: 'POST',
  path: '/api/v1/ingest/daily',
  timestamp: '1767225600000',
  nonce: '00112233445566778899aabbccddeeff',
  body: '{"batchId":"example-daily-1","days":[{"date":"2025-12-31","values":{"solar_kwh":12.5}}]}',
  bodySha256Hex: '1ea9d80809ae9a61975a2571c8a685140bb2df8fb076ae023a40f4d774977fd7',
  canonical:
    'WF1\nPOST\n/api/v1/ingest/daily\n1767225600000\n00112233445566778899aabbccddeeff\n1ea9d80809ae9a61975a2571c8a685140bb2df8fb076ae023a40f4d774977fd7',
  signature: 'YJXaZ2+4Il/cdhHig5l5hj0DFgJmQc2Ug1OP0B9sQzvbt+yjeNlGvqbaLo29J6j7c+NwrNlMT1Gwoj3Z/n4FDQ==',
} as const;

const H = SIGNATURE_HEADERS;
const ex = SIGNING_EXAMPLE;
const indent = (text: string) =>
  text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');

/** Markdown, used as the OpenAPI document's info.description and as docs/node-signing.md's body. */
export const NODE_AUTH_MARKDOWN = `## Node authentication

People and API tokens use \`Authorization: Bearer …\`. Nodes (edge agents) sign each HTTP request
with their Ed25519 key instead (routes marked with the \`${NODE_SIGNATURE_SCHEME}\` security scheme:
\`/api/v1/ingest/*\`, \`/api/v1/nodes/self/*\`). The hub stores only the public key, sent once at
enrollment (\`POST /api/v1/nodes/enroll\`, raw 32 bytes base64url without padding).

### Headers

| Header | Value |
|---|---|
| \`${H.node}\` | The node id from enrollment (a UUID). Not part of the signed string. |
| \`${H.timestamp}\` | The node's clock, epoch milliseconds, 13 digits. |
| \`${H.nonce}\` | 16 to 64 lower-case hex characters, new for every request (e.g. 16 random bytes). |
| \`${H.signature}\` | Ed25519 signature of the canonical string, standard base64 (with padding). |
| \`content-type\` | \`application/json\` |
| \`content-encoding\` | \`gzip\` (optional) or absent. |

### Canonical string

Six lines joined by a single \`\\n\` (no trailing newline):

    WF1
    <METHOD in upper case>
    <path as sent, including /api/v1 and any query string>
    <x-wf-timestamp>
    <x-wf-nonce>
    <lower-case hex SHA-256 of the body bytes exactly as sent>

The digest covers the bytes on the wire: for a gzip body the **compressed** bytes, never the JSON
before compression; an empty body hashes the empty string. Sign the UTF-8 bytes of the canonical
string with Ed25519 (pure Ed25519, no pre-hash).

### What the hub checks

1. \`${H.node}\` names a node with a key (else 401 WF_SIGNATURE_MISSING / WF_SIGNATURE_INVALID).
2. The signature verifies over the request as received (401 WF_SIGNATURE_INVALID).
3. The timestamp is within ±${SIGNATURE_WINDOW_MS / 60_000} minutes of the hub's clock (401 WF_SIGNATURE_EXPIRED, with
   \`hubTime\` and \`offsetMs\` in the answer; the refusal is recorded as a clock-skew alert).
4. The node is active (403 WF_NODE_INACTIVE).
5. The nonce was not used by this node within the window (401 WF_SIGNATURE_REPLAYED): a retry is a
   new request with a new nonce and timestamp, over the same body bytes.
6. Only then is the body gunzipped (400 WF_BAD_GZIP) and parsed as JSON (400 WF_BAD_JSON).

Every answer to a signed request carries \`x-wf-hub-time\` (the hub's clock, epoch ms), so a node
can measure its offset.

### Worked example

Private key: the Ed25519 seed \`${ex.privateKeySeedHex}\` (RFC 8032 test vector 1; PKCS#8 PEM below),
public key \`${ex.publicKey}\`.

${indent(ex.privateKeyPem.trimEnd())}

Request: \`${ex.method} ${ex.path}\`, timestamp \`${ex.timestamp}\`, nonce \`${ex.nonce}\`, body (${Buffer.byteLength(ex.body)} bytes, no gzip):

    ${ex.body}

SHA-256 of the body: \`${ex.bodySha256Hex}\`

Canonical string:

${indent(ex.canonical)}

Signature (\`${H.signature}\`):

    ${ex.signature}

So the request carries \`${H.node}: <your node id>\`, \`${H.timestamp}: ${ex.timestamp}\`,
\`${H.nonce}: ${ex.nonce}\` and \`${H.signature}: ${ex.signature}\`. (A real hub accepts it only at
that time, once: the window and the nonce ledger make a recorded request useless later.)
`;

/** The OpenAPI security scheme of node-signed routes. */
export const NODE_SIGNATURE_SECURITY_SCHEME = {
  type: 'apiKey',
  in: 'header',
  name: H.signature,
  description: `Ed25519 request signature; with ${H.node}, ${H.timestamp} and ${H.nonce}. See "Node authentication" in the API description.`,
} as const;
