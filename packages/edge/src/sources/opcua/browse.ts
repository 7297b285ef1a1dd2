// The "browse" half of DIAGNOSTICS: the server's own variables (namespace 0, the OPC UA standard
// nodes, left out), with their node id, path, data type and current value, so a template is
// written from what the server really holds. Bounded: a plant server can hold millions of nodes.
import type { ClientSession } from 'node-opcua-client';

export interface BrowsedVariable {
  nodeId: string;
  path: string;
  dataType: string;
  value: unknown;
}

export interface BrowseLimits {
  maxDepth: number;
  maxVariables: number;
}

type Opc = typeof import('node-opcua-client');

export async function browseVariables(
  opc: Opc,
  session: ClientSession,
  limits: BrowseLimits = { maxDepth: 8, maxVariables: 500 },
): Promise<{ variables: BrowsedVariable[]; truncated: boolean }> {
  const found: { nodeId: string; path: string }[] = [];
  const seen = new Set<string>();
  let level: { nodeId: string; path: string }[] = [{ nodeId: 'i=85', path: '' }]; // Objects folder
  let truncated = false;
  for (let depth = 0; depth < limits.maxDepth && level.length > 0 && !truncated; depth++) {
    const results = await opc.browseAll(
      session,
      level.map((n) => ({
        nodeId: n.nodeId,
        referenceTypeId: 'HierarchicalReferences',
        includeSubtypes: true,
        browseDirection: opc.BrowseDirection.Forward,
        nodeClassMask: opc.NodeClassMask.Object | opc.NodeClassMask.Variable,
        resultMask: 63,
      })),
    );
    const next: { nodeId: string; path: string }[] = [];
    results.forEach((result, i) => {
      for (const ref of result.references ?? []) {
        const id = ref.nodeId.toString();
        // Namespace 0 is the standard's own (the Server object and its diagnostics).
        if (ref.nodeId.namespace === 0 || seen.has(id)) continue;
        seen.add(id);
        // The RelativePath form a template's browsePath takes: /<namespace index>:<browse name>.
        const path = `${level[i]!.path}/${ref.browseName.namespaceIndex}:${ref.browseName.name ?? ''}`;
        if (ref.nodeClass === opc.NodeClass.Variable) {
          if (found.length >= limits.maxVariables) {
            truncated = true;
            continue;
          }
          found.push({ nodeId: id, path });
        }
        next.push({ nodeId: id, path }); // variables may have children (properties) too
      }
    });
    level = next;
  }
  if (level.length > 0 && !truncated) truncated = true;
  const values = await session.read(
    found.flatMap((v) => [
      { nodeId: v.nodeId, attributeId: opc.AttributeIds.Value },
      { nodeId: v.nodeId, attributeId: opc.AttributeIds.DataType },
    ]),
  );
  const variables = found.map((v, i): BrowsedVariable => {
    const value = values[2 * i];
    const type = values[2 * i + 1]?.value.value as { value?: unknown; namespace?: number } | undefined;
    const builtin =
      typeof type?.value === 'number' && type.namespace === 0 ? opc.DataType[type.value] : undefined;
    return {
      nodeId: v.nodeId,
      path: v.path,
      dataType: builtin ?? String(type ?? '?'),
      value: value?.statusCode.isGood()
        ? plain(value.value.value)
        : `(${value?.statusCode.name ?? 'unreadable'})`,
    };
  });
  return { variables, truncated };
}

/** JSON-safe (Int64 arrives as [high, low], byte strings as Buffers). */
function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) return String(v);
  return v;
}
