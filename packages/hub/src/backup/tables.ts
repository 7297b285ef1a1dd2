// What a backup promises to carry: every ordinary table and partition of schema public (the hub's
// whole schema, schema_migrations included), with its row count. Works on either engine through
// a plain query function, so backup and restore count the same way.
export type Query = (text: string) => Promise<{ rows: Record<string, unknown>[] }>;

export async function listTables(query: Query): Promise<string[]> {
  const { rows } = await query(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname`,
  );
  return rows.map((r) => String(r.name));
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

export async function tableCounts(query: Query): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const t of await listTables(query)) {
    const { rows } = await query(`SELECT count(*)::bigint AS n FROM ${ident(t)}`);
    counts[t] = Number(rows[0]?.n);
  }
  return counts;
}

export async function appliedMigrations(query: Query, tables: string[]): Promise<string[]> {
  if (!tables.includes('schema_migrations')) return [];
  const { rows } = await query('SELECT name FROM schema_migrations ORDER BY name');
  return rows.map((r) => String(r.name));
}

export async function secretsKeyIds(query: Query, tables: string[]): Promise<string[]> {
  if (!tables.includes('secrets')) return [];
  const { rows } = await query('SELECT DISTINCT key_id FROM secrets ORDER BY key_id');
  return rows.map((r) => String(r.key_id));
}
