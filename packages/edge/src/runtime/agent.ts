// The agent runtime: wires config, outbox, sources, uplink, control channel and dashboard, and
// owns their lifecycle (start, reload for CONFIG_PUSH, stop). Each part lives in its own folder;
// this file only decides who talks to whom.
import { type AgentConfig, insecureHubUrl } from '@wattfleet/devices/config';
import { type AutomationBundle, EVENT_KINDS, type Problem } from '@wattfleet/protocol';
import type { Logger } from 'pino';
import pino from 'pino';
import { BundleStore, bundlePath, bundleProblems } from '../automation/bundle.ts';
import { EdgeAutomation } from '../automation/runner.ts';
import { builtinRules, type ConfigResult, loadConfigFile, parseConfigText } from '../config/load.ts';
import { ControlChannel } from '../control/channel.ts';
import { CommandLog } from '../control/command-log.ts';
import { Dispatcher } from '../control/dispatcher.ts';
import { restartResumer } from '../control/handlers/restart.ts';
import { selfUpdateResumer } from '../control/handlers/self-update.ts';
import { fallbackDashboard } from '../dashboard/fallback.ts';
import { buildDashboard, type Dashboard } from '../dashboard/server.ts';
import { ErrorBurst } from '../events/error-burst.ts';
import { currentBootId } from '../events/restart.ts';
import { loadIdentity, type NodeIdentity, signingKey } from '../identity/identity.ts';
import { createMetrics } from '../ops/metrics.ts';
import { type Supervisor, SystemdSupervisor } from '../ops/supervisor.ts';
import { TunnelManager } from '../ops/tunnel.ts';
import { Updater } from '../ops/updater.ts';
import { Watchdog } from '../ops/watchdog.ts';
import { LocalHistory } from '../outbox/history.ts';
import { Outbox } from '../outbox/outbox.ts';
import { hasRelay, type Source } from '../sources/types.ts';
import { type Clock, clockFromEnv } from '../time/clock.ts';
import type { NtpState } from '../time/ntp.ts';
import { HttpTransport, INGEST_PATHS } from '../uplink/http-transport.ts';
import { MqttTransport } from '../uplink/mqtt-transport.ts';
import type { HubClient } from '../uplink/signed-http.ts';
import type { TelemetryTransport } from '../uplink/transport.ts';
import { Uplink } from '../uplink/uplink.ts';
import { AGENT_VERSION } from '../version.ts';
import { channelInventory } from './channels.ts';
import { EquipmentRegistry } from './equipment.ts';
import { commandHandlers } from './handlers.ts';
import { LiveState } from './live-state.ts';
import { createLogger } from './logger.ts';
import { Poller } from './poller.ts';
import { AgentReports } from './reports.ts';
import { buildSources, closeSources, sourceRules } from './sources.ts';
import { agentStatus, heartbeatStatus } from './status.ts';

export interface AgentOptions {
  configPath: string;
  supervisor?: Supervisor;
  logger?: Logger;
  /** Environment for child processes (ssh); tests put a stand-in first on PATH. */
  childEnv?: NodeJS.ProcessEnv;
  /** Build argv run inside a new release (SELF_UPDATE) before its self-test. */
  build?: readonly string[];
  /** Self-test argv run inside a new release before it goes live. */
  selfTest?: readonly string[];
  heartbeatMs?: number;
  /** The wall clock (default: the system's, shifted by WATTFLEET_CLOCK_OFFSET_MS if set). */
  clock?: Clock;
  /** This boot's id (default /proc/sys/kernel/random/boot_id): tells an OS reboot from a restart. */
  bootId?: string;
  /** Asks the OS whether NTP keeps its clock (default: timedatectl, then chronyc; see time/ntp.ts). */
  ntpProbe?: () => Promise<NtpState>;
  /** How often edge automation looks for due schedules (default 5 s). */
  automationTickMs?: number;
}

