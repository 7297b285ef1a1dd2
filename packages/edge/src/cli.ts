#!/usr/bin/env -S node --import tsx
// wattfleet-agent: enroll | run | status | doctor | self-test. Options are parsed with node's
// util.parseArgs; each subcommand is a small function in ops/ or runtime/.
import { parseArgs } from 'node:util';
import { enroll } from './identity/enroll.ts';
import { doctor } from './ops/doctor.ts';
import { selfTest } from './ops/self-test.ts';
import { rollback } from './ops/updater.ts';
import { Agent, readConfig } from './runtime/agent.ts';
import { httpRequest } from './uplink/http-request.ts';
import { AGENT_VERSION } from './version.ts';

const DEFAULT_CONFIG = process.env.WATTFLEET_CONFIG ?? '/etc/wattfleet/agent.yaml';

const USAGE = `wattfleet-agent ${AGENT_VERSION}
  enroll --hub URL --code CODE [--name NAME] [--config FILE] [--force]
  run [--config FILE]
  status [--config FILE]          what the running agent reports (local dashboard API)
  doctor [--config FILE]          checks config, identity, outbox, hub, broker, disk, clock
  self-test                       what SELF_UPDATE runs inside a new release before it goes live
  rollback --releases DIR         point DIR/current back at DIR/previous (systemd OnFailure)
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      config: { type: 'string', default: DEFAULT_CONFIG },
      hub: { type: 'string' },
      code: { type: 'string' },
      name: { type: 'string' },
      identity: { type: 'string' },
      force: { type: 'boolean', default: false },
      releases: { type: 'string', default: '/opt/wattfleet' },
    },
    strict: true,
  });
  switch (command) {
    case 'enroll': {
      if (!values.hub || !values.code) {
        process.stderr.write('enroll needs --hub and --code\n');
        return 2;
      }
      const cfg = readConfig(values.config!);
      const identityPath =
        values.identity ?? (cfg.ok ? cfg.config.identity.path : '/var/lib/wattfleet/identity.json');
      const id = await enroll({
        hubUrl: values.hub,
        code: values.code,
        identityPath,
        name: values.name,
        force: values.force,
        ...(cfg.ok ? { pollIntervalS: cfg.config.poll.intervalS } : {}),
      });
      process.stdout.write(
        `enrolled as node ${id.nodeId} (site ${id.siteId}); identity in ${identityPath}\n`,
      );
      return 0;
    }
    case 'run':
      return run(values.config!);
    case 'status': {
      const cfg = readConfig(values.config!);
      const port = cfg.ok ? cfg.config.dashboard.port : 8081;
      const res = await httpRequest(`http://127.0.0.1:${port}/api/status`).catch(() => undefined);
      if (!res) {
        process.stderr.write(`the agent does not answer on port ${port}\n`);
        return 1;
      }
      process.stdout.write(`${JSON.stringify(JSON.parse(await res.text()), null, 2)}\n`);
      return 0;
    }
    case 'doctor':
      return doctor(values.config!);
    case 'self-test':
      return selfTest();
    case 'rollback':
      return rollback(values.releases!);
    default:
      process.stdout.write(USAGE);
      return command ? 2 : 0;
  }
}

/** Runs until SIGTERM/SIGINT. An invalid config keeps the dashboard up and waits for a fix. */
async function run(configPath: string): Promise<number> {
  let agent = await Agent.start({ configPath });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await agent.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  while (agent.mode === 'config-error' && !stopping) {
    await agent.waitForValidConfig();
    if (stopping) break;
    await agent.stop();
    agent = await Agent.start({ configPath });
  }
  return new Promise(() => {}); // keep running; exit happens in stop()
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || !['run'].includes(process.argv[2] ?? '')) process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  },
);
