// Readiness: may a load balancer send this hub traffic now? Three checks, each answering on its
// own so the 503 names what is wrong: the database answers within a bound and has every migration
// this build knows, the MQTT broker is connected, and no scheduled job run has been going on for
// longer than JOB_STALL_S (a hung job holds its advisory lock, and its work stops fleet-wide).
// Liveness (/healthz) is deliberately none of this: restarting a hub because its database is
// down would not bring the database back.
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { migrations } from '../storage/migrations/index.ts';

export interface CheckResult {
  ok: boolean;
  /** What failed, in words an operator can act on. */
  error?: string;
  [detail: string]: unknown;
}

export interface Readiness {
  ok: boolean;
  failing: string[];
  checks: Record<'database' | 'broker' | 'jobs', CheckResult>;
}

const DB_TIMEOUT_MS = Number(process.env.READY_DB_TIMEOUT_MS ?? 2000);

async function checkDatabase(app: FastifyInstance): Promise<CheckResult> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const query = sql<{ name: string }>`SELECT name FROM schema_migrations`.execute(app.hub.db);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new Error(`no answer within ${DB_TIMEOUT_MS} ms (pool exhausted or database unreachable)`)),
        DB_TIMEOUT_MS,
      );
    });
    // A late answer after the timeout is dropped; the query itself still ends and frees its connection.
    query.catch(() => {});
    const { rows } = await Promise.race([query, timeout]);
    const applied = new Set(rows.map((r) => r.name));
    const pending = Object.keys(migrations).filter((m) => !applied.has(m));
    if (pending.length) return { ok: false, error: `migrations not applied: ${pending.join(', ')}`, pending };
    return { ok: true, engine: app.hub.database.engine, ms: Date.now() - started };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function checkBroker(app: FastifyInstance): CheckResult {
  if (!app.hasDecorator('controlPlane')) return { ok: false, error: 'no control plane in this hub' };
  const cp = app.controlPlane;
  if (!cp.started) return { ok: false, error: 'MQTT broker not started yet' };
  if (!cp.brokerConnected) return { ok: false, error: `not connected to the MQTT broker ${cp.brokerUrl}` };
  return { ok: true, url: cp.brokerUrl };
}

function checkJobs(app: FastifyInstance, now: number): CheckResult {
  const stallMs = app.hub.config.jobStallS * 1000;
  const stalled = [...app.scheduler.runningSince]
    .filter(([, since]) => now - since > stallMs)
    .map(([job, since]) => ({ job, runningS: Math.round((now - since) / 1000) }));
  if (stalled.length) {
    const list = stalled.map((s) => `${s.job} (running ${s.runningS} s)`).join(', ');
    return { ok: false, error: `jobs stalled: ${list}`, stalled };
  }
  return { ok: true, running: [...app.scheduler.runningSince.keys()] };
}

export async function readiness(app: FastifyInstance, now = Date.now()): Promise<Readiness> {
  const checks = {
    database: await checkDatabase(app),
    broker: checkBroker(app),
    jobs: checkJobs(app, now),
  };
  const failing = Object.entries(checks)
    .filter(([, c]) => !c.ok)
    .map(([name]) => name);
  return { ok: failing.length === 0, failing, checks };
}
