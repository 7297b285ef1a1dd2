// Bulk sample writes inside an open transaction: COPY straight into the partitioned table (near
// raw speed, PostgreSQL only), or a multi-row INSERT … ON CONFLICT DO NOTHING (PGlite, which
// cannot COPY through the pg pool, and the retry when a COPY hit an already stored sample).
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

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

export async function copySamples(client: pg.PoolClient, rows: SampleRows): Promise<number> {
  const stream = client.query(copyFrom('COPY samples (series_id, ts, value) FROM STDIN'));
  await pipeline(Readable.from([copyText(rows)]), stream);
  return rows.seriesIds.length;
}