/** Run in a new release by SELF_UPDATE: builds the bundle systemd runs (see deploy/agent). */
export const DEFAULT_BUILD = [process.execPath, 'packages/edge/scripts/build.mjs'];
/** Then the built bundle checks itself before it goes live. */
export const DEFAULT_SELF_TEST = [process.execPath, 'packages/edge/dist/agent.mjs', 'self-test'];
export const configRules = [...builtinRules, sourceRules];

export function readConfig(path: string): ConfigResult {
  return loadConfigFile(path, configRules);
}

export class Agent {
  mode: 'running' | 'config-error' = 'running';
  config!: AgentConfig;
  problems: Problem[] = [];
  logger: Logger;
  identity: NodeIdentity | undefined;
  outbox: Outbox | undefined;
  history: LocalHistory | undefined;
  sources = new Map<string, Source>();
  sourceFailures: { key: string; error: string }[] = [];
  readonly live = new LiveState();
  poller: Poller | undefined;
  uplink: Uplink | undefined;
  control: ControlChannel | undefined;
  dispatcher: Dispatcher | undefined;
  tunnels: TunnelManager | undefined;
  updater: Updater | undefined;
  dashboard: Dashboard | undefined;
  dashboardUrl = '';
  readonly clock: Clock;
  reports: AgentReports | undefined;
  /** Edge execution of this node's automation bundle (issue 13.7). */
  automation: EdgeAutomation | undefined;
  bundles: BundleStore | undefined;
  private timers: NodeJS.Timeout[] = [];
  private watchdog: Watchdog | undefined;
  readonly startedAt = Date.now();
  /** When the running config was applied (start or CONFIG_PUSH): health counts from here. */
  appliedAt = Date.now();
  private readonly supervisor: Supervisor;

  private constructor(private readonly opts: AgentOptions) {
    this.logger = opts.logger ?? pino({ level: 'info' });
    this.supervisor = opts.supervisor ?? new SystemdSupervisor();
    this.clock = opts.clock ?? clockFromEnv();
  }

  /** The service manager, told first that this restart is on purpose (see events/restart.ts). */
  private requestedRestart(kind: 'command' | 'update'): Supervisor {
    const { supervisor } = this;
    return {
      name: supervisor.name,
      restart: async (reason) => {
        this.reports?.restarts.requested(kind, reason);
        await supervisor.restart(reason);
      },
    };
  }

  /** Starts the agent, or only the dashboard with the errors when the config is invalid. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    const result = readConfig(opts.configPath);
    if (!result.ok) {
      await agent.startConfigErrorMode(result.problems);
      return agent;
    }
    await agent.startRunning(result.config, result.migrations);
    return agent;
  }

  private async startConfigErrorMode(problems: Problem[]): Promise<void> {
    this.mode = 'config-error';
    this.problems = problems;
    this.logger.error({ problems }, 'configuration invalid; serving the errors on the local dashboard');
    const { registry } = createMetrics({ configValid: () => false });
    this.dashboard = buildDashboard({
      status: () => ({ mode: this.mode, agentVersion: AGENT_VERSION }),
      configProblems: () => this.problems,
      configPath: this.opts.configPath,
      registry,
    });
    this.dashboardUrl = await this.dashboard.listen(fallbackDashboard(this.opts.configPath));
    // Type=notify: without READY=1 systemd would kill this page and crash-loop after all.
    this.watchdog = new Watchdog(() => true, this.logger);
    await this.watchdog.start();
  }

  /** In config-error mode: resolves once the file on disk has become valid (checked every few s). */
  waitForValidConfig(intervalMs = 3000): Promise<void> {
    return new Promise((resolvePromise) => {
      const t = setInterval(() => {
        const r = readConfig(this.opts.configPath);
        if (r.ok) {
          clearInterval(t);
          resolvePromise();
        } else this.problems = r.problems;
      }, intervalMs);
      this.timers.push(t);
    });
  }

