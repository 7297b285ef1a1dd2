// The agent's events and daily reports, below the uplink: the durable queue (a formed batch keeps
// its id and bytes across a reopen), counter energy per local day (split at local midnight,
// counter resets), the daily reporter under a pinned clock, restart reasons read from the run
// record, and error-log bursts seen through the real logger.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checker, DailyBatch, EVENT_KINDS, EventBatch } from '@wattfleet/protocol';
import { DailyEnergy } from '../src/daily/energy.ts';
import { DailyReporter } from '../src/daily/reporter.ts';
import { ErrorBurst } from '../src/events/error-burst.ts';
import { EventJournal } from '../src/events/journal.ts';
import { RestartTracker, restartReason } from '../src/events/restart.ts';
import { AgentState } from '../src/outbox/agent-state.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { ReportQueue } from '../src/outbox/reports.ts';
import { createLogger } from '../src/runtime/logger.ts';
import { type Clock, offsetClock } from '../src/time/clock.ts';
import { localDayStart } from '../src/time/zone.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-reports-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const open = (name: string) => Outbox.open(join(dir, name), { maxBytes: 1 << 30 });
const TZ = 'Australia/Adelaide'; // +9:30 / +10:30: a day boundary that is not on a UTC hour

describe('report queue', () => {
  it('keeps a formed batch (id and bytes) across a reopen and forgets it on ack', () => {
    const path = 'queue.db';
    let outbox = open(path);
    const journal = new EventJournal(new ReportQueue(outbox.db, 'events'), { now: () => 1_760_000_000_000 });
    journal.emit(EVENT_KINDS.equipmentUnreachable, 'warning', '3 reads failed: ECONNREFUSED', {
      equipment: 'inverter',
      data: { failures: 3 },
    });
    journal.emit(EVENT_KINDS.equipmentReachable, 'info', 'inverter answers again', { equipment: 'inverter' });
    const formed = new ReportQueue(outbox.db, 'events').formBatch({ maxSamples: 500, maxAgeMs: 0 })!;
    assert.equal(formed.count, 2);
    const body = JSON.parse(formed.body);
    assert.ok(checker(EventBatch).check(body), JSON.stringify(checker(EventBatch).problems(body)));
    assert.equal(body.batchId, formed.id);
    outbox.close(); // a crash before the hub answered

    outbox = open(path);
    const queue = new ReportQueue(outbox.db, 'events');
    const [again] = queue.batches(1);
    assert.deepEqual(again, { ...formed, attempts: 0 }, 'the resend is the same batch, byte for byte');
    assert.equal(queue.formBatch({ maxSamples: 500, maxAgeMs: 0 }), undefined, 'nothing left unbatched');
    assert.equal(queue.ack(formed.id), 2);
    assert.equal(queue.pending(), 0);
    assert.equal(new ReportQueue(outbox.db, 'daily').pending(), 0, 'channels are separate');
    outbox.close();
  });

  it('waits for maxAgeMs before forming a batch that is not full', () => {
    const outbox = open('age.db');
    const queue = new ReportQueue(outbox.db, 'events');
    queue.append([{ ts: 1_760_000_000_000, kind: 'x.y', severity: 'info', message: 'm' }], 1000);
    assert.equal(queue.formBatch({ maxSamples: 10, maxAgeMs: 500, now: 1200 }), undefined);
    assert.equal(queue.formBatch({ maxSamples: 10, maxAgeMs: 500, now: 1600 })?.count, 1);
    outbox.close();
  });
});

describe('energy per local day from counters', () => {
  const d1 = '2026-03-10';
  const midnight = localDayStart(TZ, '2026-03-11');

  it('splits the interval across local midnight like the hub, and survives a counter reset', () => {
    const outbox = open('energy.db');
    const energy = new DailyEnergy(outbox.db, TZ);
    const t0 = midnight - 10 * 60_000;
    outbox.db.transaction(() => {
      energy.record([{ metric: 'load_wh', ts: t0, value: 1000, equipment: 'meter' }]);
      energy.record([{ metric: 'load_wh', ts: midnight - 5 * 60_000, value: 1100, equipment: 'meter' }]);
      // 100 Wh over 10 min, half before midnight.
      energy.record([{ metric: 'load_wh', ts: midnight + 5 * 60_000, value: 1200, equipment: 'meter' }]);
      // The meter restarted: it now counts from zero.
      energy.record([{ metric: 'load_wh', ts: midnight + 10 * 60_000, value: 30, equipment: 'meter' }]);
      energy.record([{ metric: 'solar_wh', ts: t0, value: 5, equipment: 'inverter' }]);
      energy.record([{ metric: 'solar_wh', ts: midnight + 60_000, value: 5, equipment: 'inverter' }]);
      energy.record([{ metric: 'load_w', ts: t0, value: 500 }]); // power: not a counter
    })();
    const day1 = energy.day(d1);
    assert.ok(Math.abs(day1.load_kwh! - 0.15) < 1e-9, JSON.stringify(day1));
    assert.equal(day1.solar_kwh, 0, 'a day with a counter that did not move reports 0');
    const day2 = energy.day('2026-03-11');
    assert.ok(Math.abs(day2.load_kwh! - 0.08) < 1e-9, JSON.stringify(day2));
    outbox.close();
  });

  it('reports a finished day once, at local midnight, under a pinned clock, across restarts', () => {
    const path = 'daily.db';
    let now = midnight - 60_000;
    const clock: Clock = { now: () => now };
    const build = (outbox: Outbox) => {
      const queue = new ReportQueue(outbox.db, 'daily');
      const energy = new DailyEnergy(outbox.db, TZ);
      return {
        queue,
        energy,
        reporter: new DailyReporter(energy, queue, new AgentState(outbox.db), clock, TZ),
      };
    };
    let outbox = open(path);
    let r = build(outbox);
    const read = (ts: number, value: number) =>
      outbox.db.transaction(() => r.energy.record([{ metric: 'grid_import_wh', ts, value }]))();
    read(midnight - 60_000, 0);
    read(midnight - 30_000, 50);
    assert.deepEqual(r.reporter.check(), [], 'the day is not over');
    now = midnight + 1000;
    assert.deepEqual(r.reporter.check(), [], 'over, but the interval across midnight is not in yet');
    read(midnight + 30_000, 100);
    assert.deepEqual(r.reporter.check(), [d1]);
    const batch: unknown = JSON.parse(r.queue.formBatch({ maxSamples: 10, maxAgeMs: 0 })!.body);
    assert.ok(checker(DailyBatch).check(batch));
    const [report] = batch.days;
    assert.equal(report?.date, d1);
    assert.ok(Math.abs((report?.values.grid_import_kwh ?? 0) - 0.075) < 1e-9, JSON.stringify(batch));
    outbox.close();

    outbox = open(path);
    r = build(outbox);
    assert.deepEqual(r.reporter.check(), [], 'a restart does not report the day again');
    now = localDayStart(TZ, '2026-03-13') + 20 * 60_000; // off over the next midnight: late, not lost
    assert.deepEqual(r.reporter.check(), ['2026-03-11']);
    outbox.close();
  });
});

