export { buildHub } from './app.ts';
export { type HubConfig, loadConfig } from './config.ts';
export { startHub } from './server.ts';
export { openDatabase } from './storage/database.ts';
export { migrate } from './storage/migrate.ts';
