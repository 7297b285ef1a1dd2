// The OS's NTP state: the parsers fed what timedatectl and chronyc print on real machines, the
// probe order (timedatectl, then chronyc, else unknown), and the monitor's events through the real
// journal and state file. A unit test with a scripted runner, not the agent bundle: systemd and
// chronyd cannot run on the test machine (timedatectl there answers "not booted with systemd").
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { EVENT_KINDS } from '@wattfleet/protocol';
import { EventJournal } from '../src/events/journal.ts';
import { NTP_GRACE_MS, NtpMonitor } from '../src/events/ntp-monitor.ts';
import type { ExecResult } from '../src/ops/exec.ts';
import { AgentState } from '../src/outbox/agent-state.ts';
import { Outbox } from '../src/outbox/outbox.ts';
import { ReportQueue } from '../src/outbox/reports.ts';
import { currentAlerts } from '../src/runtime/alerts.ts';
import { type NtpState, parseChronyTracking, parseTimedatectl, probeNtp } from '../src/time/ntp.ts';

const dir = mkdtempSync(join(tmpdir(), 'wf-ntp-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ok = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
const fail = (stderr: string, code = 1): ExecResult => ({ code, stdout: '', stderr });

const CHRONY_SYNCED = `Reference ID    : C0A80101 (192.168.1.1)
Stratum         : 3
Ref time (UTC)  : Wed Dec 02 10:01:12 2026
System time     : 0.000012345 seconds fast of NTP time
Last offset     : +0.000004512 seconds
RMS offset      : 0.000021002 seconds
Frequency       : 12.345 ppm slow
Residual freq   : +0.001 ppm
Skew            : 0.045 ppm
Root delay      : 0.012345678 seconds
Root dispersion : 0.000987654 seconds
Update interval : 64.5 seconds
Leap status     : Normal
`;
const CHRONY_UNSYNCED = `Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 0.000 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 1.000000000 seconds
Root dispersion : 1.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Not synchronised
`;
const NO_SYSTEMD = fail(
  "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down",
);

describe('parsing what the OS says', () => {
  it('timedatectl: yes / no, anything else cannot tell', () => {
    assert.deepEqual(parseTimedatectl(ok('yes\n')), {
      synchronised: true,
      via: 'timedatectl',
      detail: 'NTPSynchronized=yes',
    });
    assert.equal(parseTimedatectl(ok('no\n'))?.synchronised, false);
    assert.equal(parseTimedatectl(NO_SYSTEMD), undefined);
    assert.equal(parseTimedatectl(ok('')), undefined, 'an old systemd without the property');
    assert.equal(parseTimedatectl(fail('spawn timedatectl ENOENT')), undefined);
  });

  it('chronyc tracking: the leap status says it', () => {
    const synced = parseChronyTracking(ok(CHRONY_SYNCED));
    assert.equal(synced?.synchronised, true);
    assert.equal(synced?.via, 'chronyc');
    assert.match(synced!.detail, /Normal; reference C0A80101 \(192\.168\.1\.1\)/);
    assert.equal(parseChronyTracking(ok(CHRONY_UNSYNCED))?.synchronised, false);
    assert.equal(
      parseChronyTracking(ok(CHRONY_SYNCED.replace('Normal', 'Insert second')))?.synchronised,
      true,
      'a pending leap second is still in step',
    );
    assert.equal(parseChronyTracking(fail('506 Cannot talk to daemon')), undefined);
    assert.equal(parseChronyTracking(ok('something else entirely')), undefined);
  });
});

describe('probeNtp', () => {
  /** A runner that answers from a script and records what was asked. */
  const scripted = (answers: Record<string, ExecResult | Error>) => {
    const asked: string[] = [];
    const runProgram = async (file: string, args: readonly string[]) => {
      asked.push([file, ...args].join(' '));
      const a = answers[file] ?? fail(`spawn ${file} ENOENT`);
      if (a instanceof Error) throw a;
      return a;
    };
    return { asked, runProgram };
  };

  it('asks timedatectl first and stops at its answer', async () => {
    const s = scripted({ timedatectl: ok('no\n'), chronyc: ok(CHRONY_SYNCED) });
    assert.equal((await probeNtp(s.runProgram)).synchronised, false);
    assert.deepEqual(s.asked, ['timedatectl show -p NTPSynchronized --value']);
  });

  it('falls back to chronyc without systemd, then to unknown', async () => {
    const s = scripted({ timedatectl: NO_SYSTEMD, chronyc: ok(CHRONY_UNSYNCED) });
    const answer = await probeNtp(s.runProgram);
    assert.equal(answer.synchronised, false);
    assert.equal(answer.via, 'chronyc');
    assert.deepEqual(s.asked, ['timedatectl show -p NTPSynchronized --value', 'chronyc -n tracking']);

    const none = await probeNtp(scripted({ timedatectl: NO_SYSTEMD, chronyc: new Error('boom') }).runProgram);
    assert.deepEqual([none.synchronised, none.via], [null, null]);
  });

  it('never throws on this machine (the real programs, whatever is installed)', async () => {
    const answer = await probeNtp();
    assert.ok([true, false, null].includes(answer.synchronised), JSON.stringify(answer));
  });
});

describe('NtpMonitor', () => {
  const setup = (name: string) => {
    const outbox = Outbox.open(join(dir, name), { maxBytes: 1 << 30 });
    const queue = new ReportQueue(outbox.db, 'events');
    const journal = new EventJournal(queue, { now: () => 1_760_000_000_000 });
    // What waits for the hub, in order (the queue's own rows: what the events uplink will send).
    const kinds = () =>
      (
        outbox.db.prepare("SELECT item FROM reports WHERE channel = 'events' ORDER BY seq").all() as {
          item: string;
        }[]
      ).map((r) => (JSON.parse(r.item) as { kind: string }).kind);
    return { outbox, queue, journal, state: new AgentState(outbox.db), kinds };
  };

  it('says "not synchronised" once it has lasted the grace, "synchronised" when back; unknown says nothing', async () => {
    const { outbox, queue, journal, state, kinds } = setup('monitor.db');
    let now = 0;
    let answer: NtpState = { synchronised: false, via: 'timedatectl', detail: 'NTPSynchronized=no' };
    const monitor = new NtpMonitor(journal, state, { probe: async () => answer, now: () => now });

    await monitor.check(); // just booted, NTP not there yet
    assert.equal(monitor.view.synchronised, false);
    assert.equal(monitor.view.unsynchronisedSince, 0);
    assert.equal(queue.pending(), 0, 'within the grace: no news');
    now = NTP_GRACE_MS - 1;
    await monitor.check();
    assert.equal(queue.pending(), 0);

    now = NTP_GRACE_MS;
    await monitor.check();
    assert.deepEqual(kinds(), [EVENT_KINDS.ntpUnsynchronised]);
    now += 60_000;
    await monitor.check();
    assert.equal(queue.pending(), 1, 'said once');
    assert.equal(
      currentAlerts({
        now,
        sources: [],
        enrolled: true,
        ntpUnsynchronisedSince: monitor.view.unsynchronisedSince,
      })
        .map((a) => a.kind)
        .join(),
      'clock.ntp_unsynchronised',
      'the local dashboard shows it',
    );

    answer = { synchronised: null, via: null, detail: 'neither could tell' };
    await monitor.check();
    assert.equal(queue.pending(), 1, 'unknown is no news');
    assert.equal(monitor.view.unsynchronisedSince, null);

    // A new process (restart) knows it already said so: the state file keeps the flag.
    const again = new NtpMonitor(journal, state, { probe: async () => answer, now: () => now });
    answer = { synchronised: true, via: 'chronyc', detail: 'Leap status: Normal' };
    await again.check();
    assert.deepEqual(kinds(), [EVENT_KINDS.ntpUnsynchronised, EVENT_KINDS.ntpSynchronised]);
    await again.check();
    assert.equal(queue.pending(), 2, 'back in step is said once too');
    assert.equal(
      currentAlerts({
        now,
        sources: [],
        enrolled: true,
        ntpUnsynchronisedSince: again.view.unsynchronisedSince,
      }).length,
      0,
    );
    outbox.close();
  });

  it('a clock that is unsynchronised only briefly (boot without RTC) says nothing', async () => {
    const { outbox, queue, journal, state } = setup('boot.db');
    let now = 0;
    let synchronised = false;
    const monitor = new NtpMonitor(journal, state, {
      probe: async () => ({ synchronised, via: 'timedatectl', detail: '' }),
      now: () => now,
    });
    await monitor.check();
    now = 90_000;
    synchronised = true;
    await monitor.check();
    now = NTP_GRACE_MS * 2;
    await monitor.check();
    assert.equal(queue.pending(), 0);
    outbox.close();
  });
});
