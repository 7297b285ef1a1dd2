// Switchable equipment (hub src/automation): channels with desired and confirmed state, manual
// switching of one channel or a confirmed bulk action, and the org setting for owners.
import { request } from './http.ts';

export type OnOff = 'on' | 'off';
export type ChannelStatus = 'unknown' | 'pending' | 'confirmed' | 'failed';

export interface Channel {
  id: string;
  siteId: string;
  nodeId: string;
  nodeName: string;
  equipment: string;
  channel: string;
  label: string | null;
  kind: string;
  capabilities: { switch: boolean; readBack: boolean; edgeAutomation?: boolean };
  present: boolean;
  desiredState: OnOff | null;
  desiredAt: string | null;
  desiredBy: string | null;
  reportedState: OnOff | null;
  reportedAt: string | null;
  status: ChannelStatus;
  failureReason: string | null;
  commandId: string | null;
  limits: ChannelLimits;
  updatedAt: string;
}

/** Switching safety limits, enforced by the hub and the edge whatever asks for the switch. */
export interface ChannelLimits {
  minOnS: number;
  minOffS: number;
  maxSwitchesPerHour: number | null;
}

export interface ChannelList {
  items: Channel[];
  control: { canSwitch: boolean; reason?: string };
}

export interface BulkResult {
  results: { channelId: string; ok: boolean; channel?: Channel; error?: { code: string; message: string } }[];
}

export const equipmentApi = {
  list: (siteId: string) => request<ChannelList>(`/sites/${siteId}/channels`),
  get: (id: string) => request<Channel>(`/channels/${id}`),
  switch: (id: string, state: OnOff) => request<Channel>(`/channels/${id}/switch`, { body: { state } }),
  switchMany: (siteId: string, channelIds: string[], state: OnOff) =>
    request<BulkResult>(`/sites/${siteId}/channels/switch`, { body: { state, channelIds, confirm: true } }),
  setLimits: (id: string, limits: ChannelLimits) =>
    request<Channel>(`/channels/${id}/limits`, { method: 'PUT', body: limits }),
  settings: (orgId: string) =>
    request<{ orgId: string; ownerControl: boolean }>(`/orgs/${orgId}/control-settings`),
  setSettings: (orgId: string, ownerControl: boolean) =>
    request<{ orgId: string; ownerControl: boolean }>(`/orgs/${orgId}/control-settings`, {
      method: 'PUT',
      body: { ownerControl },
    }),
};
