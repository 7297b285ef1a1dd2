// DIAGNOSTICS: one report an installer can read remotely — each equipment's probe, the hub's
// reachability and clock offset, disk, and the outbox.
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Outbox } from '../../outbox/outbox.ts';
import { hasProbe, type Source } from '../../sources/types.ts';
import { httpRequest } from '../../uplink/http-request.ts';
import type { Handler } from '../dispatcher.ts';

export interface DiagnosticsDeps {
  sources: () => ReadonlyMap<string, Source>;
  hubUrl: () => string;
  outbox: () => Outbox;
  outboxPath: () => string;
}

export function diagnosticsHandler(deps: DiagnosticsDeps): Handler<'DIAGNOSTICS'> {
  return async () => {
    const equipment: Record<string, unknown> = {};
    await Promise.all(
      [...deps.sources()].map(async ([key, source]) => {
        if (!hasProbe(source)) {
          equipment[key] = { supported: false };
          return;
        }
        equipment[key] = await source
          .probe()
          .catch((err: Error) => ({ ok: false, latencyMs: 0, detail: err.message }));
      }),
    );
    const hub = await probeHub(deps.hubUrl());
    const fs = await statfs(dirname(deps.outboxPath())).catch(() => undefined);
    return {
      equipment,
      hub,
      disk: fs ? { freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize } : null,
      outbox: deps.outbox().stats(),
    };
  };
}

/** Reachability and clock offset from the hub's Date header (1 s resolution, enough for drift). */
export async function probeHub(url: string): Promise<Record<string, unknown>> {
  const start = Date.now();
  try {
    const res = await httpRequest(new URL('/', url), { timeoutMs: 5000 });
    const end = Date.now();
    const date = res.headers.get('date');
    const hubTime = date ? Date.parse(date) : Number.NaN;
    return {
      reachable: true,
      status: res.status,
      latencyMs: end - start,
      clockOffsetMs: Number.isFinite(hubTime) ? Math.round(hubTime + 500 - (start + end) / 2) : null,
    };
  } catch (err) {
    return {
      reachable: false,
      error: String((err as Error).cause ?? (err as Error).message),
      latencyMs: Date.now() - start,
    };
  }
}
