// Bulk sample writes inside an open transaction. PostgreSQL takes COPY straight into the
// partitioned table (near raw speed); if a sample already exists (same series and instant from
// another batch), the COPY is rolled back to a savepoint and the rows go in with ON CONFLICT
// DO NOTHING instead. PGlite cannot COPY through the pg pool, so it always uses the latter.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Engine } from '../storage/database.ts';

export interface SampleRows {
  seriesIds: number[];
  ts: number[]; // epoch ms
  values: number[];
}

export async function insertSamplesOnConflict(client: pg.PoolClient, rows: SampleRows): Promise<number> {
  const r = await client.query(
    `INSERT INTO samples (series_id, ts, value)
     SELECT s, to_timestamp(t / 1000.0), v FROM unnest($1::int4[], $2::float8[], $3::float8[]) AS u(s, t, v)
     ON CONFLICT DO NOTHING`,
    [rows.seriesIds, rows.ts, rows.values],
  );
  return r.rowCount ?? 0;
}

function copyText(rows: SampleRows): string {
  const lines: string[] = new Array(rows.seriesIds.length);
  for (let i = 0; i < rows.seriesIds.length; i++) {
    lines[i] = `${rows.seriesIds[i]}\t${new Date(rows.ts[i]!).toISOString()}\t${rows.values[i]}\n`;
  }
  return lines.join('');
}

async function copySamples(client: pg.PoolClient, rows: SampleRows): Promise<number> {
  const stream = client.query(copyFrom('COPY samples (series_id, ts, value) FROM STDIN'));
  await pipeline(Readable.from([copyText(rows)]), stream);
  return rows.seriesIds.length;
}

/** Writes rows; returns how many were new. Must run inside BEGIN … COMMIT on `client`. */
export async function writeSamples(engine: Engine, client: pg.PoolClient, rows: SampleRows): Promise<number> {
  if (engine === 'pglite') return insertSamplesOnConflict(client, rows);
  await client.query('SAVEPOINT copy_samples');
  try {
    const n = await copySamples(client, rows);
    await client.query('RELEASE SAVEPOINT copy_samples');
    return n;
  } catch (err) {
    if ((err as { code?: string }).code !== '23505') throw err;
    await client.query('ROLLBACK TO SAVEPOINT copy_samples');
    return insertSamplesOnConflict(client, rows);
  }
}
