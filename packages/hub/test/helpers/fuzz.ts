// The fuzz harness (issue #19 item 11), shared by `npm run bench -- fuzz` and the smaller seeded
// run in `npm test`. Against a hub running as its own process it sends malformed inputs on every
// surface a client or a node can reach:
//   - every operation of the OpenAPI document, as the admin (so validation is what answers);
//   - the node-signed routes, with valid signatures over malformed bodies;
//   - every MQTT topic a node may publish, logged in with the node's own credentials;
//   - the realtime socket (frames after a successful login);
//   - the agent-config validator, with hostile YAML.
// It checks: no HTTP answer 5xx (realtime: no WF_INTERNAL), the process never dies, and nothing of
// an input that was refused reaches the database (markers, see fuzz-inputs.ts; checked by
// scanMarkers once the hub has stopped). Inputs come from fast-check with one seed: the same seed
// and counts replay the same inputs in the same order.

import type { KeyObject } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CommandResponse,
  checker,
  DailyBatch,
  EventBatch,
  generateNodeKeyPair,
  LiveSnapshot,
  NodeStatus,
  privateKeyFromPem,
  signRequest,
  TelemetryBatch,
  unsafeTextProblems,
} from '@wattfleet/protocol';
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import mqtt from 'mqtt';
import type { TSchema } from 'typebox';
import WebSocket from 'ws';
import { openDatabase } from '../../src/storage/database.ts';
import type { DB } from '../../src/storage/schema.ts';
import { createPgDatabase } from './engines.ts';
import {
  hostileString,
  hostileValue,
  hostileYaml,
  type JsonSchema,
  MARK,
  type Mutated,
  mutate,
  validFor,
} from './fuzz-inputs.ts';
import { HubProcess } from './hub-process.ts';

