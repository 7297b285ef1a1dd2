// Nodes: identity, health and the latest value of each metric.
import { request } from './http.ts';

export interface NodeInfo {
  id: string;
  site_id: string;
  name: string;
  kind: 'agent' | 'plug' | 'virtual';
  active: boolean;
  status: 'unknown' | 'online' | 'offline';
  status_reason: string | null;
  last_seen_at: string | null;
  clock_offset_ms: number | null;
  agent_version: string | null;
  git_commit: string | null;
  os_version: string | null;
  created_at: string;
  sample_interval_s: number;
  /** The node has a live MQTT session (current heartbeats): commands can reach it. */
  control_channel: boolean;
}

export interface LatestValue {
  equipment: string;
  metric: string;
  ts: string;
  value: number;
}

const id = (nodeId: string) => encodeURIComponent(nodeId);

export const nodesApi = {
  get: (nodeId: string) => request<NodeInfo>(`/nodes/${id(nodeId)}`),
  latest: (nodeId: string) =>
    request<{ nodeId: string; values: LatestValue[] }>(`/nodes/${id(nodeId)}/latest`).then((a) => a.values),
  deactivate: (nodeId: string) =>
    request<{ id: string; active: boolean }>(`/nodes/${id(nodeId)}/deactivate`, { method: 'POST' }),
  activate: (nodeId: string) =>
    request<{ id: string; active: boolean }>(`/nodes/${id(nodeId)}/activate`, { method: 'POST' }),
};
