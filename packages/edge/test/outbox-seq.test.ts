// Batch sequence numbers in the outbox (issue 17 item 6): given when a batch is formed, kept on
// resend and across a restart (the state file is closed and reopened, as the agent does), and
// never given twice, also after batches were acked or dropped.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Outbox } from '../src/outbox/outbox.ts';
import { migrateState } from '../src/outbox/schema.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-outbox-seq-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `o${n++}.db`);
const reading = (i: number) => ({ metric: 'solar_w', ts: 1_700_000_000_000 + i * 1000, value: i });

function formOne(o: Outbox, i: number) {
  o.append([reading(i)]);
  return o.formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
}

describe('outbox batch sequence numbers', () => {
  it('numbers batches 1, 2, 3 in the body, keeps them on resend and across reopen, never reuses one', () => {
    const path = freshPath();
    const o = Outbox.open(path, { maxBytes: 1 << 30 });
    const b1 = formOne(o, 1);
    const b2 = formOne(o, 2);
    assert.deepEqual([b1.seq, b2.seq], [1, 2]);
    assert.equal(JSON.parse(b1.body).seq, 1);
    assert.equal(JSON.parse(b2.body).seq, 2);
    o.ack(b1.id);
    o.close();

    const again = Outbox.open(path, { maxBytes: 1 << 30 });
    const [resend] = again.batches();
    assert.equal(resend?.id, b2.id);
    assert.equal(resend?.seq, 2, 'a resent batch keeps its seq');
    assert.equal(resend?.body, b2.body, 'and its bytes');
    again.ack(b2.id);
    const b3 = formOne(again, 3);
    assert.equal(b3.seq, 3, 'the counter survived the restart and acks');
    again.close();
  });

  it('a batch formed before the upgrade keeps its old bytes without seq; new ones start at 1', () => {
    const path = freshPath();
    // A version-2 state file (the layout before sequence numbers) holding one formed batch: the
    // full layout with migration 3 undone.
    const raw = new Database(path);
    migrateState(raw);
    raw.exec('ALTER TABLE batches DROP COLUMN seq');
    raw.exec("DELETE FROM counters WHERE name = 'batch_seq'");
    raw.exec(
      "INSERT INTO batches(id, first_seq, count, digest, created_at) VALUES ('old-batch-1', 0, 0, '', 0)",
    );
    raw.pragma('user_version = 2');
    raw.close();
    // Opening it applies migration 3: the old batch has seq NULL.
    const old = Outbox.open(path, { maxBytes: 1 << 30 });
    const legacyBody = JSON.stringify({ batchId: 'old-batch-1', samples: [] });
    const bodyOf = (o: Outbox, id: string) =>
      (o as unknown as { buildBody(id: string): string }).buildBody(id);
    assert.equal(bodyOf(old, 'old-batch-1'), legacyBody, 'no seq field for a batch without one');
    const fresh = formOne(old, 1);
    assert.equal(fresh.seq, 1);
    old.close();
  });
});