const OPENAPI = JSON.parse(readFileSync(new URL('../../openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
};

interface Operation {
  parameters?: { in: 'path' | 'query'; name: string; required?: boolean; schema: JsonSchema }[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
}

export interface FuzzTarget {
  /** http://127.0.0.1:port of the running hub. */
  url: string;
  adminToken: string;
  /** mqtt://… where nodes connect (the hub's embedded broker or the external one). */
  mqttUrl: string;
  /** True while the hub process is alive. */
  alive: () => boolean;
}

export interface FuzzOptions {
  seed: number;
  /** Inputs per surface; the OpenAPI surface spreads its count over every operation. */
  runs: { openapi: number; signed: number; mqtt: number; realtime: number; config: number };
  log?: (line: string) => void;
}

export interface FuzzFinding {
  surface: string;
  input: string;
  status: number | string;
  answer: string;
}

export interface FuzzReport {
  seed: number;
  requests: number;
  fiveXx: number;
  crashes: number;
  /** Marker → how its input was answered: 'ok' (accepted) or 'bad' (refused / malformed). */
  markers: Map<string, 'ok' | 'bad'>;
  findings: FuzzFinding[];
  /** Answers seen, per surface and status, for the summary. */
  statuses: Map<string, number>;
}

interface Fixture {
  ids: string[];
  orgId: string;
  siteId: string;
  nodeId: string;
  key: KeyObject;
  mqttPassword: string;
}

class Crashed extends Error {}

export async function runFuzz(target: FuzzTarget, opts: FuzzOptions): Promise<FuzzReport> {
  const log = opts.log ?? (() => {});
  const report: FuzzReport = {
    seed: opts.seed,
    requests: 0,
    fiveXx: 0,
    crashes: 0,
    markers: new Map(),
    findings: [],
    statuses: new Map(),
  };
  let seq = 0;
  /** Replaces each MARK with a marker unique to this input; records how the input was judged. */
  const mark = (text: string, id = `FZ${++seq}Q`) => ({
    id,
    text: text.replaceAll(MARK, id).replaceAll(encodeURIComponent(MARK), id),
  });
  const count = (surface: string, status: number | string) => {
    const key = `${surface} ${typeof status === 'number' ? `${Math.floor(status / 100)}xx` : status}`;
    report.statuses.set(key, (report.statuses.get(key) ?? 0) + 1);
  };
  const fixture = await setUp(target);
  const http = async (
    surface: string,
    method: string,
    path: string,
    body: Mutated | undefined,
    headers: (bytes: Buffer) => Record<string, string>,
  ) => {
    if (!target.alive()) throw new Crashed();
    const raw = body === undefined ? undefined : body.kind === 'raw' ? body.text : safeStringify(body.value);
    const { id, text: markedPath } = mark(path);
    const markedBody = mark(raw ?? '', id).text;
    const bytes = raw === undefined ? undefined : Buffer.from(markedBody);
    report.requests++;
    let status: number;
    let answer = '';
    try {
      const r = await fetch(`${target.url}${markedPath}`, {
        method,
        headers: {
          ...(bytes ? { 'content-type': 'application/json' } : {}),
          ...headers(bytes ?? Buffer.alloc(0)),
        },
        ...(bytes && method !== 'GET' ? { body: bytes } : {}),
        signal: AbortSignal.timeout(30_000),
      });
      status = r.status;
      answer = (await r.text()).slice(0, 300);
    } catch (err) {
      if (!target.alive()) throw new Crashed();
      status = 599;
      answer = String(err);
    }
    count(surface, status);
    report.markers.set(id, status < 400 ? 'ok' : 'bad');
    if (status >= 500 && status !== 503) {
      report.fiveXx++;
      report.findings.push({
        surface,
        input: `${method} ${markedPath} ${markedBody.slice(0, 300)}`,
        status,
        answer,
      });
    }
  };

  try {
    // Node surfaces first: the OpenAPI surface may deactivate the fuzz node or revoke its site.
    await signedSurface(fixture, opts, http);
    log(`fuzz: signed routes done (${report.requests} inputs)`);
    await mqttSurface(target, fixture, opts, report, mark, count);
    log(`fuzz: mqtt done (${report.requests} inputs)`);
    await realtimeSurface(target, fixture, opts, report, count);
    log(`fuzz: realtime done (${report.requests} inputs)`);
    await fc.assert(
      fc.asyncProperty(hostileYaml, async (yaml) => {
        await http(
          'config',
          'POST',
          '/api/v1/agent-config/validate',
          { kind: 'json', value: { config: yaml }, mutation: 'yaml' },
          admin(target),
        );
      }),
      { seed: opts.seed, numRuns: opts.runs.config },
    );
    log(`fuzz: config validator done (${report.requests} inputs)`);
    await openapiSurface(target, fixture, opts, http);
    log(`fuzz: openapi done (${report.requests} inputs)`);
  } catch (err) {
    if (!(err instanceof Crashed) && !String(err).includes('Crashed')) throw err;
    report.crashes++;
  }
  if (!target.alive()) report.crashes = Math.max(report.crashes, 1);
  return report;
}

type Http = (
  surface: string,
  method: string,
  path: string,
  body: Mutated | undefined,
  headers: (bytes: Buffer) => Record<string, string>,
) => Promise<void>;

const admin = (target: FuzzTarget) => () => ({ authorization: `Bearer ${target.adminToken}` });

function safeStringify(v: unknown): string {
  try {
    return JSON.stringify(v) ?? 'null';
  } catch {
    return 'null';
  }
}

async function setUp(target: FuzzTarget): Promise<Fixture> {
  const call = async (method: string, path: string, body?: unknown) => {
    const r = await fetch(`${target.url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (!r.ok) throw new Error(`fuzz set-up ${method} ${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as Record<string, string>;
  };
  const org = await call('POST', '/orgs', { name: 'Fuzz household', kind: 'household' });
  const installer = await call('POST', '/orgs', { name: 'Fuzz installer', kind: 'installer' });
  const site = await call('POST', '/sites', { orgId: org.id, name: 'Fuzz site', timezone: 'Europe/Berlin' });
  const user = await call('POST', '/users', {
    orgId: org.id,
    email: `fuzz-${randomUUID()}@example.test`,
    role: 'owner',
  });
  const grant = await call('POST', `/sites/${site.id}/grants`, { orgId: installer.id });
  const code = await call('POST', `/sites/${site.id}/enrollment-codes`, {});
  const pair = generateNodeKeyPair();
  const enrolled = (await (
    await fetch(`${target.url}/api/v1/nodes/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: code.code, publicKey: pair.publicKey, name: 'fuzz node' }),
    })
  ).json()) as { nodeId: string; mqtt: { password: string } };
  const command = await call('POST', `/nodes/${enrolled.nodeId}/commands`, { type: 'DIAGNOSTICS' });
  return {
    ids: [org.id!, installer.id!, site.id!, user.id!, grant.id!, enrolled.nodeId, command.id!],
    orgId: org.id!,
    siteId: site.id!,
    nodeId: enrolled.nodeId,
    key: privateKeyFromPem(pair.privateKeyPem),
    mqttPassword: enrolled.mqtt.password,
  };
}

const SIGNED_ROUTES: { path: (f: Fixture) => string; schema: JsonSchema }[] = [
  { path: () => '/api/v1/ingest/telemetry', schema: TelemetryBatch as JsonSchema },
  { path: () => '/api/v1/ingest/daily', schema: DailyBatch as JsonSchema },
  { path: () => '/api/v1/ingest/events', schema: EventBatch as JsonSchema },
  { path: (f) => `/api/v1/nodes/${f.nodeId}/logs`, schema: bodySchema('/api/v1/nodes/{id}/logs', 'post') },
];

function bodySchema(path: string, method: string): JsonSchema {
  return OPENAPI.paths[path]?.[method]?.requestBody?.content['application/json']?.schema ?? {};
}

async function signedSurface(f: Fixture, opts: FuzzOptions, http: Http): Promise<void> {
  const perRoute = Math.ceil(opts.runs.signed / (SIGNED_ROUTES.length + 1));
  for (const route of SIGNED_ROUTES) {
    const path = route.path(f);
    await fc.assert(
      fc.asyncProperty(mutate(validFor(route.schema, f.ids)), async (body) => {
        await http('signed', 'POST', path, body, (bytes) =>
          signRequest(f.key, f.nodeId, 'POST', path, bytes),
        );
      }),
      { seed: opts.seed, numRuns: perRoute },
    );
  }
  // Credential rotation with a valid body would replace the fuzz node's key: only defects here.
  const rotate = '/api/v1/nodes/self/credentials';
  await fc.assert(
    fc.asyncProperty(
      mutate(validFor(bodySchema(rotate, 'post'), f.ids)).filter((b) => b.mutation !== 'valid'),
      async (body) => {
        await http('signed', 'POST', rotate, body, (bytes) =>
          signRequest(f.key, f.nodeId, 'POST', rotate, bytes),
        );
      },
    ),
    { seed: opts.seed, numRuns: perRoute },
  );
}

const MQTT_CHANNELS: { channel: string; schema: TSchema }[] = [
  { channel: 'telemetry', schema: TelemetryBatch },
  { channel: 'daily', schema: DailyBatch },
  { channel: 'events', schema: EventBatch },
  { channel: 'status', schema: NodeStatus },
  { channel: 'live', schema: LiveSnapshot },
  { channel: 'responses', schema: CommandResponse },
];

async function mqttSurface(
  target: FuzzTarget,
  f: Fixture,
  opts: FuzzOptions,
  report: FuzzReport,
  mark: (text: string) => { id: string; text: string },
  count: (surface: string, status: number | string) => void,
): Promise<void> {
  const client = await mqtt.connectAsync(target.mqttUrl, {
    username: f.nodeId,
    password: f.mqttPassword,
    clientId: `wf-node-${f.nodeId}`,
    reconnectPeriod: 200,
    connectTimeout: 10_000,
  });
  try {
    const perChannel = Math.ceil(opts.runs.mqtt / MQTT_CHANNELS.length);
    for (const { channel, schema } of MQTT_CHANNELS) {
      const valid = checker(schema);
      await fc.assert(
        fc.asyncProperty(mutate(validFor(schema as JsonSchema, f.ids)), async (body) => {
          if (!target.alive()) throw new Crashed();
          const raw = body.kind === 'raw' ? body.text : safeStringify(body.value);
          const { id, text } = mark(raw);
          report.requests++;
          // An input is "ok" only if the protocol would accept it; anything else must leave no trace.
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const ok = parsed !== undefined && valid.check(parsed) && unsafeTextProblems(parsed).length === 0;
          report.markers.set(id, ok ? 'ok' : 'bad');
          await client.publishAsync(`nodes/${f.nodeId}/${channel}`, text, { qos: 1 }).catch(() => undefined);
          count('mqtt', ok ? 'published-valid' : 'published-malformed');
        }),
        { seed: opts.seed, numRuns: perChannel },
      );
    }
  } finally {
    await client.endAsync().catch(() => undefined);
  }
  // Let the hub finish what it received before the database is looked at.
  await new Promise((r) => setTimeout(r, 2_000));
}

async function realtimeSurface(
  target: FuzzTarget,
  f: Fixture,
  opts: FuzzOptions,
  report: FuzzReport,
  count: (surface: string, status: number | string) => void,
): Promise<void> {
  const wsUrl = `${target.url.replace(/^http/, 'ws')}/api/v1/realtime`;
  let ws: WebSocket | undefined;
  const internal: string[] = [];
  const connect = async () => {
    const socket = new WebSocket(wsUrl);
    socket.on('message', (m) => {
      const text = m.toString();
      if (text.includes('WF_INTERNAL')) internal.push(text.slice(0, 300));
    });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      socket.once('open', () => resolve());
      socket.once('close', () => resolve());
    });
    if (socket.readyState === WebSocket.OPEN)
      socket.send(JSON.stringify({ type: 'auth', token: target.adminToken }));
    return socket;
  };
  const frame = fc.oneof(
    hostileValue.map((v) => safeStringify(v)),
    fc
      .record({
        type: fc.constantFrom('auth', 'subscribe', 'unsubscribe', 'ping', 'x'),
        siteIds: fc.oneof(
          fc.array(fc.oneof(fc.constantFrom(...f.ids), hostileString), { maxLength: 5 }),
          hostileValue,
        ),
        nodeIds: fc.oneof(
          fc.array(fc.oneof(fc.constantFrom(...f.ids), hostileString), { maxLength: 5 }),
          hostileValue,
        ),
        token: hostileValue,
      })
      .map((v) => safeStringify(v)),
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.constant('x'.repeat(70_000)),
  );
  await fc.assert(
    fc.asyncProperty(frame, async (text) => {
      if (!target.alive()) throw new Crashed();
      if (!ws || ws.readyState !== WebSocket.OPEN) ws = await connect();
      report.requests++;
      if (ws.readyState === WebSocket.OPEN) ws.send(text);
      count('realtime', 'frame');
      await new Promise((r) => setImmediate(r));
    }),
    { seed: opts.seed, numRuns: opts.runs.realtime },
  );
  await new Promise((r) => setTimeout(r, 500));
  ws?.terminate();
  for (const answer of internal) {
    report.fiveXx++;
    report.findings.push({ surface: 'realtime', input: '(socket frame)', status: 'WF_INTERNAL', answer });
  }
}

async function openapiSurface(target: FuzzTarget, f: Fixture, opts: FuzzOptions, http: Http): Promise<void> {
  const ops = Object.entries(OPENAPI.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })),
  );
  const perOp = Math.max(1, Math.ceil(opts.runs.openapi / ops.length));
  const segment = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...f.ids) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 2, arbitrary: hostileString },
  );
  for (const { path, method, op } of ops) {
    const params = (op.parameters ?? []).filter((p) => p.in === 'path');
    const query = (op.parameters ?? []).filter((p) => p.in === 'query');
    const queryObject: JsonSchema = {
      type: 'object',
      properties: Object.fromEntries(query.map((q) => [q.name, q.schema])),
      required: query.filter((q) => q.required).map((q) => q.name),
    };
    const schema = op.requestBody?.content['application/json']?.schema;
    const arb = fc.record({
      params: fc.tuple(...params.map(() => segment)),
      query: query.length ? mutate(validFor(queryObject, f.ids)) : fc.constant(undefined),
      body: schema ? mutate(validFor(schema, f.ids)) : fc.constant(undefined),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ params: values, query: q, body }) => {
        let url = path;
        params.forEach((p, i) => {
          url = url.replace(`{${p.name}}`, encodeSegment(String(values[i])));
        });
        if (q) url += `?${toQuery(q)}`;
        await http(
          'openapi',
          method,
          url,
          method === 'GET' || method === 'DELETE' ? undefined : body,
          admin(target),
        );
      }),
      { seed: opts.seed, numRuns: perOp },
    );
  }
}

/** Percent-encodes a path segment; a lone surrogate goes as its (invalid) UTF-8 bytes. */
function encodeSegment(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      out += encodeURIComponent(s.slice(i, i + 2));
      i++;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
        .map((b) => `%${b.toString(16).toUpperCase()}`)
        .join('');
    } else out += encodeURIComponent(s[i]!);
  }
  return out;
}

function toQuery(q: Mutated): string {
  const search = new URLSearchParams();
  if (q.kind === 'raw') return encodeSegment(q.text).slice(0, 4000);
  const value = q.value;
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      for (const one of Array.isArray(v) ? v : [v])
        search.append(k, typeof one === 'string' ? one : safeStringify(one));
    }
  } else search.append('q', safeStringify(value));
  return search.toString().slice(0, 8000);
}

/**
 * Markers of refused inputs found in the database, after the hub stopped. Audit entries of refused
 * or failed actions are records of the attempt (that is their purpose) and do not count.
 */
export async function scanMarkers(
  db: Kysely<DB>,
  markers: Map<string, 'ok' | 'bad'>,
): Promise<{ table: string; marker: string }[]> {
  const { rows: columns } = await sql<{ table_name: string; column_name: string }>`
    SELECT c.table_name, c.column_name FROM information_schema.columns c
    JOIN information_schema.tables t ON t.table_name = c.table_name AND t.table_schema = c.table_schema
    WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
      AND c.data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')`.execute(db);
  const found: { table: string; marker: string }[] = [];
  for (const { table_name: table, column_name: column } of columns) {
    const where = table === 'audit_log' ? sql`AND result = 'ok'` : sql``;
    const { rows } = await sql<{ v: string }>`
      SELECT ${sql.ref(column)}::text AS v FROM ${sql.table(table)}
      WHERE ${sql.ref(column)}::text LIKE '%FZ%Q%' ${where}`.execute(db);
    for (const { v } of rows) {
      for (const m of v.matchAll(/FZ\d+Q/g)) {
        if (markers.get(m[0]) === 'bad') found.push({ table: `${table}.${column}`, marker: m[0] });
      }
    }
  }
  return found;
}

/** The last line of the bench and of the test: `fuzz: requests=N 5xx=0 crashes=0 stored_from_bad=0`. */
export function fuzzLine(report: FuzzReport, storedFromBad: number): string {
  return `fuzz: requests=${report.requests} 5xx=${report.fiveXx} crashes=${report.crashes} stored_from_bad=${storedFromBad}`;
}

export type FuzzEngine = 'postgres' | 'pglite';

/**
 * One whole run on one engine: a fresh database, the hub as its own process (real CLI, embedded
 * broker on a free port), runFuzz, a graceful stop, then the database scanned for markers.
 */
export async function fuzzEngine(
  engine: FuzzEngine,
  opts: FuzzOptions,
): Promise<{ report: FuzzReport; stored: { table: string; marker: string }[]; output: string }> {
  const token = `fuzz-admin-${randomUUID()}`;
  const pgDb = engine === 'postgres' ? await createPgDatabase() : undefined;
  const dataDir = engine === 'pglite' ? mkdtempSync(join(tmpdir(), 'wf-fuzz-')) : undefined;
  const hub = new HubProcess({
    HOST: '127.0.0.1',
    PORT: '0',
    MQTT_PORT: '0',
    WATTFLEET_DEMO: '0',
    WATTFLEET_ADMIN_TOKEN: token,
    LOG_LEVEL: 'warn',
    INGEST_NODE_RATE_PER_MINUTE: '1000000',
    ...(pgDb ? { DATABASE_URL: pgDb.url } : { WATTFLEET_DATA_DIR: dataDir, DATABASE_URL: '' }),
    MQTT_URL: '',
  });
  hub.startTimeoutMs = 300_000;
  try {
    await hub.start();
    // Printed just after the HTTP address.
    const broker = () => /MQTT for nodes: (mqtt:\/\/\S+)/.exec(hub.output)?.[1];
    for (let i = 0; i < 100 && !broker(); i++) await new Promise((r) => setTimeout(r, 100));
    const mqttUrl = broker()?.replace('localhost', '127.0.0.1');
    if (!mqttUrl) throw new Error(`fuzz: the hub did not say where its broker is:\n${hub.output}`);
    const child = hub.child!;
    const report = await runFuzz(
      {
        url: hub.url,
        adminToken: token,
        mqttUrl,
        alive: () => child.exitCode === null && child.signalCode === null,
      },
      opts,
    );
    await hub.stop();
    const database = await openDatabase(pgDb ? { databaseUrl: pgDb.url } : { dataDir: dataDir! });
    try {
      return { report, stored: await scanMarkers(database.db, report.markers), output: hub.output };
    } finally {
      await database.close();
    }
  } finally {
    await hub.kill();
    await pgDb?.drop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}