describe('restart reasons', () => {
  it('tells a first start, a crash, a clean stop, a requested restart, the watchdog and a reboot apart', () => {
    assert.equal(restartReason(undefined, 'b1'), 'first_start');
    const base = { bootId: 'b1', pid: 1, startedAt: 0 };
    assert.equal(restartReason({ ...base, clean: false }, 'b1'), 'crash');
    assert.equal(restartReason({ ...base, clean: true }, 'b1'), 'stopped');
    assert.equal(restartReason({ ...base, clean: true, requested: 'command' }, 'b1'), 'command');
    assert.equal(restartReason({ ...base, clean: false, requested: 'update' }, 'b1'), 'update');
    assert.equal(restartReason({ ...base, clean: false, watchdogWithheldSince: 5 }, 'b1'), 'watchdog');
    assert.equal(restartReason({ ...base, clean: true }, 'b2'), 'os_reboot');
  });

  it('reads what the previous process left in the state file and emits agent.restarted', () => {
    const path = 'restarts.db';
    const clock = offsetClock(0);
    const run = (bootId: string, end: (t: RestartTracker) => void) => {
      const outbox = open(path);
      const queue = new ReportQueue(outbox.db, 'events');
      const tracker = new RestartTracker(new AgentState(outbox.db), bootId, Date.now());
      const verdict = tracker.begin(new EventJournal(queue, clock));
      end(tracker);
      const events = queue
        .batches(100)
        .concat(queue.formBatch({ maxSamples: 100, maxAgeMs: 0 }) ?? [])
        .flatMap((b) => JSON.parse(b.body).events);
      outbox.close();
      return { reason: verdict.reason, last: events.at(-1) };
    };
    assert.equal(run('b1', () => {}).reason, 'first_start'); // ends without a clean stop
    const crash = run('b1', (t) => t.requested('command', 'RESTART command'));
    assert.equal(crash.reason, 'crash');
    assert.equal(crash.last.kind, EVENT_KINDS.agentRestarted);
    assert.equal(crash.last.severity, 'error');
    assert.equal(crash.last.data.reason, 'crash');
    const cmd = run('b1', (t) => t.clean());
    assert.equal(cmd.reason, 'command');
    assert.equal(cmd.last.data.requestReason, 'RESTART command');
    assert.equal(run('b1', (t) => t.watchdogWithheld(true)).reason, 'stopped');
    assert.equal(run('b1', () => {}).reason, 'watchdog');
    assert.equal(run('b2', () => {}).reason, 'os_reboot');
  });
});

describe('error-log bursts', () => {
  it('turns ten error lines within the window into one event that says how many', async () => {
    const outbox = open('burst.db');
    const queue = new ReportQueue(outbox.db, 'events');
    const burst = new ErrorBurst(10, 600);
    burst.journal = new EventJournal(queue, offsetClock(0));
    // Level error: the hook sees the lines the logger writes (a logger set to fatal sees none).
    const logger = createLogger({ level: 'error', onError: (m) => burst.record(m) });
    for (let i = 0; i < 9; i++) logger.error({ source: 'inverter' }, `read failed ${i % 2}`);
    logger.warn('not an error');
    assert.equal(queue.pending(), 0, 'nine are not a burst');
    logger.error(new Error('disk full'));
    const [event] = JSON.parse(queue.formBatch({ maxSamples: 10, maxAgeMs: 0 })!.body).events;
    assert.equal(event.kind, EVENT_KINDS.errorBurst);
    assert.equal(event.severity, 'error');
    assert.equal(event.data.count, 10);
    assert.deepEqual(event.data.samples, ['read failed 0', 'read failed 1', 'disk full']);
    outbox.close();
  });
});
