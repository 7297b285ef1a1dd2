// wattfleet-hub start | migrate | rotate-secrets-key | backup DIR | restore DIR [--force]
import { type HubConfig, loadConfig } from './config.ts';
import { startHub } from './server.ts';
import { openDatabase } from './storage/database.ts';
import { migrate } from './storage/migrate.ts';

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** What a new user needs to know about who can reach this hub, and how to change it. */
function exposureNotes(config: HubConfig, metricsUrl: string | undefined): string[] {
  const notes: string[] = [];
  const httpLocal = LOOPBACK.has(config.host);
  const mqttLocal = !config.mqttUrl && LOOPBACK.has(config.mqttHost);
  if (httpLocal || mqttLocal) {
    const what = [httpLocal ? 'HTTP' : '', mqttLocal ? 'MQTT' : ''].filter(Boolean).join(' and ');
    notes.push(
      `Only this machine can reach ${what}. To let other machines (agents, browsers) in, set ` +
        `${[httpLocal ? 'HOST=0.0.0.0' : '', mqttLocal ? 'MQTT_HOST=0.0.0.0' : ''].filter(Boolean).join(' ')}` +
        `${config.demo ? ' — and change the demo passwords first: they are published.' : '.'}`,
    );
  }
  if (metricsUrl) notes.push(`Prometheus metrics: ${metricsUrl}`);
  else if (config.metricsToken)
    notes.push('Prometheus metrics: GET /metrics with Authorization: Bearer $METRICS_TOKEN');
  return notes;
}

async function main(argv: string[]): Promise<void> {
  const [command = 'start', ...rest] = argv;
  const config = loadConfig(process.env, rest.includes('--demo') ? { demo: true } : {});
  switch (command) {
    case 'migrate': {
      const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      const applied = await migrate(database, config.partitionsAheadDays);
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database is up to date');
      await database.close();
      return;
    }
    case 'start': {
      const hooks = (await import('./start-hooks.ts')).startHooks(config);
      const hub = await startHub(config, hooks);
      console.log(`\nWattfleet hub is running at ${hub.url}  (database: ${hub.database.engine})`);
      const broker = hub.app.controlPlane?.brokerUrl;
      if (broker) console.log(`MQTT for nodes: ${broker}${config.mqttUrl ? '' : ' (embedded broker)'}`);
      for (const line of exposureNotes(config, hub.metricsUrl)) console.log(line);
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.once(signal, () => {
          hub.stop().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        });
      }
      return;
    }
    case 'rotate-secrets-key': {
      const { rotateSecretsKeyCommand } = await import('./secrets/rotate.command.ts');
      console.log(await rotateSecretsKeyCommand(config, process.env, rest.includes('--force')));
      return;
    }
    case 'backup':
    case 'restore': {
      const { backupCommand, restoreCommand, positional } = await import('./backup/backup.command.ts');
      const dir = positional(rest);
      if (!dir) {
        console.error(`usage: wattfleet-hub ${command} DIR${command === 'restore' ? ' [--force]' : ''}`);
        process.exit(2);
      }
      console.log(
        command === 'backup'
          ? await backupCommand(config, dir)
          : await restoreCommand(config, dir, rest.includes('--force')),
      );
      return;
    }
    default:
      console.error(
        `unknown command "${command}"; use: start [--demo] | migrate | rotate-secrets-key [--force] | backup DIR | restore DIR [--force]`,
      );
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  // A wrong or missing secrets key is an operator's mistake, not a crash: say it plainly.
  console.error(
    err instanceof Error && (err.name === 'SecretsKeyError' || err.name === 'BackupError')
      ? `wattfleet-hub: ${err.message}`
      : err,
  );
  process.exit(1);
});
