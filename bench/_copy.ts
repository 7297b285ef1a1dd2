// Raw COPY of given samples into `samples`, one COPY per batch-sized chunk on one connection:
// what PostgreSQL alone does with the same rows, the yardstick for ingest paths.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

export interface CopyChunk {
  nodeId: string;
  samples: { metric: string; ts: number; value: number }[];
}

/** Rows per second; the series must exist (the hub created them). */
export async function rawCopyRate(url: string, chunks: CopyChunk[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number; node_id: string; metric: string }>(
      'SELECT id, node_id, metric FROM series',
    );
    const series = new Map(rows.map((r) => [`${r.node_id}|${r.metric}`, r.id]));
    // The same rows, as COPY text, prepared before the clock starts.
    const texts = chunks.map(({ nodeId, samples }) =>
      samples
        .map((s) => `${series.get(`${nodeId}|${s.metric}`)}\t${new Date(s.ts).toISOString()}\t${s.value}\n`)
        .join(''),
    );
    const total = chunks.reduce((n, c) => n + c.samples.length, 0);
    const started = performance.now();
    for (const text of texts) {
      await pipeline(
        Readable.from([text]),
        client.query(copyFrom('COPY samples (series_id, ts, value) FROM STDIN')),
      );
    }
    return total / ((performance.now() - started) / 1000);
  } finally {
    await client.end();
  }
}
