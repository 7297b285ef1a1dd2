// The dispatcher itself: replies in order, dedupe across restarts, refusals, one-at-a-time for
// commands that change the node, argument defaults, and cancel notices from the hub.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { envelope, harness } from './helpers/dispatch-harness.ts';

describe('dispatcher', () => {
  it('replies delivered → running → succeeded and ignores a redelivered id, even after a restart', async () => {
    let runs = 0;
    const h = harness({ DIAGNOSTICS: async () => ({ runs: ++runs }) });
    const env = envelope('DIAGNOSTICS');
    await h.dispatcher.handle(env);
    await h.dispatcher.handle(env);
    assert.deepEqual(h.states(), ['delivered', 'running', 'succeeded']);
    assert.deepEqual(h.replies[2]?.data, { runs: 1 });
    h.outbox.close();
    const again = harness({ DIAGNOSTICS: async () => ({ runs: ++runs }) }, h.dbPath);
    await again.dispatcher.handle(env);
    assert.equal(again.replies.length, 0, 'handled ids are persisted');
    assert.equal(runs, 1);
    again.outbox.close();
  });

  it('refuses expired commands, invalid arguments and unsupported types, and reports thrown errors', async () => {
    const h = harness({
      DIAGNOSTICS: async () => {
        throw new Error('boom');
      },
      FETCH_LOGS: async () => ({}),
    });
    await h.dispatcher.handle(envelope('DIAGNOSTICS', {}, -1));
    await h.dispatcher.handle(envelope('FETCH_LOGS', { lines: 0, extra: true }));
    await h.dispatcher.handle(envelope('RESTART'));
    await h.dispatcher.handle(envelope('DIAGNOSTICS'));
    await h.dispatcher.handle({
      id: randomUUID(),
      type: 'SHELL',
      args: { cmd: 'rm -rf /' },
      issuedAt: 0,
      expiresAt: 0,
    });
    const errors = h.replies.filter((r) => r.state === 'failed').map((r) => r.error?.code);
    assert.deepEqual(errors, ['EXPIRED', 'WF_VALIDATION', 'UNSUPPORTED', 'COMMAND_FAILED', 'WF_VALIDATION']);
    const invalid = h.replies.find((r) => r.error?.code === 'WF_VALIDATION');
    assert.match(invalid!.error!.message, /\/args\/lines/);
    assert.match(invalid!.error!.message, /\/args\/extra/, 'every problem listed');
    h.outbox.close();
  });

  it('runs commands that change the node one at a time, while reads go on', async () => {
    const order: string[] = [];
    const slow = (name: string) => async () => {
      order.push(`${name}:start`);
      await new Promise((r) => setTimeout(r, 60));
      order.push(`${name}:end`);
      return {};
    };
    const h = harness({
      CONFIG_PUSH: slow('push'),
      SELF_UPDATE: slow('update'),
      DIAGNOSTICS: async () => {
        order.push('diag');
        return {};
      },
    });
    await Promise.all([
      h.dispatcher.handle(envelope('CONFIG_PUSH', { config: 'version: 2' })),
      h.dispatcher.handle(envelope('SELF_UPDATE', { tag: 'v1.0.0' })),
      h.dispatcher.handle(envelope('DIAGNOSTICS')),
    ]);
    assert.ok(order.indexOf('push:end') < order.indexOf('update:start'), order.join(' '));
    assert.ok(order.indexOf('diag') < order.indexOf('push:end'), 'a read does not wait for a push');
    h.outbox.close();
  });

  it('does not start a command the hub cancelled, whether the notice comes first or while it waits its turn', async () => {
    const started: string[] = [];
    let releasePush!: () => void;
    const h = harness({
      CONFIG_PUSH: async () => {
        started.push('push');
        await new Promise<void>((r) => {
          releasePush = r;
        });
        return {};
      },
      RESTART: async () => {
        started.push('restart');
        return {};
      },
      DIAGNOSTICS: async () => {
        started.push('diag');
        return {};
      },
    });
    const cancel = (id: string) => ({ id, cancel: true, cancelledAt: Date.now() });
    // Notice before the envelope (the broker may hand them over in any order after a reconnect).
    const early = envelope('DIAGNOSTICS');
    await h.dispatcher.handle(cancel(early.id));
    await h.dispatcher.handle(early);
    // Cancelled while queued behind a running exclusive command.
    const push = envelope('CONFIG_PUSH', { config: 'version: 2' });
    const restart = envelope('RESTART');
    const pushDone = h.dispatcher.handle(push);
    const restartDone = h.dispatcher.handle(restart);
    await new Promise((r) => setTimeout(r, 20));
    await h.dispatcher.handle(cancel(restart.id));
    releasePush();
    await Promise.all([pushDone, restartDone]);
    assert.deepEqual(started, ['push']);
    assert.equal(h.replies.filter((r) => r.id === early.id).length, 0, 'nothing said about the early one');
    assert.deepEqual(
      h.replies.filter((r) => r.id === restart.id).map((r) => r.state),
      ['delivered'],
      'the queued one never ran',
    );
    h.outbox.close();
  });

  it('applies argument defaults (FETCH_LOGS lines = 500)', async () => {
    let seen: unknown;
    const h = harness({
      FETCH_LOGS: async (args) => {
        seen = args.lines;
        return {};
      },
    });
    await h.dispatcher.handle(envelope('FETCH_LOGS'));
    assert.equal(seen, 500);
    h.outbox.close();
  });
});