  private async startRunning(config: AgentConfig, migrations: string[]): Promise<void> {
    this.config = config;
    const burst = new ErrorBurst(config.health.errorBurstLines, config.health.errorBurstWindowS);
    if (!this.opts.logger)
      this.logger = createLogger({
        level: config.logging.level,
        file: config.logging.file,
        onError: (message) => burst.record(message),
      });
    if (migrations.length) this.logger.warn({ migrations }, 'config migrated in memory; update the file');
    const outbox = Outbox.open(config.outbox.path, {
      maxBytes: config.outbox.maxBytes,
      onAppend: (readings) => {
        this.history?.record(readings);
        this.reports?.record(readings);
      },
      // A full file gives up local raw history older than the dashboard's day before any reading
      // the hub has not got yet.
      reclaim: (bytes) => this.history?.reclaim(bytes, Date.now() - 86_400_000) ?? false,
    });
    this.outbox = outbox;
    this.history = new LocalHistory(outbox.db, config.site.timezone);
    this.reports = new AgentReports({
      db: outbox.db,
      config,
      clock: this.clock,
      logger: this.logger,
      bootId: this.opts.bootId ?? currentBootId(),
      startedAt: this.startedAt,
      burst,
      ...(this.opts.ntpProbe ? { ntpProbe: this.opts.ntpProbe } : {}),
    });
    this.identity = loadIdentity(config.identity.path);
    if (!this.identity)
      this.logger.warn('not enrolled: readings are kept locally until `wattfleet-agent enroll`');

    const metrics = createMetrics({
      outbox: () => outbox.stats(),
      uplink: () => this.uplink?.status,
      breaker: () => this.uplink?.breakerState,
      sources: () => [...(this.poller?.health.values() ?? [])],
      controlConnected: () => this.control?.connected ?? false,
      configValid: () => true,
      clockOffsetMs: () => this.reports?.clock.view.offsetMs,
      reportsPending: () => this.reports?.pending(),
    });
    await this.startSourcesAndPoller(config);
    this.reports.begin(config.sources.map((s) => s.key));
    this.startAutomation(config);
    this.announceChannels();
    this.equipment.reset();
    this.poller!.onReadings = (r) => {
      metrics.readings.inc(r.length);
      this.equipment.onReadings(r);
      this.uplink?.nudge();
    };
    this.buildDispatcher();
    await this.connectControl(config);
    this.startUplink(config);

    this.dashboard = buildDashboard({
      status: () => this.status(),
      live: this.live,
      history: this.history,
      registry: metrics.registry,
      configProblems: () => [],
      configPath: this.opts.configPath,
      localToken: config.dashboard.token,
      actions: {
        // An installer on site wants the buffered readings sent now, not at the next batch.
        '/api/uplink/flush': () => {
          this.uplink?.nudge();
          return { pending: outbox.stats() };
        },
      },
    });
    this.dashboardUrl = await this.dashboard.listen({
      port: config.dashboard.port,
      host: config.dashboard.host,
    });
    this.logger.info({ url: this.dashboardUrl, version: AGENT_VERSION }, 'agent running');

    const retention = () => {
      const c = this.config;
      this.history?.prune(Date.now(), c.outbox.retention.rawDays, c.outbox.retention.dailyDays);
      new CommandLog(outbox.db).prune(Date.now() - 30 * 86_400_000);
      outbox.prunePoison(Date.now() - 30 * 86_400_000);
    };
    retention();
    this.timers.push(setInterval(retention, 3_600_000));
    this.watchdog = new Watchdog(() => {
      const alive = Date.now() - (this.poller?.lastCycleAt ?? 0) < 5 * 60_000;
      // Kept on record: if systemd now kills us, the next start knows it was the watchdog.
      this.reports?.restarts.watchdogWithheld(!alive);
      return alive;
    }, this.logger);
    await this.watchdog.start();
    // Commands cut short by the previous process (RESTART, SELF_UPDATE do that on purpose).
    await this.dispatcher?.resumeInterrupted({
      RESTART: restartResumer(this.startedAt),
      SELF_UPDATE: selfUpdateResumer(this.updater, () => this.reports?.journal),
    });
  }

