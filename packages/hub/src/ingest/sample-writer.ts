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

// COPY BINARY: fixed-size rows written straight into one buffer. No timestamp text to format here
// or to parse in PostgreSQL, which made text COPY's per-row cost on both sides.
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const HEADER_BYTES = SIGNATURE.length + 8; // + flags + header extension length
const ROW_BYTES = 2 + (4 + 4) + (4 + 8) + (4 + 8);
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const TWO_32 = 4_294_967_296;

export function copyBinary(rows: SampleRows): Buffer {
  const n = rows.seriesIds.length;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + n * ROW_BYTES + 2);
  SIGNATURE.copy(buf, 0);
  let o = SIGNATURE.length;
  o = buf.writeInt32BE(0, o); // flags
  o = buf.writeInt32BE(0, o); // no header extension
  for (let i = 0; i < n; i++) {
    o = buf.writeInt16BE(3, o);
    o = buf.writeInt32BE(4, o);
    o = buf.writeInt32BE(rows.seriesIds[i]!, o);
    // timestamptz: int64 microseconds since 2000-01-01 UTC, written as two 32-bit halves.
    const us = Math.round((rows.ts[i]! - PG_EPOCH_MS) * 1000);
    const hi = Math.floor(us / TWO_32);
    o = buf.writeInt32BE(8, o);
    o = buf.writeInt32BE(hi, o);
    o = buf.writeUInt32BE(us - hi * TWO_32, o);
    o = buf.writeInt32BE(8, o);
    o = buf.writeDoubleBE(rows.values[i]!, o);
  }
  buf.writeInt16BE(-1, o);
  return buf;
}

export async function copySamples(client: pg.PoolClient, rows: SampleRows): Promise<number> {
  const stream = client.query(copyFrom('COPY samples (series_id, ts, value) FROM STDIN (FORMAT binary)'));
  await pipeline(Readable.from([copyBinary(rows)]), stream);
  return rows.seriesIds.length;
}
