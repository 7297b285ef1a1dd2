// wattfleet-hub start | migrate
import { loadConfig } from './config.ts';
import { startHub } from './server.ts';
import { openDatabase } from './storage/database.ts';
import { migrate } from './storage/migrate.ts';

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
    default:
      console.error(`unknown command "${command}"; use: start [--demo] | migrate`);
      process.exit(2);
  }
}

main(process.argv.slice(2)).catch((err) => {
  console.error(err);
  process.exit(1);
});
