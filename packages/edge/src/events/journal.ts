// Health and state changes the hub's alert rules read (equipment.unreachable, update.failed, …;
// the kinds are listed in @wattfleet/protocol EVENT_KINDS). An event is committed to the state
// file's report queue when it happens, with the agent's wall-clock time, and leaves with the
// events uplink whenever the hub is reachable: offline periods and crashes lose none.
import { checker, type EventSeverity, NodeEvent } from '@wattfleet/protocol';
import type { Logger } from 'pino';
import type { ReportQueue } from '../outbox/reports.ts';
import type { Clock } from '../time/clock.ts';

const checkEvent = checker(NodeEvent);

export interface EmitOptions {
  equipment?: string;
  data?: Record<string, unknown>;
  /** When it happened, if not now (e.g. a restart noticed at start-up). */
  ts?: number;
}

export class EventJournal {
  /** Called after each commit, e.g. to wake the events uplink. */
  onEmit: (() => void) | undefined;

  constructor(
    private readonly queue: ReportQueue,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {}

  emit(kind: string, severity: EventSeverity, message: string, opts: EmitOptions = {}): NodeEvent {
    const event: NodeEvent = {
      ts: opts.ts ?? this.clock.now(),
      kind,
      severity,
      message: message.slice(0, 2000),
      ...(opts.equipment ? { equipment: opts.equipment } : {}),
      ...(opts.data ? { data: opts.data } : {}),
    };
    // Our own bug, not the hub's: a malformed event would poison its whole batch there.
    if (!checkEvent.check(event)) {
      this.logger?.warn({ kind, problems: checkEvent.problems(event) }, 'event not recorded: invalid');
      return event;
    }
    this.queue.append([event]);
    this.logger?.info(
      { kind, severity, equipment: opts.equipment, data: opts.data },
      `event ${kind}: ${message}`,
    );
    this.onEmit?.();
    return event;
  }
}