  /** Runs the stored bundle (if any) from now on, hub or no hub. */
  private startAutomation(config: AgentConfig): void {
    this.bundles = new BundleStore(bundlePath(config.outbox.path));
    this.automation = new EdgeAutomation({
      clock: this.clock,
      state: () => this.reports?.state,
      sources: () => this.sources,
      journal: () => this.reports?.journal,
      logger: this.logger,
      ...(this.opts.automationTickMs ? { tickMs: this.opts.automationTickMs } : {}),
    });
    const stored = this.bundles.load();
    if (stored)
      this.logger.info(
        { version: stored.version, schedules: stored.schedules.length },
        'automation bundle loaded',
      );
    this.automation.load(stored);
    this.automation.start();
  }

  /** Healthy = every channel the bundle switches answers a read within the time allowed. */
  private async automationHealth(
    bundle: AutomationBundle,
    timeoutMs: number,
  ): Promise<{ ok: boolean; detail: string }> {
    const targets = new Map(
      bundle.schedules.map((s) => [`${s.target.equipment}/${s.target.channel}`, s.target]),
    );
    const failures: string[] = [];
    for (const [name, t] of targets) {
      const source = this.sources.get(t.equipment);
      const read =
        source && hasRelay(source)
          ? source.getRelay(t.channel || undefined)
          : Promise.reject(new Error('no relay'));
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref(),
      );
      await Promise.race([read, timeout]).catch((err: Error) => failures.push(`${name}: ${err.message}`));
    }
    return failures.length
      ? { ok: false, detail: failures.join('; ') }
      : { ok: true, detail: `${bundle.schedules.length} schedule(s) on ${targets.size} channel(s) loaded` };
  }

  /** Registers the configured equipment with the hub (`equipment.inventory` events via the outbox). */
  private readonly equipment = new EquipmentRegistry(
    () => this.sources,
    (inventory) =>
      this.reports?.journal.emit(
        EVENT_KINDS.equipmentInventory,
        'info',
        `${inventory.equipment.length} equipment`,
        { data: inventory },
      ),
  );

  /** Channels announced last time: a node whose relays all went away says so once, then stays quiet. */
  private announcedChannels = 0;

  /** Registers the switchable channels with the hub (a `channels.inventory` event via the outbox). */
  private announceChannels(): void {
    const sources = this.sources;
    channelInventory(sources, this.config.automation.edgeExecution)
      .then((inventory) => {
        if (inventory.channels.length === 0 && this.announcedChannels === 0) return;
        this.announcedChannels = inventory.channels.length;
        this.reports?.journal.emit(
          EVENT_KINDS.channelInventory,
          'info',
          `${inventory.channels.length} switchable channel(s)`,
          { data: inventory },
        );
      })
      .catch((err: Error) => this.logger.warn({ err: err.message }, 'channel inventory not sent'));
  }

  private async startSourcesAndPoller(config: AgentConfig): Promise<void> {
    const built = await buildSources(config, this.logger);
    this.sources = built.sources;
    this.sourceFailures = built.failures;
    const onReadings = this.poller?.onReadings;
    this.poller = new Poller(() => this.sources, this.outbox!, this.live, {
      intervalMs: config.poll.intervalS * 1000,
      logger: this.logger,
      clock: this.clock,
    });
    this.poller.onReadings = onReadings;
    this.poller.onSourceResult = (key, error) => {
      this.equipment.onSourceResult(key, error);
      if (error === null) this.reports?.reachability.ok(key);
      else this.reports?.reachability.failed(key, error);
    };
    this.poller.start();
  }

  private hubClient(): HubClient {
    if (!this.identity) throw new Error('not enrolled');
    return {
      hubUrl: this.config.hub.url,
      nodeId: this.identity.nodeId,
      key: signingKey(this.identity),
      clock: this.clock,
      onHubTime: (offsetMs, hubTime) => this.reports?.clock.observe(offsetMs, hubTime),
    };
  }

  /** Command handlers read the agent's current parts through getters, so a reload needs no rewiring. */
  private buildDispatcher(): void {
    this.tunnels = new TunnelManager(this.config.tunnel, { env: this.opts.childEnv });
    this.updater = this.buildUpdater(this.config);
    if (!this.identity) return;
    const handlers = commandHandlers({
      config: () => this.config,
      configPath: this.opts.configPath,
      parse: (text) => parseConfigText(text, configRules),
      supervisor: this.requestedRestart('command'),
      tunnels: this.tunnels,
      updater: () => this.updater,
      sources: () => this.sources,
      outbox: () => this.outbox!,
      hub: () => this.hubClient(),
      reload: (c) => this.reload(c),
      healthCheck: (timeoutMs) => this.healthCheck(timeoutMs),
      journal: () => this.reports?.journal,
      relaySwitched: (equipment, channel, state) =>
        this.automation?.noteManualSwitch(equipment, channel, state),
      automation: {
        store: () => this.bundles!,
        nodeId: () => this.identity!.nodeId,
        current: () => this.automation?.bundle,
        problems: (bundle) => bundleProblems(bundle, this.identity!.nodeId, this.sources, '/args/bundle'),
        load: (bundle) => this.automation?.load(bundle),
        healthCheck: (bundle, timeoutMs) => this.automationHealth(bundle, timeoutMs),
        applied: (bundle, detail) =>
          this.reports?.journal.emit(
            EVENT_KINDS.automationApplied,
            'info',
            `automation bundle v${bundle.version} running: ${detail}`,
            { data: { version: bundle.version, health: detail.slice(0, 1000) } },
          ),
        rolledBack: (bundle, detail) =>
          this.reports?.journal.emit(
            EVENT_KINDS.automationRolledBack,
            'error',
            `automation bundle v${bundle.version} rolled back: ${detail}`,
            { data: { version: bundle.version, reason: detail.slice(0, 1000) } },
          ),
      },
    });
    // Replies go through whichever control channel is current when they are sent.
    this.dispatcher = new Dispatcher(
      new CommandLog(this.outbox!.db),
      handlers,
      (r) => this.control?.reply(r),
      {
        logger: this.logger,
      },
    );
  }

  private buildUpdater(config: AgentConfig): Updater | undefined {
    if (!config.update) return undefined;
    return new Updater({
      releasesDir: config.update.releasesDir,
      repo: config.update.repo,
      supervisor: this.requestedRestart('update'),
      build: this.opts.build ?? DEFAULT_BUILD,
      selfTest: this.opts.selfTest ?? DEFAULT_SELF_TEST,
      healthCheck: () => this.healthCheck(60_000),
      logger: this.logger,
    });
  }

  /**
   * An explicit hub.mqttUrl in the local config wins: the installer knows the network this node
   * sits in (a VPN, a LAN name) better than the hub does. Otherwise the address the hub handed out
   * at enrollment.
   */
  private mqttUrl(config: AgentConfig): string | undefined {
    return config.hub.mqttUrl ?? this.identity?.mqtt.url;
  }

  private async connectControl(config: AgentConfig): Promise<void> {
    const id = this.identity;
    const url = this.mqttUrl(config);
    if (!id || !this.dispatcher) return;
    if (!url) {
      this.logger.warn('no MQTT URL (hub.mqttUrl or from enrollment): no control channel, no commands');
      return;
    }
    // The config's own URLs were checked when it was parsed; the one the hub handed out at
    // enrollment is checked here, by the same rule.
    const insecure = insecureHubUrl(url, config.hub.allowInsecure);
    if (insecure) {
      this.logger.error(`MQTT URL ${url} refused: ${insecure}. No control channel, no commands.`);
      return;
    }
    const control = new ControlChannel({
      url,
      nodeId: id.nodeId,
      username: id.mqtt.username,
      password: id.mqtt.password,
      heartbeatMs: this.opts.heartbeatMs ?? 60_000,
      liveIntervalMs: config.uplink.liveIntervalS * 1000,
      live: () => this.live.snapshot(),
      status: () => this.heartbeat(),
      logger: this.logger,
      now: () => this.clock.now(),
    });
    this.control = control;
    await control.start(this.dispatcher, 5000);
  }

  private startUplink(config: AgentConfig): void {
    if (!this.identity) return;
    const { client } = this.control ?? {};
    const nodeId = this.identity.nodeId;
    const viaMqtt = config.hub.transport === 'mqtt' && client !== undefined;
    const transport: TelemetryTransport = viaMqtt
      ? new MqttTransport(client, nodeId)
      : new HttpTransport(this.hubClient());
    // Events and daily reports travel the same way as telemetry.
    this.reports?.startUplinks(
      (channel) =>
        viaMqtt
          ? new MqttTransport(client, nodeId, 15_000, channel)
          : new HttpTransport(this.hubClient(), INGEST_PATHS[channel]),
      config,
    );
    this.uplink = new Uplink(this.outbox!, transport, {
      batchMaxSamples: config.uplink.batchMaxSamples,
      batchMaxAgeMs: config.uplink.batchMaxAgeMs,
      logger: this.logger,
    });
    this.uplink.start();
  }

  private heartbeat() {
    return heartbeatStatus(this);
  }

  /**
   * CONFIG_PUSH apply: rebuild what depends on the config. The control channel is kept unless its
   * URL changed (the reply to this very command travels on it); port and outbox path need a restart.
   */
  async reload(config: AgentConfig): Promise<void> {
    this.logger.info('applying new configuration');
    const previous = this.config;
    this.poller?.stop();
    await closeSources(this.sources);
    await this.uplink?.stop();
    await this.reports?.stopUplinks();
    this.config = config;
    this.appliedAt = Date.now();
    if (this.tunnels && !this.tunnels.current) this.tunnels.cfg = config.tunnel;
    this.updater = this.buildUpdater(config);
    await this.startSourcesAndPoller(config);
    this.reports?.reload(
      config,
      config.sources.map((s) => s.key),
    );
    this.announceChannels();
    this.equipment.reset();
    if (this.mqttUrl(previous) !== this.mqttUrl(config)) {
      await this.control?.stop();
      this.control = undefined;
      await this.connectControl(config);
    }
    this.startUplink(config);
  }

  /** Healthy = every configured source built and answered since the last (re)start. */
  async healthCheck(timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const pending = this.config.sources
        .map((s) => s.key)
        .filter((key) => {
          const h = this.poller?.health.get(key);
          return !h || h.lastOkAt === null || h.lastOkAt < this.appliedAt;
        });
      if (pending.length === 0 && this.sourceFailures.length === 0) {
        return { ok: true, detail: `${this.config.sources.length} source(s) reading` };
      }
      if (Date.now() >= end) {
        const why = [
          ...this.sourceFailures.map((f) => `${f.key}: ${f.error}`),
          ...pending.map((k) => `${k}: ${this.poller?.health.get(k)?.lastError ?? 'no reading yet'}`),
        ];
        return { ok: false, detail: why.join('; ') };
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  status(): Record<string, unknown> {
    return agentStatus(this);
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.watchdog?.stop();
    this.poller?.stop();
    await this.automation?.stop();
    this.reports?.stop();
    await this.uplink?.stop();
    await this.reports?.stopUplinks();
    await this.dispatcher?.idle().catch(() => {});
    await this.control?.stop();
    await this.tunnels?.close();
    await closeSources(this.sources);
    await this.dashboard?.close();
    // Last: everything before this finished, so the next start can call this a clean stop.
    if (this.outbox?.db.open) this.reports?.restarts.clean();
    this.outbox?.close();
  }
}
