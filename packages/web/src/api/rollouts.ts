// Staged rollouts (hub rollouts/): a plan moving selected nodes to one agent tag ring by ring,
// halting by itself when a ring's failure rate passes its threshold. Types mirror
// protocol/rollouts.ts, kept here so the browser bundle need not load TypeBox.
import { request } from './http.ts';

export type RolloutRing = { count: number } | { percent: number };
export type RolloutState = 'running' | 'paused' | 'halted' | 'aborted' | 'completed';
export type RolloutNodeState = 'waiting' | 'updating' | 'verifying' | 'succeeded' | 'failed' | 'skipped';

export interface Rollout {
  id: string;
  tag: string;
  state: RolloutState;
  rings: RolloutRing[];
  ringWaitS: number;
  gateS: number;
  maxFailureRate: number;
  currentRing: number;
  haltReason: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RolloutNode {
  nodeId: string;
  nodeName: string;
  siteId: string;
  ring: number;
  state: RolloutNodeState;
  commandId: string | null;
  fromVersion: string | null;
  reason: string | null;
  startedAt: string | null;
  settledAt: string | null;
}

export interface RolloutDetail {
  rollout: Rollout;
  ringSummary: { index: number; size: number; succeeded: number; failed: number; pending: number }[];
  nodes: RolloutNode[];
}

export interface CreateRollout {
  tag: string;
  nodeIds: string[];
  rings?: RolloutRing[];
  ringWaitS?: number;
  gateS?: number;
  maxFailureRate?: number;
}

export const ACTIVE_ROLLOUT_STATES: RolloutState[] = ['running', 'paused'];

export const rolloutsApi = {
  list: (signal?: AbortSignal) => request<{ items: Rollout[] }>('/rollouts', { signal }).then((r) => r.items),
  get: (id: string, signal?: AbortSignal) =>
    request<RolloutDetail>(`/rollouts/${encodeURIComponent(id)}`, { signal }),
  create: (body: CreateRollout) => request<RolloutDetail>('/rollouts', { body }),
  act: (id: string, action: 'pause' | 'resume' | 'abort') =>
    request<RolloutDetail>(`/rollouts/${encodeURIComponent(id)}/${action}`, { method: 'POST', body: {} }),
};

/** "1, 10%, 100%" → rings; a bare number is a node count, a number with % a share. */
export function parseRings(text: string): RolloutRing[] | null {
  const parts = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const rings: RolloutRing[] = [];
  for (const p of parts) {
    const m = /^(\d+(?:\.\d+)?)(\s*%)?$/.exec(p);
    if (!m) return null;
    const n = Number(m[1]);
    if (m[2]) rings.push({ percent: n });
    else if (Number.isInteger(n) && n >= 1) rings.push({ count: n });
    else return null;
  }
  return rings.length ? rings : null;
}

export const ringLabel = (r: RolloutRing) => ('count' in r ? `${r.count} node(s)` : `${r.percent} %`);
