// One envelope in, a sequence of replies out: delivered → running → succeeded | failed. Handlers
// sit in a lookup table and simply throw; the dispatcher owns validation, dedupe, expiry and the
// replies, so no handler can forget one of them.
import {
  CommandArgs,
  type CommandArgsOf,
  CommandCancel,
  CommandEnvelope,
  type CommandResponse,
  type CommandType,
  checker,
  type NODE_REPORTED_STATES,
} from '@wattfleet/protocol';
import type { Logger } from 'pino';
import Value from 'typebox/value';
import type { CommandLog } from './command-log.ts';
import { CommandError } from './errors.ts';

export type ReportedState = (typeof NODE_REPORTED_STATES)[number];
export type Envelope = CommandEnvelope;
export type Response = CommandResponse;

/** Returned by a handler whose outcome is reported later, after the agent restarts. */
export const DEFERRED = Symbol('deferred');

export interface HandlerContext {
  id: string;
  envelope: Envelope;
}

export type Handler<T extends CommandType> = (
  args: CommandArgsOf<T>,
  ctx: HandlerContext,
) => Promise<Record<string, unknown> | typeof DEFERRED | undefined>;

export type HandlerTable = { [T in CommandType]?: Handler<T> };

/** Finishes a command that was running when the process stopped; undefined = not resumable. */
export type Resumer = (id: string) => Promise<Record<string, unknown> | undefined>;

export type Reply = (response: Response) => void | Promise<void>;

const checkEnvelope = checker(CommandEnvelope);
const checkCancel = checker(CommandCancel);
const argCheckers = Object.fromEntries(Object.entries(CommandArgs).map(([t, s]) => [t, checker(s)])) as {
  [T in CommandType]: ReturnType<typeof checker<(typeof CommandArgs)[T]>>;
};

/** Commands that change the node itself run one at a time; reads (DIAGNOSTICS, logs) never wait. */
export const EXCLUSIVE_COMMANDS: ReadonlySet<CommandType> = new Set([
  'CONFIG_PUSH',
  'SELF_UPDATE',
  'RESTART',
  'AUTOMATION_PUSH',
]);

export class Dispatcher {
  private readonly inflight = new Set<Promise<void>>();
  /** Ids the hub cancelled: not started if they arrive later or are still waiting their turn. */
  private readonly cancelled = new Set<string>();
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly log: CommandLog,
    private readonly handlers: HandlerTable,
    private readonly reply: Reply,
    private readonly opts: { logger?: Logger; now?: () => number } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  private async send(id: string, state: ReportedState, extra: Partial<Response> = {}) {
    this.log.set(id, state, this.now());
    await this.reply({ ...extra, id, state, ts: this.now() });
  }

  /** Entry point for every message on nodes/{id}/commands. Never throws. */
  handle(raw: unknown): Promise<void> {
    const p = this.process(raw).catch((err) => this.opts.logger?.error({ err }, 'command dispatch failed'));
    this.inflight.add(p);
    p.finally(() => this.inflight.delete(p));
    return p;
  }

