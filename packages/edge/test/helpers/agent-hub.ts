// One real hub (PGlite, embedded broker) and real agent bundles enrolled against it, for the
// tests that check what the agent itself tells the hub (agent-events*.test.ts). The hub's tables
// are only ever read here, to check what arrived.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { startControlPlane } from '../../../hub/src/mqtt/control-plane.ts';
import { createSite, startTestHub, type TestHub } from '../../../hub/test/helpers/hub.ts';
import { buildBundle, bundleCli, killAgent, startAgent } from './agent-process.ts';

export const dir = mkdtempSync(join(tmpdir(), 'wf-agent-events-'));
export const TZ = 'Europe/Berlin';
export const TEMPLATES = ['sunspec-common', 'sunspec-inverter-103'];

/** The hub all agents of a test file talk to (set in the before hook of useAgentHub). */
export const ctx = {} as { hub: TestHub; hubUrl: string; brokerUrl: string };
const running = new Set<ChildProcess>();

export async function until<T>(
  what: string,
  get: () => Promise<T | undefined | false> | T | undefined | false,
  log?: string,
  timeoutMs = 60_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (v) return v;
    if (Date.now() > end) {
      const tail = log ? readFileSync(log, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`${what}: not within ${timeoutMs} ms\n${tail}`);
    }
    await sleep(200);
  }
}

export interface AgentUnderTest {
  nodeId: string;
  siteId: string;
  configPath: string;
  log: string;
  start(env?: Record<string, string>): ChildProcess;
}

/**
 * A site (or the given one), an enrollment code, and an agent enrolled with `enroll` (over HTTP,
 * as an installer does).
 */
export async function agent(
  name: string,
  body: (d: string) => string,
  onSite?: string,
): Promise<AgentUnderTest> {
  const d = join(dir, name);
  mkdirSync(d);
  const siteId = onSite ?? (await createSite(ctx.hub, { timezone: TZ, name })).siteId;
  const code = await ctx.hub.admin('POST', `/api/v1/sites/${siteId}/enrollment-codes`, {});
  assert.equal(code.statusCode, 201, code.body);
  const configPath = join(d, 'agent.yaml');
  const log = join(d, 'agent.log');
  writeFileSync(
    configPath,
    `version: 2
identity: { path: ${join(d, 'identity.json')} }
site: { lat: 52.5, lon: 13.4, timezone: ${TZ} }
outbox: { path: ${join(d, 'state.db')} }
dashboard: { port: 0, host: 127.0.0.1 }
logging: { level: info, file: ${log} }
${body(d)}`,
  );
  await bundleCli(configPath, ['enroll', '--hub', ctx.hubUrl, '--code', code.json().code]);
  const nodeId = JSON.parse(readFileSync(join(d, 'identity.json'), 'utf8')).nodeId as string;
  return {
    nodeId,
    siteId,
    configPath,
    log,
    start(env = {}) {
      const child = startAgent(configPath, join(d, 'agent.out'), env);
      running.add(child);
      child.on('exit', () => running.delete(child));
      return child;
    },
  };
}

export const alerts = async (siteId: string, rule: string) => {
  const res = await ctx.hub.admin('GET', `/api/v1/alerts?siteId=${siteId}&rule=${rule}`);
  assert.equal(res.statusCode, 200, res.body);
  return res.json() as { state: string; target_id: string; message: string }[];
};
export const alertIn = (siteId: string, rule: string, state: 'open' | 'resolved') => async () => {
  const list = await alerts(siteId, rule);
  return list.length > 0 && list.every((a) => a.state === state) && list;
};
/** What the hub stored from the node: read only. */
export const events = async (nodeId: string, kind?: string) =>
  (
    await sql<{
      kind: string;
      severity: string;
      equipment: string | null;
      data: Record<string, unknown> | null;
    }>`
      SELECT kind, severity, equipment, data FROM node_events
      WHERE node_id = ${nodeId} ${kind ? sql`AND kind = ${kind}` : sql``} ORDER BY ts, id`.execute(
      ctx.hub.tdb.database.db,
    )
  ).rows.map((e) => ({ ...e, data: typeof e.data === 'string' ? JSON.parse(e.data) : e.data }));
export const samples = async (nodeId: string) =>
  (
    await sql<{ n: number }>`SELECT count(*)::int AS n FROM samples s JOIN series r ON r.id = s.series_id
      WHERE r.node_id = ${nodeId}`.execute(ctx.hub.tdb.database.db)
  ).rows[0]!.n;
/** The local dashboard's status, at the URL the agent logged. */
// biome-ignore lint/suspicious/noExplicitAny: the status page is read loosely; the asserts check it.
export async function localStatus(log: string): Promise<Record<string, any>> {
  const line = readFileSync(log, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"agent running"'))
    .at(-1);
  const url = JSON.parse(line!).url as string;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  return (await fetch(new URL('/api/status', url))).json() as Promise<Record<string, any>>;
}

/** One hub (PGlite, embedded broker) for the calling test file; every agent started is stopped. */
export function useAgentHub(): void {
  before(async () => {
    await buildBundle();
    ctx.hub = await startTestHub('pglite', { mqttPort: 0 });
    const cp = await startControlPlane(ctx.hub.app);
    ctx.brokerUrl = cp.brokerUrl!;
    ctx.hubUrl = await ctx.hub.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    for (const child of running) await killAgent(child);
    await ctx.hub?.close();
    rmSync(dir, { recursive: true, force: true });
  });
}
