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
  /** Job name → when its current run began on this hub (for /readyz: a run that never ends). */
  readonly runningSince = new Map<string, number>();

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
        const metrics = this.hub.metrics;
        const end = metrics.jobSeconds.startTimer({ job: job.name });
        this.runningSince.set(job.name, Date.now());
        try {
          const r = await runExclusive(this.hub.database, `job.${job.name}`, () => job.run(this.hub));
          metrics.jobRuns.inc({ job: job.name, result: r.ran ? 'ok' : 'skipped' });
          if (r.ran) metrics.jobLastSuccess.set({ job: job.name }, Date.now() / 1000);
        } catch (err) {
          metrics.jobRuns.inc({ job: job.name, result: 'failed' });
          this.log.error({ err, job: job.name }, 'job failed');
        } finally {
          this.runningSince.delete(job.name);
          end();
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