  /** Waits for commands in progress (used on shutdown and in tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.inflight]);
  }

  private async process(raw: unknown): Promise<void> {
    if (checkCancel.check(raw)) {
      this.cancelled.add(raw.id);
      // Never seen: remember it as done, so the envelope arriving after the notice is ignored.
      if (this.log.claim(raw.id, 'CANCELLED', this.now())) this.log.set(raw.id, 'failed', this.now());
      this.opts.logger?.info({ id: raw.id }, 'command cancelled by the hub');
      return;
    }
    if (!checkEnvelope.check(raw)) {
      const id = (raw as { id?: unknown })?.id;
      const problems = checkEnvelope.problems(raw);
      this.opts.logger?.warn({ problems }, 'invalid command envelope');
      // Answer only when there is a usable id; otherwise there is nobody to answer.
      if (
        typeof id === 'string' &&
        /^[0-9a-f-]{36}$/i.test(id) &&
        this.log.claim(id, 'INVALID', this.now())
      ) {
        await this.send(id, 'failed', { error: { code: 'WF_VALIDATION', message: summarize(problems) } });
      }
      return;
    }
    const env: Envelope = raw;
    if (!this.log.claim(env.id, env.type, this.now())) {
      this.opts.logger?.info({ id: env.id }, 'command already handled; ignored');
      return;
    }
    if (env.expiresAt <= this.now()) {
      await this.send(env.id, 'failed', {
        error: { code: 'EXPIRED', message: 'the command expired before it arrived' },
      });
      return;
    }
    const handler = this.handlers[env.type] as Handler<CommandType> | undefined;
    if (!handler) {
      await this.send(env.id, 'failed', {
        error: { code: 'UNSUPPORTED', message: `${env.type} is not available on this node` },
      });
      return;
    }
    const check = argCheckers[env.type];
    const args = Value.Default(check.schema, structuredClone(env.args));
    if (!check.check(args)) {
      await this.send(env.id, 'failed', {
        error: { code: 'WF_VALIDATION', message: summarize(check.problems(args, '/args')) },
      });
      return;
    }
    await this.send(env.id, 'delivered');
    if (EXCLUSIVE_COMMANDS.has(env.type)) {
      const previous = this.exclusive;
      let release!: () => void;
      this.exclusive = new Promise<void>((r) => {
        release = r;
      });
      await previous;
      try {
        if (this.cancelled.has(env.id)) {
          this.opts.logger?.info({ id: env.id }, 'cancelled while waiting its turn; not started');
          this.log.set(env.id, 'failed', this.now());
          return;
        }
        await this.run(env, handler, args);
      } finally {
        release();
      }
    } else await this.run(env, handler, args);
  }

  private async run(env: Envelope, handler: Handler<CommandType>, args: unknown): Promise<void> {
    await this.send(env.id, 'running');
    try {
      const data = await handler(args as CommandArgsOf<CommandType>, { id: env.id, envelope: env });
      if (data === DEFERRED) return; // reported by a Resumer after the restart
      await this.send(env.id, 'succeeded', data ? { data } : {});
    } catch (err) {
      const e = err as Error;
      const code = err instanceof CommandError ? err.code : 'COMMAND_FAILED';
      const data = err instanceof CommandError ? err.data : undefined;
      this.opts.logger?.warn({ id: env.id, type: env.type, code, err: e.message }, 'command failed');
      await this.send(env.id, 'failed', {
        error: { code, message: e.message.slice(0, 2000) },
        ...(data ? { data } : {}),
      });
    }
  }

  /**
   * At start: commands left unfinished by the previous process. Some are expected to be (a
   * RESTART kills its own process); their resumer reports the outcome. Others failed mid-way.
   */
  async resumeInterrupted(resumers: Partial<Record<CommandType, Resumer>>): Promise<void> {
    for (const cmd of this.log.unfinished()) {
      const resume = resumers[cmd.type as CommandType];
      try {
        const data = resume ? await resume(cmd.id) : undefined;
        if (data) await this.send(cmd.id, 'succeeded', { data });
        else
          await this.send(cmd.id, 'failed', {
            error: { code: 'INTERRUPTED', message: 'the agent stopped while the command was running' },
          });
      } catch (err) {
        const code = err instanceof CommandError ? err.code : 'COMMAND_FAILED';
        const data = err instanceof CommandError ? err.data : undefined;
        await this.send(cmd.id, 'failed', {
          error: { code, message: (err as Error).message.slice(0, 2000) },
          ...(data ? { data } : {}),
        });
      }
    }
  }
}

function summarize(problems: { path: string; message: string }[]): string {
  return problems
    .map((p) => `${p.path || '/'}: ${p.message}`)
    .join('; ')
    .slice(0, 2000);
}
