// Periodic jobs. Each run takes an advisory lock so that with N hubs every job runs once.
import { Cron } from 'croner';
import type { HubContext } from '../context.ts';
import { processDirtyRollups } from '../rollups/rollup.job.ts';
import { runExclusive } from './lock.ts';
import { applyRetention, createPartitionsAhead } from './maintenance.ts';

export interface JobDefinition {
  name: string;
  /** croner pattern with seconds. */
  schedule: string;
  run: (hub: HubContext) => Promise<unknown>;
}

export const CORE_JOBS: JobDefinition[] = [
  { name: 'rollups', schedule: '*/5 * * * * *', run: (hub) => processDirtyRollups(hub) },
  { name: 'partitions', schedule: '0 7 * * * *', run: (hub) => createPartitionsAhead(hub) },
  { name: 'retention', schedule: '0 17 3 * * *', run: (hub) => applyRetention(hub) },
];

export class Scheduler {
  private readonly crons: Cron[] = [];
  private readonly jobs: JobDefinition[] = [...CORE_JOBS];

  constructor(
    private readonly hub: HubContext,
    private readonly log: { error: (obj: object, msg: string) => void },
  ) {}

  /** Other modules (alerts, heartbeats, analytics) add their jobs before start(). */
  add(job: JobDefinition): void {
    this.jobs.push(job);
  }

  start(): void {
    for (const job of this.jobs) {
      const cron = new Cron(job.schedule, { protect: true, name: `wattfleet.${job.name}` }, async () => {
        try {
          await runExclusive(this.hub.database, `job.${job.name}`, () => job.run(this.hub));
        } catch (err) {
          this.log.error({ err, job: job.name }, 'job failed');
        }
      });
      this.crons.push(cron);
    }
  }

  stop(): void {
    for (const c of this.crons) c.stop();
    this.crons.length = 0;
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    scheduler: Scheduler;
  }
}
