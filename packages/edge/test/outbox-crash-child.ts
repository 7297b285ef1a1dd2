// Child process for the crash test: hammers the outbox (append, form, ack, poison, drop) until it is
// killed with SIGKILL. Values are the running `appended` counter, so every sample is unique.
import { Outbox } from '../src/outbox/outbox.ts';

const path = process.argv[2]!;
const outbox = Outbox.open(path, { maxBytes: 1024 * 1024 });
process.send?.('ready');
let tick = 0;
for (;;) {
  const base = outbox.counter('appended');
  const n = 1 + Math.floor(Math.random() * 200);
  outbox.append(
    Array.from({ length: n }, (_, i) => ({
      metric: 'power_w',
      ts: 1_700_000_000_000 + base + i,
      value: base + i,
    })),
  );
  if (tick % 3 === 0) outbox.formBatch({ maxSamples: 500, maxAgeMs: 0 });
  const [oldest] = outbox.batches(1);
  if (oldest && Math.random() < 0.3) outbox.ack(oldest.id);
  else if (oldest && Math.random() < 0.02) outbox.poison(oldest.id, 'test');
  tick++;
}
