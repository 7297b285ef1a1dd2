// Wires rules into a hub: the live runner fed from the bus (stored telemetry batches, node status
// changes, alert changes, a ticker for time-of-day triggers) and the routes.
import type { FastifyInstance } from 'fastify';
import type { HubContext } from '../../context.ts';
import type { AutomationService } from '../automation.service.ts';
import { SceneService } from '../scenes/scenes.service.ts';
import { alertRuleOf } from './rules.repository.ts';
import { ruleRoutes } from './rules.routes.ts';
import { RuleRunner } from './rules.runner.ts';
import { RuleService } from './rules.service.ts';

/** How often time-of-day triggers are looked at. */
const TICK_MS = 20_000;

const isRemote = (e: object) => (e as { remote?: boolean }).remote === true;

/** The live rule runner of each hub (tests wait on it with idle()). */
const runners = new WeakMap<HubContext, RuleRunner>();
export const ruleRunnerOf = (hub: HubContext): RuleRunner | undefined => runners.get(hub);

export const rulesPlugin =
  (automation: AutomationService) =>
  async (app: FastifyInstance): Promise<void> => {
    const hub = app.hub;
    // Scene activation from a rule action: the same service the scene routes use (its outcomes
    // are tracked by the scenes plugin's listeners, through the database).
    const scenes = new SceneService(hub, automation);
    const runner = new RuleRunner(hub, automation, scenes, () => app.controlPlane.commands);
    const service = new RuleService(hub, automation, runner);
    runners.set(hub, runner);
    const log = (what: string) => (err: unknown) => app.log.error({ err }, what);
    const offs = [
      hub.bus.onEvent('telemetry.ingested', (e) => {
        runner.onTelemetry(e).catch(log('rule evaluation failed'));
      }),
      hub.bus.onEvent('node.status', (e) => {
        if (isRemote(e) || (e.status !== 'offline' && e.status !== 'online')) return;
        runner.onNodeStatus(e).catch(log('rule evaluation failed'));
      }),
      hub.bus.onEvent('alert.updated', (e) => {
        if (isRemote(e)) return;
        alertRuleOf(hub.db, e.alertId)
          .then((rule) => runner.onAlert(e, rule))
          .catch(log('rule evaluation failed'));
      }),
    ];
    const timer = setInterval(() => {
      runner.tick().catch(log('time rules failed'));
    }, TICK_MS);
    timer.unref();
    app.addHook('onClose', async () => {
      clearInterval(timer);
      for (const off of offs) off();
      await runner.idle();
    });
    await app.register(ruleRoutes(service));
  };
