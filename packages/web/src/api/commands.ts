// Commands to nodes: whitelisted types only (protocol/commands.ts), each with a lifecycle.
import type { CommandType } from '@wattfleet/protocol';
import { request } from './http.ts';

export type CommandState =
  | 'pending'
  | 'delivered'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'expired'
  | 'cancelled';

export interface Command {
  id: string;
  nodeId?: string;
  type: CommandType;
  args: Record<string, unknown>;
  state: CommandState;
  createdAt?: string;
  updatedAt?: string;
  result?: unknown;
  error?: string | null;
  /** State changes, oldest first, as the hub sends them (commands.schema.ts CommandTransition). */
  history?: CommandTransition[];
  [key: string]: unknown;
}

export interface CommandTransition {
  /** null for the first entry (the command was created). */
  from: CommandState | null;
  to: CommandState;
  at: string;
  source: 'actor' | 'node' | 'hub';
  data?: unknown;
}

/** Same order as protocol/commands.ts; kept here so the browser bundle need not load TypeBox. */
export const COMMAND_TYPES: readonly CommandType[] = [
  'RESTART',
  'FETCH_LOGS',
  'CONFIG_PUSH',
  'SELF_UPDATE',
  'OPEN_TUNNEL',
  'RELAY_SET',
  'DIAGNOSTICS',
  'AUTOMATION_PUSH',
];

export const TERMINAL_STATES: readonly CommandState[] = ['succeeded', 'failed', 'expired', 'cancelled'];

/** The hub's error is {code, message}; older rows may carry a plain string. */
function errorText(e: unknown): string | null {
  if (!e) return null;
  if (typeof e === 'string') return e;
  const o = e as { code?: string; message?: string };
  return [o.code, o.message].filter(Boolean).join(': ') || JSON.stringify(e);
}

/** The hub may answer camelCase or snake_case rows; pages only see this shape. */
export function normaliseCommand(raw: Record<string, unknown>): Command {
  const pick = (...keys: string[]) => keys.map((k) => raw[k]).find((v) => v !== undefined);
  return {
    ...raw,
    id: String(raw.id),
    nodeId: pick('nodeId', 'node_id') as string | undefined,
    type: raw.type as CommandType,
    args: (raw.args as Record<string, unknown>) ?? {},
    state: (raw.state ?? raw.status ?? 'pending') as CommandState,
    createdAt: pick('createdAt', 'created_at') as string | undefined,
    updatedAt: pick('updatedAt', 'updated_at') as string | undefined,
    error: errorText(pick('error', 'errorMessage', 'error_message')),
  };
}

const nid = (nodeId: string) => encodeURIComponent(nodeId);

export const commandsApi = {
  send: async (nodeId: string, type: CommandType, args: Record<string, unknown>) =>
    normaliseCommand(
      await request<Record<string, unknown>>(`/nodes/${nid(nodeId)}/commands`, { body: { type, args } }),
    ),
  list: async (nodeId: string, query: { type?: CommandType; limit?: number } = {}) => {
    const answer = await request<{ items: Record<string, unknown>[] }>(`/nodes/${nid(nodeId)}/commands`, {
      query,
    });
    return answer.items.map(normaliseCommand);
  },
  /** One command with its state history. */
  get: async (nodeId: string, commandId: string) =>
    normaliseCommand(
      await request<Record<string, unknown>>(
        `/nodes/${nid(nodeId)}/commands/${encodeURIComponent(commandId)}`,
      ),
    ),
  cancel: async (nodeId: string, commandId: string) =>
    normaliseCommand(
      await request<Record<string, unknown>>(
        `/nodes/${nid(nodeId)}/commands/${encodeURIComponent(commandId)}/cancel`,
        { method: 'POST', body: {} },
      ),
    ),
  logs: (nodeId: string, commandId?: string) =>
    request<{ commandId: string | null; complete: boolean; lines: string[] }>(`/nodes/${nid(nodeId)}/logs`, {
      query: { commandId },
    }),
};
